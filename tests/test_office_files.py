"""Word, WPS and PDF files (indexer/office.py): the gold pages' documents written as .docx and .pdf here, in the
tests (no third-party document is committed), and as real Word 97 .doc files by LibreOffice, extract to the gold
text and headings; damaged, encrypted, empty, huge and converter-less files give one LoadError with a reason."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time

import pytest

from indexer import office
from indexer.clean import clean_page
from indexer.load import LoadError, iter_pages, load_page
from indexer.records import process_file

from helpers import ROOT, make_config, norm, scores

sys.path.insert(0, str(ROOT / "bench"))
from office_speed import FOOTER, HEADER, gold_pages, make_docx, make_pdf  # noqa: E402

GOLD = dict(gold_pages())
PAGE_NUMBER_LINE = re.compile(r"^\s*[-—]\s*\d+\s*[-—]\s*$", re.M)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"




def extract(path) -> dict:
    return clean_page(load_page(path, path.parent)).to_json()


def all_text(cp: dict) -> str:
    return "\n".join([cp["title"]] + [d["title"] for d in cp["documents"]]
                     + [s["heading"] + "\n" + s["text"] for d in cp["documents"] for s in d["sections"]])


def assert_no_running_lines(cp: dict) -> None:
    text = all_text(cp)
    assert norm(HEADER) not in norm(text) and FOOTER not in text
    assert not PAGE_NUMBER_LINE.search(text), PAGE_NUMBER_LINE.search(text)


@pytest.fixture(scope="module", autouse=True)
def _gold_present():
    if not GOLD:
        pytest.skip("no gold pages (../shared/pages)")


# ----------------------------------------------------------------------------- .docx

@pytest.mark.parametrize("styles", ["en", "cn", "none"])
def test_docx_matches_gold(tmp_path, styles):
    """Heading styles (Heading N, 标题 N) or numbering only: text F1 ≥ 0.98, headings ≥ 0.95, no header/footer;
    title and date from the core properties."""
    pairs = []
    for stem, gold in GOLD.items():
        cp = extract(make_docx(gold, tmp_path / f"{stem}.docx", styles))
        assert_no_running_lines(cp)
        assert cp["title"] == gold["title"], stem
        assert cp["date"] == gold["date"], stem
        assert len(cp["documents"]) == len(gold["documents"]), stem
        pairs.append((cp["documents"], gold))
    f1, headings = scores(pairs)
    assert f1 >= 0.98 and headings >= 0.95, (styles, f1, headings)


def _numbered(doc, p, num_id: str, level: int) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    p._p.get_or_add_pPr().append(parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/>'
                                           f'<w:numId w:val="{num_id}"/></w:numPr>'))


def test_docx_automatic_numbering_is_written_out(tmp_path):
    """Word's list numbers (一、 / （一） in numbering.xml, not in the text) come back as the headings' numbers."""
    from docx import Document
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    gold = GOLD["dev06"]
    doc = Document()
    numbering = doc.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/></w:lvl>'
        '</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    d = gold["documents"][0]
    doc.add_paragraph(d["title"], style="Title")
    for s in d["sections"]:
        if s["heading"]:
            level = 1 if s["heading"].startswith("（") else 0
            bare = re.sub(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", "", s["heading"])
            _numbered(doc, doc.add_paragraph(bare, style=f"Heading {level + 1}"), "90", level)
        for line in s["text"].split("\n"):
            doc.add_paragraph(line)
    doc.save(str(tmp_path / "auto.docx"))
    cp = extract(tmp_path / "auto.docx")
    assert [s["heading"] for s in cp["documents"][0]["sections"]] == [s["heading"] for s in d["sections"]]
    assert office.format_number(12, "chineseCounting") == "十二" and office.format_number(3, "decimalEnclosedCircle") \
        == "③" and office.format_number(20, "chineseCounting") == "二十"


def test_docx_tables_are_rows_and_toc_is_dropped(tmp_path):
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE

    doc = Document()
    doc.add_paragraph("市总工会2023年困难职工帮扶情况统计", style="Title")
    doc.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("一、帮扶情况……1", style="toc 1")
    doc.add_paragraph("一、帮扶情况", style="Heading 1")
    doc.add_paragraph("全年共走访慰问困难职工家庭三百二十户，发放慰问金和物资，具体情况见下表。")
    table = doc.add_table(rows=3, cols=3)
    rows = [("单位", "户数", "金额（万元）"), ("机关工会", "120", "36.5"), ("企业工会", "200", "58.2")]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    doc.add_paragraph("二、下一步打算", style="Heading 1")
    doc.add_paragraph("继续做好困难职工动态管理，确保帮扶资金及时足额发放到位。")
    doc.sections[0].header.paragraphs[0].text = HEADER
    doc.save(str(tmp_path / "t.docx"))
    cp = extract(tmp_path / "t.docx")
    text = all_text(cp)
    assert "机关工会 120 36.5" in text.replace("  ", " ")
    assert "……1" not in text and norm(HEADER) not in norm(text)
    assert [s["heading"] for s in cp["documents"][0]["sections"] if s["heading"]] == ["一、帮扶情况", "二、下一步打算"]


# ----------------------------------------------------------------------------- .pdf

def test_pdf_matches_gold(tmp_path):
    """Text F1 ≥ 0.98 and headings ≥ 0.95 from wrapped, indented CJK PDFs; no running header or page number."""
    pairs = []
    for stem, gold in GOLD.items():
        cp = extract(make_pdf(gold, tmp_path / f"{stem}.pdf"))
        assert_no_running_lines(cp)
        pairs.append((cp["documents"], gold))
    f1, headings = scores(pairs)
    assert f1 >= 0.98 and headings >= 0.95, (f1, headings)


def test_pdf_without_poppler_uses_pdfminer(tmp_path, monkeypatch):
    """With no pdftotext on PATH the text comes from pdfminer.six (in a child process), as well."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    pairs = []
    for stem in ("dev02", "dev06"):
        cp = extract(make_pdf(GOLD[stem], tmp_path / f"{stem}.pdf"))
        assert_no_running_lines(cp)
        pairs.append((cp["documents"], GOLD[stem]))
    f1, headings = scores(pairs)
    assert f1 >= 0.98 and headings >= 0.95, (f1, headings)


def test_long_pdf_is_quick_and_loses_its_running_lines(tmp_path):
    """About 200 pages: loaded in seconds, the header and every page number gone, paragraphs whole across pages."""
    path = make_pdf(GOLD["dev01"], tmp_path / "long.pdf", repeat=120)
    started = time.perf_counter()
    cp = extract(path)
    assert time.perf_counter() - started < 20
    assert_no_running_lines(cp)
    # STSong-Light has no glyph for "·" (5·12): the PDF itself lacks it
    gold_paras = {p.replace("·", "") for s in GOLD["dev01"]["documents"][0]["sections"] for p in s["text"].split("\n")}
    paras = [p.replace("·", "") for d in cp["documents"] for s in d["sections"] for p in s["text"].split("\n")]
    assert sum(p in gold_paras for p in paras) >= 0.98 * len(paras)


def test_scanned_pdf_has_no_text_layer(tmp_path):
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(tmp_path / "scan.pdf"))
    c.rect(50, 50, 300, 400, fill=1)
    c.showPage()
    c.save()
    assert reason_of(tmp_path / "scan.pdf") == "no_text_layer"


# ----------------------------------------------------------------------------- bad files

def reason_of(path, **kw) -> str:
    with pytest.raises(LoadError) as e:
        load_page(path, path.parent, **kw)
    assert "\n" not in str(e.value) and str(e.value)
    return e.value.reason


def test_empty_corrupt_and_encrypted_files(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    good_docx = make_docx(GOLD["dev01"], tmp_path / "good.docx").read_bytes()
    good_pdf = make_pdf(GOLD["dev01"], tmp_path / "good.pdf").read_bytes()
    files = {"zero.docx": b"", "zero.pdf": b"", "zero.doc": b"", "cut.docx": good_docx[:3000],
             "cut.pdf": good_pdf[:1500], "noise.pdf": os.urandom(4000), "noise.docx": os.urandom(4000),
             "zip.docx": b"PK\x03\x04" + os.urandom(500), "locked.docx": OLE + "EncryptedPackage".encode("utf-16-le"),
             "noise.doc": OLE + bytes(3000)}
    expected = {"zero": "empty", "locked": "encrypted"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        reason = reason_of(tmp_path / name)
        assert reason == expected.get(name.split(".")[0], "corrupt"), (name, reason)
    c = canvas.Canvas(str(tmp_path / "locked.pdf"), encrypt=StandardEncryption("secret", canPrint=0))
    c.drawString(100, 100, "union work report")
    c.showPage()
    c.save()
    assert reason_of(tmp_path / "locked.pdf") == "encrypted"
    assert reason_of(tmp_path / "good.docx", max_bytes=1000) == "too_large"
    # a file is read as what its bytes are: a PDF named .docx, a .docx named .doc or .wps
    for name, data in (("pdf.docx", good_pdf), ("docx.doc", good_docx), ("docx.wps", good_docx)):
        (tmp_path / name).write_bytes(data)
        assert extract(tmp_path / name)["title"] == GOLD["dev01"]["title"], name
    assert reason_of(tmp_path / "good.pdf", max_bytes=1000) == "too_large"


def test_a_word_file_that_is_a_saved_web_page_loads_as_html(tmp_path):
    html = (ROOT.parent / "shared" / "pages" / "dev01.html")
    html = html if html.exists() else next(p for p in (ROOT / "scraped").rglob("*.html"))
    (tmp_path / "download.doc").write_bytes(html.read_bytes())
    page = load_page(tmp_path / "download.doc", tmp_path)
    assert page.kind == "html" and clean_page(page).documents


def fake_tool(folder, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_doc_without_a_converter_is_skipped_with_a_reason(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "old.doc").write_bytes(OLE + bytes(3000))
    (tmp_path / "src" / "old.wps").write_bytes(OLE + bytes(3000))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert reason_of(tmp_path / "src" / "old.wps") == "converter_missing"
    result = process_file(str(tmp_path / "src" / "old.doc"), str(tmp_path / "src"), make_config(tmp_path))
    assert result.error == "converter_missing: install antiword" and not result.records


def test_doc_through_antiword_and_its_time_limit(tmp_path, monkeypatch):
    """The converter's text becomes paragraphs and sections; a converter that hangs is stopped (reason timeout)."""
    body = "\n".join(["市总工会2023年工作总结", "", "一、加强组织建设",
                      "全年新建基层工会十二个，发展会员一千二百人，职工入会率进一步提高。", "",
                      "二、做好帮扶工作", "走访慰问困难职工三百户，发放慰问金八十万元，实现应帮尽帮。", "- 1 -"])
    (tmp_path / "body.txt").write_text(body, encoding="utf-8")
    fake_tool(tmp_path / "bin", "antiword", f"{shutil.which('cat')} '{tmp_path / 'body.txt'}'")
    (tmp_path / "old.doc").write_bytes(OLE + bytes(3000))
    sleep = shutil.which("sleep")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    cp = extract(tmp_path / "old.doc")
    heads = [s["heading"] for d in cp["documents"] for s in d["sections"] if s["heading"]]
    assert heads == ["一、加强组织建设", "二、做好帮扶工作"] and "- 1 -" not in all_text(cp)
    fake_tool(tmp_path / "bin", "antiword", f"{sleep} 30")
    monkeypatch.setattr(office, "CONVERTER_SECONDS", 1.0)
    started = time.perf_counter()
    assert reason_of(tmp_path / "old.doc") == "timeout"
    assert time.perf_counter() - started < 10


@pytest.mark.skipif(not shutil.which("antiword"), reason="antiword is not installed (apt-get install antiword)")
def test_real_antiword_refuses_a_broken_doc(tmp_path):
    (tmp_path / "broken.doc").write_bytes(OLE + os.urandom(3000))
    assert reason_of(tmp_path / "broken.doc") == "corrupt"


@pytest.fixture(scope="module")
def word97_files(tmp_path_factory):
    """The gold pages as real Word 97 files: written as .docx here (heading styles), then saved as .doc by
    LibreOffice, which keeps title and creation date in the file's SummaryInformation."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    folder = tmp_path_factory.mktemp("word97")
    for stem, gold in GOLD.items():
        make_docx(gold, folder / f"{stem}.docx", "en")
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                    "--convert-to", "doc", "--outdir", str(folder), *sorted(str(p) for p in folder.glob("*.docx"))],
                   capture_output=True, timeout=600, check=True)
    files = {stem: folder / f"{stem}.doc" for stem in GOLD}
    assert all(p.read_bytes().startswith(OLE) for p in files.values())
    return files


@pytest.mark.parametrize("converter, floor", [("antiword", 0.98), ("catdoc", 0.96)])
def test_real_word97_doc_matches_gold(word97_files, monkeypatch, converter, floor):
    """Real .doc files through antiword (catdoc when antiword is missing): the gold text and headings, one
    document per gold document, title and date from the file's properties."""
    if converter == "catdoc":
        which = shutil.which
        monkeypatch.setattr(office.shutil, "which", lambda name: None if name == "antiword" else which(name))
    pairs = []
    for stem, path in word97_files.items():
        gold = GOLD[stem]
        cp = extract(path)
        assert (cp["title"], cp["date"]) == (gold["title"], gold["date"]), stem
        assert len(cp["documents"]) == len(gold["documents"]), stem
        pairs.append((cp["documents"], gold))
    f1, headings = scores(pairs)
    assert f1 >= floor and headings >= 0.95, (converter, f1, headings)


def test_office_files_are_pages_and_index(tmp_path):
    """iter_pages finds Word and PDF files; process_file turns them into section records with no error."""
    src = tmp_path / "src"
    src.mkdir()
    make_docx(GOLD["dev03"], src / "a.docx")
    make_pdf(GOLD["dev05"], src / "b.pdf")
    (src / "c.doc").write_bytes(b"")
    assert [p.name for p in iter_pages(src)] == ["a.docx", "b.pdf", "c.doc"]
    config = make_config(tmp_path, src)
    for name in ("a.docx", "b.pdf"):
        result = process_file(str(src / name), str(src), config)
        assert result.error is None and len(result.records) >= 5, (name, result.error)
    assert process_file(str(src / "c.doc"), str(src), config).error == "empty: empty file"
