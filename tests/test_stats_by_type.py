"""`unionsearch stats` counts pages by file type (html, mhtml, text, docx, doc, wps, pdf, rtf), indexed and skipped,
from the manifest the index keeps: in the text output and in --json, after a full build and after an update."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from click.testing import CliRunner

from indexer.load import file_type
from indexer.manifest import Entry, Manifest, pages_by_type
from webapp.cli import cli

from helpers import ROOT, SCRAPED, seed

sys.path.insert(0, str(ROOT / "bench"))
from office_speed import gold_pages, make_docx, make_pdf  # noqa: E402

GOLD = dict(gold_pages())
RTF = ("{\\rtf1\\ansi\\ansicpg936{\\fonttbl{\\f0\\fcharset134 SimSun;}}\\f0 \\pard "
       + "".join(f"\\'{b:02x}" for b in "市总工会关于做好2024年职工疗休养工作的通知".encode("gbk")) + "\\par \\pard "
       + "".join(f"\\'{b:02x}" for b in ("各基层工会：为进一步关心关爱职工身心健康，经研究，决定组织开展2024年度"
                                          "职工疗休养活动，现将有关事项通知如下。").encode("gbk")) + "\\par}")


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if not GOLD:
        pytest.skip("no gold pages (../shared/pages)")
    tmp = tmp_path_factory.mktemp("bytype")
    src = tmp / "pages"
    src.mkdir()
    for name in ("dev02.html", "dev05.html"):
        shutil.copy(SCRAPED / name, src)
    shutil.copy(seed("000"), src)
    make_docx(GOLD["dev01"], src / "总结.docx")
    make_pdf(GOLD["dev06"], src / "报告.pdf")
    (src / "通知.rtf").write_text(RTF, encoding="ascii")
    (src / "下载.doc").write_text(RTF, encoding="ascii")  # an RTF saved as .doc: counted as the .doc it is named
    (src / "空白.wps").write_bytes(b"")  # skipped (empty)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 broken")  # skipped (corrupt)
    invoke("index", "--source", src, "--index", tmp / "index", "--quiet", "--workers", "1")
    return tmp, src


def test_stats_json_counts_pages_by_type(corpus):
    tmp, _ = corpus
    figures = json.loads(invoke("stats", "--json", "--index", tmp / "index"))
    assert figures["pages_by_type"] == {"html": 2, "mhtml": 0, "text": 1, "docx": 1, "doc": 1, "wps": 0, "pdf": 1,
                                        "rtf": 1}
    assert figures["skipped_by_type"] == {"html": 0, "mhtml": 0, "text": 0, "docx": 0, "doc": 0, "wps": 1, "pdf": 1,
                                          "rtf": 0}
    assert sum(figures["pages_by_type"].values()) == figures["indexed_pages"]
    assert sum(figures["skipped_by_type"].values()) == figures["failed_pages"]


def test_stats_text_shows_the_types_under_the_page_counts(corpus):
    tmp, _ = corpus
    lines = invoke("stats", "--index", tmp / "index").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("pages indexed:"))
    assert lines[at + 1] == "  by type: html 2, text 1, docx 1, doc 1, pdf 1, rtf 1"
    skipped = next(i for i, line in enumerate(lines) if line.startswith("pages skipped:"))
    assert lines[skipped] == "pages skipped: 2" and lines[skipped + 1] == "  by type: wps 1, pdf 1"


def test_stats_by_type_follow_an_update(corpus):
    """An incremental run changes the counts: a removed .rtf and a new .wps file that is a Word file inside."""
    tmp, src = corpus
    (src / "通知.rtf").unlink()
    (src / "空白.wps").unlink()
    make_docx(GOLD["dev03"], src / "新文件.wps")  # python-docx writes OOXML: a .wps that is a .docx loads as one
    invoke("index", "--source", src, "--index", tmp / "index", "--quiet", "--workers", "1")
    figures = json.loads(invoke("stats", "--json", "--index", tmp / "index"))
    assert (figures["pages_by_type"]["rtf"], figures["pages_by_type"]["wps"]) == (0, 1), figures["pages_by_type"]
    assert figures["skipped_by_type"]["wps"] == 0


def test_file_types_and_a_missing_manifest():
    assert [file_type(n) for n in ("a.HTM", "b.mht", "c.txt", "d.DOCX", "e.doc", "f.wps", "g.pdf", "h.rtf",
                                   "i.png")] == ["html", "mhtml", "text", "docx", "doc", "wps", "pdf", "rtf", "other"]
    assert not any(pages_by_type(None)["indexed"].values())
    m = Manifest("f", {"x/a.rtf": Entry(1, 1, "s"), "b.rtf": Entry(1, 1, "s", error="corrupt: bad")})
    assert (pages_by_type(m)["indexed"]["rtf"], pages_by_type(m)["skipped"]["rtf"]) == (1, 1)
