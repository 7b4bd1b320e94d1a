"""/doc/<id>/original (webapp/original.py): a document read from a Word, WPS, RTF or PDF file links to that file, and
the route serves it from the corpus folder found by the document id alone: correct type, a download name that keeps
Chinese (RFC 5987 filename*), 404 pages (never a 500) for unknown ids, web pages, and files gone, moved out of the
corpus or swapped for a pipe; the file itself is never changed."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from urllib.parse import unquote

import pytest

from indexer.backends import open_store
from indexer.build import build_index
from indexer.model import page_key

from helpers import ROOT, SHARED, make_config

sys.path.insert(0, str(ROOT / "bench"))
from office_speed import gold_pages, make_docx, make_pdf  # noqa: E402

GOLD = dict(gold_pages())
WORD_NAME = "2023年医院工会工作总结.docx"
RTF_NAME = "通知/关于开展“两节”送温暖活动的通知.rtf"
PDF_NAME = "report-2023.pdf"
HTML_NAME = "dev03.html"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def doc_id(source: str) -> str:
    return f"{page_key(source)}-0"


def write_rtf(gold: dict, path) -> None:
    """A small RTF of a gold page's first document (the RTF tests write richer ones)."""
    def esc(text: str) -> str:
        return "".join(c if ord(c) < 128 else "".join(f"\\'{b:02x}" for b in c.encode("gbk")) for c in text)

    d = gold["documents"][0]
    paras = [d["title"]] + [p for s in d["sections"] for p in ([s["heading"]] if s["heading"] else [])
                            + s["text"].split("\n")]
    body = "".join(f"\\pard {esc(p)}\\par\r\n" for p in paras)
    path.write_bytes(("{\\rtf1\\ansi\\ansicpg936{\\fonttbl{\\f0\\fcharset134 SimSun;}}\\f0\r\n" + body + "}")
                     .encode("ascii"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not GOLD:
        pytest.skip("no gold pages (../shared/pages)")
    tmp = tmp_path_factory.mktemp("original")
    src = tmp / "corpus"
    (src / "通知").mkdir(parents=True)
    make_docx(GOLD["dev01"], src / WORD_NAME)
    write_rtf(GOLD["dev09"], src / RTF_NAME)
    make_pdf(GOLD["dev05"], src / PDF_NAME)
    shutil.copy(SHARED / "pages" / HTML_NAME, src / HTML_NAME)
    for name, stem in (("gone.docx", "dev02"), ("linked.docx", "dev04"), ("piped.docx", "dev06")):
        make_docx(GOLD[stem], src / name)
    config = make_config(tmp, src)
    report = build_index(config, open_store(config), progress=False, workers=1)
    assert report.indexed == report.pages == 7 and not report.failures, report.summary()
    from webapp import create_app

    app = create_app(config)
    app.config["TESTING"] = True
    return app.test_client(), src


def test_document_pages_link_to_their_original_file(site):
    client, _ = site
    for source in (WORD_NAME, RTF_NAME, PDF_NAME):
        page = client.get(f"/doc/{doc_id(source)}").get_data(as_text=True)
        assert f'class="original-file" href="/doc/{doc_id(source)}/original"' in page, source
    page = client.get(f"/doc/{doc_id(HTML_NAME)}")
    assert page.status_code == 200 and "original-file" not in page.get_data(as_text=True)


@pytest.mark.parametrize(("source", "mimetype"), [(WORD_NAME, DOCX), (RTF_NAME, "application/rtf"),
                                                  (PDF_NAME, "application/pdf")])
def test_the_original_is_the_file_itself_under_its_own_name(site, source, mimetype):
    client, src = site
    before = (src / source).stat()
    response = client.get(f"/doc/{doc_id(source)}/original")
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.get_data() == (src / source).read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    name = source.rsplit("/", 1)[-1]
    star = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    plain = re.search(r'filename="([^"]*)"', disposition)
    assert disposition.startswith("attachment;") and star and plain, disposition
    assert unquote(star.group(1)) == name and re.fullmatch(r"[\x21-\x7e]+", star.group(1))
    # an ASCII name as it is; a Chinese one falls back to the document id with the file's suffix for old clients
    assert plain.group(1) == (name if name.isascii() else f"{doc_id(source)}.{name.rsplit('.', 1)[1]}")
    again = client.get(f"/doc/{doc_id(source)}/original", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    after = (src / source).stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def _not_found(response, *words: str) -> str:
    assert response.status_code == 404 and response.mimetype == "text/html", response.status_code
    body = response.get_data(as_text=True)
    assert "返回首页" in body and all(w in body for w in words), body[-600:]
    return body


@pytest.mark.parametrize("path", ["/doc/nope/original", "/doc/" + "x" * 500 + "/original",
                                  "/doc/..%2F..%2Fetc%2Fpasswd/original", "/doc/%00/original",
                                  "/doc/" + page_key("../../../etc/passwd") + "-0/original",
                                  "/doc/" + page_key(WORD_NAME) + "-0.0/original"])
def test_ids_that_are_not_documents_are_404_pages(site, path):
    _not_found(site[0].get(path))


def test_the_request_never_names_the_file(site):
    """Only the id counts: a path in the query string or a second id changes nothing."""
    client, src = site
    url = f"/doc/{doc_id(PDF_NAME)}/original"
    response = client.get(url + "?path=/etc/passwd&source=../../etc/passwd&file=" + WORD_NAME)
    assert response.status_code == 200 and response.get_data() == (src / PDF_NAME).read_bytes()


def test_a_web_page_has_no_original_file(site):
    _not_found(site[0].get(f"/doc/{doc_id(HTML_NAME)}/original"), "没有可下载的原始文件")


def test_a_file_gone_from_disk_is_a_404_with_a_message(site):
    client, src = site
    (src / "gone.docx").unlink()
    _not_found(client.get(f"/doc/{doc_id('gone.docx')}/original"), "原始文件已不在服务器上", "gone.docx")


def test_a_file_turned_into_a_link_out_of_the_corpus_or_a_pipe_is_not_served(site, tmp_path):
    client, src = site
    outside = tmp_path / "secret.docx"
    outside.write_bytes(b"not for the web")
    os.replace(src / "linked.docx", tmp_path / "moved.docx")
    (src / "linked.docx").symlink_to(outside)
    _not_found(client.get(f"/doc/{doc_id('linked.docx')}/original"), "原始文件已不在服务器上")
    (src / "piped.docx").unlink()
    os.mkfifo(src / "piped.docx")
    started = time.perf_counter()
    _not_found(client.get(f"/doc/{doc_id('piped.docx')}/original"), "原始文件已不在服务器上")
    assert time.perf_counter() - started < 5
