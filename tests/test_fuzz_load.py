"""Fuzzing the loader and cleaner (hypothesis): random bytes under every page suffix, every encoding label on
Chinese bytes, compression bombs renamed .html, NUL bytes, 10,000-deep nesting, huge attributes, pipes and
devices. Only LoadError/CleanError (one line, a reason) ever escape, files are never changed, and memory stays
bounded by the per-file size limit. tests/test_load.py holds the hand-picked cases; fuzz/ runs the same
targets for hours with atheris."""

from __future__ import annotations

import bz2
import dataclasses
import encodings.aliases
import functools
import gzip
import io
import lzma
import os
import shutil
import tempfile
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.backends import open_store
from indexer.build import index_corpus
from indexer.clean import CleanError, clean_page
from indexer.load import LoadError, decode_bytes, load_page
from indexer.model import CleanedPage

from helpers import make_config

ARTICLE = ("今年以来，工会紧紧围绕中心工作，认真履行维护职能，扎实开展职工之家建设，取得了新的进展。"
           "全年慰问困难职工八十三人次，发放慰问金十二万元，职工满意度明显提升。")
PAGE = (f"<html><head><title>工会工作总结</title></head><body><h1>工会工作总结</h1><p>{ARTICLE}</p><p>{ARTICLE}</p>"
        "</body></html>")
SUFFIXES = (".html", ".htm", ".xhtml", ".mhtml", ".txt")
WORK = Path(tempfile.mkdtemp(prefix="fuzz-load-"))


def teardown_module():
    shutil.rmtree(WORK, ignore_errors=True)


def load_and_clean(data: bytes, suffix: str = ".html", max_bytes: int = 20_000_000):
    """Write ``data`` to a file, load and clean it; return the CleanedPage or our error. Anything else, or a
    changed file, fails the test."""
    path = WORK / f"page{threading.get_ident()}{suffix}"
    path.write_bytes(data)
    try:
        cp = clean_page(load_page(path, WORK, max_bytes))
    except (LoadError, CleanError) as e:
        assert e.reason and str(e) and "\n" not in str(e) and len(str(e)) < 200, repr(e)
        return e
    finally:
        assert path.read_bytes() == data
    assert isinstance(cp, CleanedPage) and cp.documents, cp  # a page that is not refused has text to index
    assert all(s.text.strip() or s.heading.strip() for d in cp.documents for s in d.sections), cp
    return cp


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.sampled_from(SUFFIXES))
@example(b"\xef\xbb\xbf", ".html")
@example(b"\xff\xfe\x00", ".txt")
@example(b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=b\r\n\r\n--b\r\n", ".mhtml")
def test_random_bytes(data, suffix):
    load_and_clean(data, suffix)


HTMLISH = st.lists(st.one_of(
    st.sampled_from(["<p>", "</p>", "<div>", "<meta charset=", "gbk>", "utf-16>", "<!--", "-->", "<script>", "&#0;",
                     "&#x1b;", "<![CDATA[", "<?xml encoding='big5'?>", "\x00", "\r\n", ARTICLE, "<title>", "<h1>"]),
    st.text(max_size=30)), max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HTMLISH, st.sampled_from(["utf-8", "gb18030", "big5", "utf-16-le", "utf-16", "latin-1", "shift_jis"]),
       st.sampled_from(SUFFIXES))
def test_random_markup_in_random_encodings(markup, codec, suffix):
    load_and_clean(markup.encode(codec, errors="replace"), suffix)


LABELS = sorted(set(encodings.aliases.aliases.values()) | set(encodings.aliases.aliases)) + [
    "gb2312", "gbk", "x-gbk", "GB_2312-80", "big5", "utf-16", "utf-32", "utf-7", "x-user-defined", "hex", "rot13",
    "zlib", "base64", "", "utf8mb4", "ＵＴＦ-８", "unicode-1-1-utf-7", "../../etc/passwd", "a" * 300]


@pytest.mark.parametrize("codec", ["utf-8", "gb18030", "gbk", "big5"])
def test_every_encoding_label_on_chinese_bytes(codec):
    """A page in ``codec`` under every label Python knows (and junk): no exception, and the text is kept whatever
    the label says (a Western label on a GB page, a gb2312 label on Big5 bytes and an EUC-JIS label on GB bytes
    all used to yield mojibake: CJK codecs decode each other's bytes cleanly)."""
    article = ARTICLE if codec != "big5" else ARTICLE.replace("来", "來").replace("会", "會").replace("职", "職")
    body = f"<html><body><p>{article}</p><p>{article}</p></body></html>".encode(codec, errors="replace")
    article = article.encode(codec, errors="replace").decode(codec)  # what the page can hold
    lost = []
    for label in LABELS:
        for head in (f'<meta charset="{label}">', f'<?xml version="1.0" encoding="{label}"?>',
                     f'<meta http-equiv="Content-Type" content="text/html; charset={label}">'):
            data = head.encode("utf-8", errors="replace") + body
            text, used, replaced = decode_bytes(data)
            assert isinstance(text, str) and isinstance(replaced, int) and replaced <= len(text), (label, used)
            if article[:20] not in text:
                lost.append((label, used))
    assert not lost, lost[:10]


@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252", "latin1", "koi8-r", "cp037", "ascii"])
def test_western_label_on_a_gbk_page_reads_chinese(label):
    """Servers that default to iso-8859-1 label GBK pages wrongly; a single-byte codec decodes any bytes cleanly,
    so the label alone must not win (it used to: the page was indexed as mojibake)."""
    cp = load_and_clean(f'<meta charset="{label}">'.encode() + PAGE.encode("gbk"))
    assert not isinstance(cp, Exception) and "职工之家建设" in cp.documents[0].sections[0].text


def test_western_pages_keep_their_label():
    for label, codec, text in (("windows-1252", "cp1252", "Café au lait à Zürich, déjà vu — ça coûte 5 €."),
                               ("koi8-r", "koi8-r", "Профсоюз провёл собрание трудового коллектива.")):
        data = f'<meta charset="{label}"><p>{text}</p>'.encode(codec)
        assert decode_bytes(data)[0].endswith(f"<p>{text}</p>")


@functools.cache
def _bombs() -> dict[str, bytes]:
    html = PAGE.encode() * 50_000  # ~10 MB of real markup, compressed to little
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("index.html", html)
    return {"gzip": gzip.compress(b"\0" * 20_000_000, 6), "gzip_html": gzip.compress(html, 6), "zip": zbuf.getvalue(),
            "bz2": bz2.compress(html[:1_000_000], 1), "xz": lzma.compress(html, preset=0)}


@pytest.mark.parametrize("suffix", [".html", ".mhtml", ".txt"])
def test_compression_bombs_are_refused_cheaply(suffix):
    """Bytes are never decompressed: a bomb renamed .html is refused as binary (or undecodable), and loading it
    costs memory in proportion to the size limit, not to what the bomb would inflate to."""
    limit = 2_000_000
    for name, data in _bombs().items():
        assert len(data) < limit, name
        tracemalloc.start()
        try:
            result = load_and_clean(data, suffix, max_bytes=limit)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert isinstance(result, LoadError) and result.reason in ("binary", "bad_encoding", "bad_mhtml", "no_html",
                                                                   "empty"), (name, result)
        assert peak < 3 * limit + 40 * len(data), (name, peak)


def test_mhtml_with_a_base64_part_bigger_than_the_limit():
    """MHTML parts decode to about 3/4 of their size: a file under the limit stays under it once decoded."""
    import base64

    html = PAGE.encode() * 3000
    part = base64.encodebytes(html).decode()
    mime = ("MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"B\"\r\n\r\n--B\r\n"
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + part + "\r\n--B--\r\n")
    data = mime.encode()
    cp = load_and_clean(data, ".mhtml", max_bytes=len(data))
    assert not isinstance(cp, Exception)
    assert isinstance(load_and_clean(data, ".mhtml", max_bytes=len(data) - 1), LoadError)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(PAGE.encode())), min_size=1, max_size=20), st.sampled_from(SUFFIXES))
def test_nul_bytes_anywhere(positions, suffix):
    data = bytearray(PAGE.encode())
    for pos in sorted(positions, reverse=True):
        data[pos:pos] = b"\x00"
    result = load_and_clean(bytes(data), suffix)
    assert isinstance(result, (LoadError, CleanError)) or "\x00" not in result.title


DEEP = {
    "div": b"<div>" * 10_000 + b"%s" + b"</div>" * 10_000,
    "span_unclosed": b"<span>" * 10_000 + b"%s",
    "b_i_unclosed": b"<b><i>" * 10_000 + b"%s",
    "table": b"<table><tr><td>" * 10_000 + b"%s",
    "li": b"<ul><li>" * 10_000 + b"%s",
    "a": b"<a href=x>" * 10_000 + b"%s",
    "font": b"<font>" * 10_000 + b"%s" + b"</font>" * 10_000,
    "svg": b"<svg>" + b"<g>" * 10_000 + b"%s",
    "blockquote_p": b"<blockquote><p>" * 10_000 + b"%s",
    "comments": b"<!--" * 10_000 + b"%s" + b"-->" * 10_000,
}


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_nesting_ten_thousand_levels(kind):
    started = time.perf_counter()
    result = load_and_clean(DEEP[kind].replace(b"%s", f"<p>{ARTICLE}</p>".encode() * 2))
    assert isinstance(result, (CleanedPage, LoadError, CleanError)), (kind, result)
    assert time.perf_counter() - started < 60, kind  # stops a pathological parse; speed is measured in bench/


HUGE = {
    "class": b'<div class="' + b"x " * 500_000 + b'">%s</div>',
    "style": b'<p style="' + b"color:red;" * 300_000 + b'">%s</p>',
    # libxml2 checks each attribute against the earlier ones: 100,000 attributes on one tag took 75 s to parse.
    "many_attributes": b"<div " + b" ".join(b"a%d=1" % i for i in range(100_000)) + b">%s</div>",
    "many_boolean_attributes": b"<div " + b" ".join(b"a%d" % i for i in range(100_000)) + b">%s</div>",
    "many_quoted_with_markup": b"<div " + b"".join(b'a%d="<p>" ' % i for i in range(100_000)) + b">%s</div>",
    "many_unterminated_quotes": b"<div " + b" ".join(b'a%d="x' % i for i in range(100_000)) + b">%s</div>",
    "many_tags_of_99": (b"<div " + b" ".join(b"a%d=1" % i for i in range(99)) + b">x</div>") * 2000 + b"%s",
    "href": b'<a href="http://x/' + b"a" * 3_000_000 + b'">link</a><p>%s</p>',
    "data_uri": b'<img src="data:image/png;base64,' + b"QUFB" * 750_000 + b'"><p>%s</p>',
    "title": b"<title>" + "工会".encode() * 300_000 + b"</title><p>%s</p>",
    "meta_charset": b"<meta charset=" + b"x" * 1_000_000 + b"><p>%s</p>",
    "one_line_text": "工会".encode() * 500_000 + b"<p>%s</p>",
    "unquoted": b"<div title=" + b"y" * 3_000_000 + b"><p>%s</p></div>",
}


@pytest.mark.parametrize("kind", sorted(HUGE))
def test_huge_attributes_and_lines(kind):
    started = time.perf_counter()
    result = load_and_clean(HUGE[kind].replace(b"%s", ARTICLE.encode() * 2))
    assert isinstance(result, (CleanedPage, LoadError, CleanError)), (kind, result)
    assert time.perf_counter() - started < 60, kind  # 100,000 attributes took 75 s before; bench/ measures speed


def test_memory_is_bounded_by_the_size_limit():
    """A page over the limit is refused before it is read; one at the limit costs a bounded multiple of it."""
    limit = 400_000
    over = WORK / "over.html"
    over.write_bytes(b"<p>" + b"x" * (limit * 5) + b"</p>")
    tracemalloc.start()
    try:
        with pytest.raises(LoadError, match="limit") as e:
            load_page(over, WORK, limit)
        assert e.value.reason == "too_large"
        assert tracemalloc.get_traced_memory()[1] < limit // 4
        tracemalloc.reset_peak()
        body = (f"<p>{ARTICLE}</p>\n" * (limit // len(f"<p>{ARTICLE}</p>\n".encode()) - 10)).encode()
        result = load_and_clean(body, max_bytes=limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not isinstance(result, Exception)
    assert peak < 60 * limit, f"peak {peak / 1e6:.0f} MB for a {limit / 1e6:.0f} MB page"


def test_a_file_growing_past_the_limit_is_cut_at_the_limit(monkeypatch):
    """stat() said small, the file is bigger when read (still being written): at most max_bytes + 1 are read."""
    path = WORK / "growing.html"
    path.write_bytes(b"<p>" + b"x" * 5000 + b"</p>")
    real_stat = Path.stat
    monkeypatch.setattr(Path, "stat", lambda self, **kw: os.stat_result((0o100644, 0, 0, 1, 0, 0, 10, 0, 0, 0))
                        if self == path else real_stat(self, **kw))
    with pytest.raises(LoadError) as e:
        load_page(path, WORK, 1000)
    assert e.value.reason == "too_large"


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_pipes_and_devices_are_not_read(tmp_path, kind):
    path = tmp_path / "page.html"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    started = time.perf_counter()
    with pytest.raises(LoadError) as e:
        load_page(path, tmp_path)
    assert e.value.reason == "not_a_file" and time.perf_counter() - started < 30  # not read (that never ends)


def test_a_fifo_in_the_source_folder_does_not_hang_the_indexer(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.html").write_text(PAGE, encoding="utf-8")
    os.mkfifo(src / "pipe.html")
    config = make_config(tmp_path, src, cache_dir=str(WORK / "cache"))
    store = open_store(config)
    done: list = []
    thread = threading.Thread(target=lambda: done.append(index_corpus(config, store, workers=1, progress=False)),
                              daemon=True)
    thread.start()
    thread.join(60)  # a generous deadline: a run of one page takes well under a second
    hung = thread.is_alive()
    if hung:  # unblock the reader (a writer opens and closes the pipe) so the thread ends
        with open(src / "pipe.html", "wb"):
            pass
        thread.join(30)
    assert not hung, "index_corpus blocked on a FIFO"
    assert done and done[0].indexed == 1 and done[0].failures == [("pipe.html", done[0].failures[0][1])]


def test_fuzz_targets_run(store, monkeypatch):
    """fuzz/fuzz_load.py and fuzz/fuzz_query.py stay runnable: a few inputs through each, and the hypothesis
    fallback of the harness; and each target still reports a bug (the point of running it for hours)."""
    import sys

    from helpers import ROOT

    sys.path.insert(0, str(ROOT / "fuzz"))
    import _harness
    import fuzz_load
    import fuzz_query

    for data in (b"", b"\x00<p>\x00", b"\x04" + PAGE.encode(), b"\x03\xff\xfe", b"\x01" + gzip.compress(b"x" * 1000)):
        fuzz_load.one_input(data)
    seen: list[bytes] = []
    _harness.run_hypothesis(lambda data: seen.append(data) or fuzz_load.one_input(data), 20)
    assert len(seen) >= 20
    fuzz_query._store = store  # the suite's index of scraped/ instead of building another
    for data in (b"", b"\xff\xfe", b'\x07"\xe5\xb7\xa5\xe4\xbc\x9a', b"\x80 OR title: -", b"\x00" + "职代会".encode()):
        fuzz_query.one_input(data)

    def cleaner_bug(page, *args, **kwargs):
        raise KeyError("a cleaner bug")

    monkeypatch.setattr(fuzz_load, "clean_page", cleaner_bug)
    with pytest.raises(KeyError, match="a cleaner bug"):
        fuzz_load.one_input(b"\x00" + PAGE.encode())
    real_search = fuzz_query.search

    def markup_in_snippets(*args, **kwargs):
        result = real_search(*args, **kwargs)
        return dataclasses.replace(result, hits=[dataclasses.replace(h, snippet="<b>" + h.snippet)
                                                 for h in result.hits])

    monkeypatch.setattr(fuzz_query, "search", markup_in_snippets)
    with pytest.raises(AssertionError, match="markup in a snippet"):
        fuzz_query.one_input(b"\x00" + "职代会".encode())
