"""Loading and cleaning hostile input: only LoadError / CleanError ever escape, and source files stay as they were."""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
from pathlib import Path

import pytest

from indexer.clean import CleanError, clean_page
from indexer.load import LoadError, decode_bytes, iter_pages, load_page
from indexer.model import CleanedPage

from helpers import SHARED

ARTICLE = "<p>今年以来，工会紧紧围绕中心工作，认真履行维护职能，扎实开展职工之家建设，取得了新的进展。</p>"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def clean_file(path: Path, **kw):
    """load + clean; returns the CleanedPage or the LoadError/CleanError raised."""
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    stat = path.stat() if path.exists() else None
    try:
        return clean_page(load_page(path, path.parent, **kw))
    except (LoadError, CleanError) as e:
        assert e.reason and str(e) and "\n" not in str(e)
        return e
    finally:
        if before is not None:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == before
            assert path.stat().st_mtime == stat.st_mtime


BAD = {
    "empty.html": b"",
    "blank.html": b"   \n\t  ",
    "binary.html": bytes(range(256)) * 40,
    "png.html": b"\x89PNG\r\n\x1a\n" + os.urandom(2000),
    "zip.htm": b"PK\x03\x04" + os.urandom(500),
    "nul.html": b"<html><body><p>\x00\x00\x00</p></body></html>",
    "truncated.html": ("<html><head><title>半截</title></head><body><div><p>今年以来，工会紧紧围绕".encode()),
    "deep.html": b"<div>" * 10_000 + ARTICLE.encode() + b"</div>" * 10_000,
    "deep_unclosed.html": b"<b><i>" * 20_000 + "职工".encode(),
    "huge_attr.html": b'<div class="' + b"x" * 3_000_000 + b'">' + ARTICLE.encode() + b"</div>",
    "only_script.html": b"<html><script>var a = 1;</script><style>p{}</style></html>",
    "tags_only.html": b"<html><body><div><span></span></div></body></html>",
    "entity_soup.html": b"&#0;&#xD800;&#99999999;&amp;&lt;" * 100,
    "bad_charset.html": b'<meta charset="hex"><p>\xff\xfe bad</p>' + ARTICLE.encode("gb18030"),
    "utf16_label.html": b'<meta charset="utf-16">' + ARTICLE.encode(),
    "xmldecl.xhtml": (b'<?xml version="1.0" encoding="gb2312"?><html><body>' + ARTICLE.encode("gb18030")
                      + b"</body></html>"),
    "cdata.html": b"<![CDATA[" + ARTICLE.encode() + b"<!-- <!-- -->",
    "garbage.mhtml": os.urandom(3000),
    "empty.txt": b"",
    "nul.txt": b"abc\x00def",
    "short.txt": "工会".encode(),
    "gbk_noise.txt": os.urandom(5000),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_only_our_errors(tmp_path, name):
    """clean_file lets only LoadError/CleanError through (with a one-line reason) and checks the file is unchanged;
    what comes back is a cleaned page with text, or one of our errors."""
    result = clean_file(write(tmp_path, name, BAD[name]))
    if isinstance(result, CleanedPage):
        assert result.documents and all(s.text.strip() for d in result.documents for s in d.sections), name
    else:
        assert isinstance(result, (LoadError, CleanError)), (name, result)


def test_expected_reasons(tmp_path):
    assert clean_file(write(tmp_path, "e.html", b"")).reason == "empty"
    assert clean_file(write(tmp_path, "b.html", bytes(range(256)) * 40)).reason == "binary"
    assert clean_file(write(tmp_path, "s.html", b"<script>x</script>")).reason in ("no_body", "too_short")
    assert clean_file(write(tmp_path, "x.pdf", b"%PDF-1.4")).reason == "corrupt"  # a PDF is a page now
    big = write(tmp_path, "big.html", b"<p>" + b"a" * 5000 + b"</p>")
    assert clean_file(big, max_bytes=1000).reason == "too_large"


def deny_reading(monkeypatch, path: Path) -> None:
    """Opening ``path`` fails with PermissionError (EACCES), as it does for a user without read permission."""
    real_open, target = builtins.open, os.path.realpath(path)

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == target:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)  # open(p, "rb") in indexer/load.py
    monkeypatch.setattr(io, "open", guarded)  # Path.open / Path.read_bytes


def test_directory_and_permissions(tmp_path, monkeypatch):
    """A folder named like a page is not_a_file; a page nobody may read is unreadable.

    chmod 0 does not stop root (CI and containers run the suite as root): when the file is still readable, its
    open() is made to fail with the PermissionError an ordinary user gets, so the same check runs either way."""
    d = tmp_path / "dir.html"
    d.mkdir()
    assert clean_file(d).reason == "not_a_file"
    p = write(tmp_path, "locked.html", ARTICLE.encode())
    p.chmod(0)
    try:
        if os.access(p, os.R_OK):  # root: permissions do not apply
            deny_reading(monkeypatch, p)
        with pytest.raises(LoadError) as e:
            load_page(p, tmp_path)
        assert e.value.reason == "unreadable" and "permission denied" in str(e.value).lower()
    finally:
        monkeypatch.undo()
        p.chmod(0o644)
    assert clean_file(p).documents  # readable again: the same file loads


def test_truncated_page_keeps_its_text(tmp_path):
    page = "<html><body><h1>工会工作总结</h1>" + ARTICLE * 3 + "<p>最后一段没有结束标签，工会工作取得了新的进展"
    cp = clean_file(write(tmp_path, "t.html", page.encode()))
    assert "最后一段没有结束标签" in cp.documents[0].sections[-1].text


def test_deep_nesting_is_survived(tmp_path):
    r = clean_file(write(tmp_path, "d.html", BAD["deep.html"]))
    assert isinstance(r, (CleanError,)) or r.documents


@pytest.mark.parametrize("codec", ["utf-8", "gb18030", "gbk", "big5"])
def test_undeclared_encodings(tmp_path, codec):
    article = ARTICLE if codec != "big5" else (
        "<p>今年以來，工會緊緊圍繞中心工作，認真履行維護職能，紮實開展職工之家建設，取得了新的進展。</p>")
    data = ("<html><body>" + article * 4 + "</body></html>").encode(codec)
    cp = clean_file(write(tmp_path, f"p_{codec}.html", data))
    assert "工会" in cp.documents[0].sections[0].text or "工會" in cp.documents[0].sections[0].text


def test_bom_and_declared_gb2312_that_is_utf8(tmp_path):
    cp = clean_file(write(tmp_path, "bom.html", b"\xef\xbb\xbf" + ARTICLE.encode()))
    assert cp.encoding == "utf-8"
    page = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">' + ARTICLE
    cp = clean_file(write(tmp_path, "liar.html", page.encode("utf-8")))
    assert "职工之家" in cp.documents[0].sections[0].text


def test_gb2312_label_with_gbk_only_characters(tmp_path):
    page = '<meta charset="gb2312"><p>' + "喆镕堃，" * 3 + ARTICLE + "</p>"
    cp = clean_file(write(tmp_path, "gbk.html", page.encode("gb18030")))
    assert cp.encoding == "gb18030" and "喆镕堃" in cp.documents[0].sections[0].text


def test_mojibake_is_refused(tmp_path):
    """Bytes that decode cleanly in no codec (0xFF is invalid in UTF-8 and in every CJK codec) are counted as
    replaced characters, and a page made of them is refused instead of indexed as garbage."""
    data = b"<p>" + b"\xff\xfe\x80" * 60 + b"</p>"
    text, codec, replaced = decode_bytes(data, "html")
    assert text.startswith("<p>") and replaced >= 60, (codec, replaced)
    refused = clean_file(write(tmp_path, "mojibake.html", data))
    assert isinstance(refused, LoadError) and refused.reason == "bad_encoding", refused


def test_mhtml_single_file_save(tmp_path):
    html = ('<html><head><title>工会工作总结_某网</title></head><body><h1>工会工作总结</h1>' + ARTICLE * 3
            + "</body></html>")
    mime = (
        "From: <Saved by Blink>\r\nSnapshot-Content-Location: https://example.cn/a/1.html\r\n"
        "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related;\r\n\ttype=\"text/html\";\r\n"
        "\tboundary=\"----B\"\r\n\r\n------B\r\nContent-Type: text/html\r\nContent-ID: <f>\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\nContent-Location: https://example.cn/a/1.html\r\n\r\n"
    )
    import quopri

    body = quopri.encodestring(html.encode("utf-8")).decode("ascii")
    data = (mime + body + "\r\n------B--\r\n").encode("ascii")
    cp = clean_file(write(tmp_path, "page.mhtml", data))
    assert cp.url == "https://example.cn/a/1.html" and cp.site == "example.cn"
    assert cp.title == "工会工作总结"


@pytest.mark.skipif(not (SHARED / "pages").is_dir(), reason="../shared/pages not present")
def test_word_export_msonormal():
    cp = clean_file(SHARED / "pages" / "dev08.html")
    assert cp.encoding == "gb18030" and cp.date == "2023-12-05"
    assert "（一）经费收缴不够及时足额" in [s.heading for s in cp.documents[0].sections]


@pytest.mark.skipif(not (SHARED / "realworld-zh").is_dir(), reason="../shared/realworld-zh not present")
def test_cleaneval_text_line_before_html():
    cp = clean_file(SHARED / "realworld-zh" / "pages" / "cwced_8baa71e3.html")
    assert cp.url == "http://auto.sohu.com/20050513/n225551143.shtml"
    assert "刚刚结束的号称世界第三" in cp.documents[0].sections[0].text


def test_thousands_of_files_iterate_lazily(tmp_path):
    for i in range(2000):
        (tmp_path / f"p{i:04d}.txt").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.html").write_bytes(b"x")
    names = [p.name for p in iter_pages(tmp_path)]
    assert len(names) == 2000 and names == sorted(names)
    assert all(clean_file(tmp_path / n).reason == "empty" for n in names[:50])


@pytest.mark.parametrize(("label", "codec"), [("gb2312", "big5"), ("gbk", "big5"), ("big5", "gbk"),
                                              ("euc-jp", "gbk"), ("shift_jis", "gb18030")])
def test_a_cjk_label_on_another_cjk_codec_reads_chinese(tmp_path, label, codec):
    """CJK codecs decode each other's bytes without an error; the reading that looks like Chinese wins."""
    traditional = codec == "big5"
    text = ("今年以來，工會緊緊圍繞中心工作，認真履行維護職能，紮實開展職工之家建設，取得了新的進展。" if traditional
            else "今年以来，工会紧紧围绕中心工作，认真履行维护职能，扎实开展职工之家建设，取得了新的进展。")
    title = "工作總結" if traditional else "工作总结"
    data = (f'<meta charset="{label}"><title>{title}</title><p>' + text * 3 + "</p>").encode(codec)
    cp = clean_file(write(tmp_path, "mislabelled.html", data))
    assert text[:20] in cp.documents[0].sections[0].text
