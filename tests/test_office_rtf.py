"""RTF files (indexer/office.py, striprtf): the gold pages' documents written here as Chinese RTF the ways Word and WPS
write it (GBK bytes as \\'xx under \\ansicpg936 with lines broken anywhere, \\uN? escapes, \\uc2 with two fallback
bytes, raw GBK bytes, no code page at all) extract to the gold text, headings, title and date; heading styles work
without numbering; damaged files give one LoadError with a reason."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.clean import CleanError, clean_page
from indexer.load import LoadError, iter_pages, load_page
from indexer.records import process_file

from helpers import ROOT, make_config, scores

sys.path.insert(0, str(ROOT / "bench"))
from office_speed import FOOTER, HEADER, gold_pages, make_docx  # noqa: E402

GOLD = dict(gold_pages())
ENCODINGS = ("ansi", "uc1", "uc2", "raw")


def rtf_escape(text: str, encoding: str = "ansi") -> str:
    """``ansi``: GBK characters as \\'xx byte pairs (code page 936), others as \\uN?; ``raw``: GBK bytes unescaped
    (as WPS writes them); ``uc1``: every non-ASCII character as \\uN? (one fallback character); ``uc2``: \\uN and its
    two GBK bytes as the fallback (as Word writes under \\uc2: a reader must skip both)."""
    out = []
    for ch in text:
        if ch in "\\{}":
            out.append("\\" + ch)
            continue
        if 32 <= ord(ch) < 127:
            out.append(ch)
            continue
        try:
            gbk = ch.encode("gbk")
        except UnicodeEncodeError:
            gbk = b""
        if encoding in ("ansi", "raw") and gbk:
            out.append("".join(f"\\'{b:02x}" for b in gbk) if encoding == "ansi" else gbk.decode("latin-1"))
            continue
        units = ch.encode("utf-16-le")
        for i in range(0, len(units), 2):
            n = int.from_bytes(units[i:i + 2], "little")
            n = n - 0x10000 if n > 32767 else n  # \u takes a signed 16-bit number
            fallback = ("".join(f"\\'{b:02x}" for b in gbk) if len(gbk) == 2 else "??") if encoding == "uc2" else "?"
            out.append(f"\\u{n}{fallback}")
    return "".join(out)


def _wrap(body: str, width: int = 78) -> str:
    """RTF writers break the file's lines every so often: before any backslash, inside runs of \\'xx too."""
    lines, line = [], ""
    for i, ch in enumerate(body):
        line += ch
        if len(line) >= width and body[i + 1: i + 2] == "\\" and not line.endswith("\\"):
            lines.append(line)
            line = ""
    return "\r\n".join(lines + [line])


def _stylesheet(styles: str, e) -> str:
    names = {"en": ("Title", "heading 1", "heading 2", "heading 3"),
             "cn": ("标题", "标题 1", "标题 2", "标题 3"),
             "alias": ("Title", "heading 1,标题 1", "heading 2,标题 2", "heading 3,标题 3")}.get(styles)
    sheet = "{\\stylesheet{\\ql\\f0\\fs24 Normal;}{\\s20\\ql\\fi480\\f0\\fs24 Body Text;}"
    if names:
        sheet += f"{{\\s15\\qc\\b\\f0\\fs44 {e(names[0])};}}"
        for level in (1, 2, 3):
            sheet += f"{{\\s{level}\\ql\\keepn\\outlinelevel{level - 1}\\b\\f0\\fs{34 - 4 * level}\\sbasedon0 " \
                     f"\\snext20 {e(names[level])};}}"
    return sheet + "}"


def make_rtf(gold: dict, path: Path, encoding: str = "ansi", styles: str = "en", codepage: bool = True) -> Path:
    """A gold page's documents as RTF: font table, style sheet (``styles`` "en": heading 1–3 and Title; "cn": 标题 1–3
    and 标题; "alias": "heading 1,标题 1"; "none": headings only bold and larger), title, author and creation date
    in \\info, a running header, a footer with a page-number field, first-line indents. ``codepage`` False leaves
    out \\ansicpg and the font charsets (the reader has to guess)."""
    def e(s: str) -> str:
        return rtf_escape(s, encoding)

    info = f"{{\\info{{\\title {e(gold['title'])}}}{{\\author {e('办公室')}}}"
    if gold.get("date"):
        d = dt.date.fromisoformat(gold["date"])
        info += f"{{\\creatim\\yr{d.year}\\mo{d.month}\\dy{d.day}\\hr9\\min30}}"
    cpg, charset = ("\\ansicpg936", "\\fcharset134") if codepage else ("", "")
    head = (f"{{\\rtf1\\ansi{cpg}\\uc{2 if encoding == 'uc2' else 1}\\deff0\\deflang1033\\deflangfe2052"
            f"{{\\fonttbl{{\\f0\\fnil{charset} {rtf_escape('宋体', 'ansi')};}}"
            "{\\f1\\froman\\fcharset0 Times New Roman;}}"
            "{\\colortbl;\\red0\\green0\\blue0;}" + _stylesheet(styles, e) + info + "}" +
            "\\paperw11906\\paperh16838\\margl1800\\margr1800\\margt1440\\margb1440"
            f"{{\\header\\pard\\plain\\qc\\f0\\fs18 {e(HEADER)}\\par}}"
            f"{{\\footer\\pard\\plain\\qc\\f0\\fs18 {e(FOOTER)} - "
            "{\\field{\\*\\fldinst PAGE}{\\fldrslt 1}} -\\par}")
    multi = len(gold["documents"]) > 1
    body = []

    def para(text: str, level: int | None) -> None:
        if level is None:
            body.append(f"\\pard\\plain\\s20\\fi480\\f0\\fs24 {e(text)}\\par")
        elif styles != "none":
            style, size = (15, 44) if level == 0 else (level, 34 - 4 * level)
            outline = f"\\outlinelevel{level - 1}" if level else ""
            body.append(f"\\pard\\plain\\s{style}{outline}\\b\\f0\\fs{size} {{\\loch\\f0 {e(text)}}}\\par")
        else:
            body.append(f"\\pard\\plain\\b\\f0\\fs{36 if level == 0 else 28} {e(text)}\\par")

    for d in gold["documents"]:
        para(d["title"], 1 if multi else 0)
        for s in d["sections"]:
            if s["heading"]:
                para(s["heading"], (2 if s["heading"].startswith(("（", "(")) else 1) + (1 if multi else 0))
            for line in s["text"].split("\n"):
                para(line, None)
    path.write_bytes((_wrap(head + "\r\n" + "\r\n".join(body)) + "}").encode("latin-1"))
    return path




def extract(path: Path) -> dict:
    return clean_page(load_page(path, path.parent)).to_json()


def reason_of(path: Path, **kw) -> str:
    with pytest.raises(LoadError) as e:
        load_page(path, path.parent, **kw)
    assert "\n" not in str(e.value) and str(e.value)
    return e.value.reason


@pytest.fixture(scope="module", autouse=True)
def _gold_present():
    if not GOLD:
        pytest.skip("no gold pages (../shared/pages)")


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("styles", ["en", "cn", "none"])
def test_rtf_matches_gold(tmp_path, encoding, styles):
    """Every gold page as RTF: text F1 ≥ 0.98 and headings ≥ 0.95 (measured: 1.000 and 1.000 for each writing),
    the title and date from \\info, as many documents as the gold, no running header, footer or page field."""
    pairs = []
    for stem, gold in GOLD.items():
        cp = extract(make_rtf(gold, tmp_path / f"{stem}.rtf", encoding, styles))
        text = json.dumps(cp, ensure_ascii=False)
        assert HEADER not in text and FOOTER not in text and "PAGE" not in text, stem
        assert not re.search("[\ue000-\uf8ff\ufffd]", text), stem  # no heading marks or undecodable bytes left
        assert (cp["title"], cp["date"]) == (gold["title"], gold["date"]), stem
        assert len(cp["documents"]) == len(gold["documents"]), stem
        pairs.append((cp["documents"], gold))
    f1, headings = scores(pairs)
    assert f1 >= 0.98 and headings >= 0.95, (encoding, styles, f1, headings)


NUMBER = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)")


def _unnumbered(gold: dict) -> dict:
    docs = [{**d, "sections": [{**s, "heading": NUMBER.sub("", s["heading"])} for s in d["sections"]]}
            for d in gold["documents"]]
    return {**gold, "documents": docs}


@pytest.mark.parametrize("styles", ["en", "cn", "alias"])
def test_rtf_heading_styles_without_numbers(tmp_path, styles):
    """Headings that carry no 一、 number are found by their paragraph style (heading 1, 标题 1, or Word's
    "heading 1,标题 1" alias) and its outline level; with plain bold paragraphs they would not be."""
    gold = _unnumbered(GOLD["dev01"])
    wanted = [s["heading"] for s in gold["documents"][0]["sections"] if s["heading"]]
    cp = extract(make_rtf(gold, tmp_path / "styled.rtf", "ansi", styles))
    assert [s["heading"] for d in cp["documents"] for s in d["sections"] if s["heading"]] == wanted
    plain = extract(make_rtf(gold, tmp_path / "plain.rtf", "ansi", "none"))
    assert not any(s["heading"] for d in plain["documents"] for s in d["sections"])


def test_rtf_without_a_code_page_is_read_as_chinese(tmp_path):
    """No \\ansicpg and no font charset: GBK bytes are recognised as Chinese (GB18030), not read as Windows-1252."""
    gold = GOLD["dev03"]
    for encoding in ("ansi", "raw"):
        cp = extract(make_rtf(gold, tmp_path / f"{encoding}.rtf", encoding, codepage=False))
        assert scores([(cp["documents"], gold)])[0] >= 0.98 and cp["title"] == gold["title"], encoding


def test_rtf_tables_characters_beyond_gbk_and_pictures(tmp_path):
    """Table rows become lines, a character outside the BMP (\\uN surrogate pair) and one outside GBK survive, a
    hex picture of 3 MB and a \\bin picture leave nothing behind and cost little time."""
    picture = "{\\*\\shppict{\\pict\\pngblip\\picw100\\pich100 " + "\r\n".join(["89504e470d0a1a0a" * 8] * 24000) + "}}"
    rows = [("单位", "户数", "金额（万元）"), ("机关工会", "120", "36.5")]
    table = "".join("\\trowd\\cellx3000\\cellx6000\\cellx9000 " + "".join(
        f"\\pard\\intbl {rtf_escape(c)}\\cell " for c in row) + "\\row " for row in rows)
    body = (f"{{\\rtf1\\ansi\\ansicpg936{{\\fonttbl{{\\f0\\fcharset134 SimSun;}}}}\\f0 "
            f"\\pard {rtf_escape('一、帮扶情况')}\\par "
            f"\\pard {rtf_escape('姓名𠀀与“䶮”都在，走访慰问困难职工三百户。')}\\par "
            + picture + "{\\pict\\bin6 \x00\xff}{zz}" + table + f"\\pard {rtf_escape('二、下一步打算')}\\par "
            f"\\pard {rtf_escape('继续做好困难职工动态管理。')}\\par}}")
    (tmp_path / "t.rtf").write_bytes(body.encode("latin-1"))
    assert (tmp_path / "t.rtf").stat().st_size > 3_000_000
    started = time.perf_counter()
    cp = extract(tmp_path / "t.rtf")
    assert time.perf_counter() - started < 5
    text = "\n".join(s["heading"] + "\n" + s["text"] for d in cp["documents"] for s in d["sections"])
    assert "𠀀" in text and "䶮" in text and "89504e47" not in text and "\ufffd" not in text and "zz" not in text
    assert re.search(r"机关工会\s+120\s+36\.5", text), text
    assert [s["heading"] for d in cp["documents"] for s in d["sections"] if s["heading"]] == ["一、帮扶情况",
                                                                                            "二、下一步打算"]


def test_word_files_that_are_rtf_and_rtf_files_that_are_word(tmp_path):
    """Word saves RTF under .doc (and 范文 sites serve it so); a file named .rtf may be a .docx: each is read as what
    its bytes are."""
    gold = GOLD["dev05"]
    make_rtf(gold, tmp_path / "download.doc")
    make_docx(gold, tmp_path / "named.rtf")
    for name in ("download.doc", "named.rtf"):
        cp = extract(tmp_path / name)
        assert scores([(cp["documents"], gold)]) >= (0.98, 0.95), name


def test_damaged_rtf_files_give_a_reason(tmp_path):
    good = make_rtf(GOLD["dev01"], tmp_path / "good.rtf").read_bytes()
    files = {"zero.rtf": (b"", "empty"), "noise.rtf": (b"\x01\x02 not rtf at all" * 50, "corrupt"),
             "nothing.rtf": (b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\par\\par}", "no_text"),
             "huge-u.rtf": (b"{\\rtf1\\ansi \\u9999999999 x\\par}", "corrupt")}
    for name, (data, reason) in files.items():
        (tmp_path / name).write_bytes(data)
        assert reason_of(tmp_path / name) == reason, name
    assert reason_of(tmp_path / "good.rtf", max_bytes=1000) == "too_large"
    (tmp_path / "cut.rtf").write_bytes(good[: len(good) // 2])  # unbalanced braces: the half that is there
    cut = extract(tmp_path / "cut.rtf")
    assert cut["documents"] and "坚持民主管理" in json.dumps(cut, ensure_ascii=False)
    words = "全年走访慰问困难职工三百二十户，发放慰问金八十万元。"
    deep = b"{\\rtf1\\ansi\\ansicpg936 " + b"{" * 200_000 + rtf_escape(words).encode() + b"}" * 5 + b"\\par"
    (tmp_path / "deep.rtf").write_bytes(deep)  # deep nesting and no end: no recursion error, the text is read
    assert words in json.dumps(extract(tmp_path / "deep.rtf"), ensure_ascii=False)


def test_rtf_files_are_pages_and_index(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    make_rtf(GOLD["dev06"], src / "report.rtf", "uc2")
    assert [p.name for p in iter_pages(src)] == ["report.rtf"]
    result = process_file(str(src / "report.rtf"), str(src), make_config(tmp_path, src))
    assert result.error is None and len(result.records) == len(GOLD["dev06"]["documents"][0]["sections"])
    assert result.records[0].url is None and result.records[0].source == "report.rtf"


SAMPLE = ("{\\rtf1\\ansi\\ansicpg936\\uc2{\\fonttbl{\\f0\\fcharset134 SimSun;}}"
          "{\\stylesheet{\\s1\\outlinelevel0 heading 1;}}"
          "{\\info{\\title " + rtf_escape("工作总结") + "}{\\creatim\\yr2023\\mo5\\dy1}}\r\n"
          "\\pard\\s1 " + rtf_escape("一、加强组织建设", "uc2") + "\\par\r\n"
          "\\pard " + rtf_escape("全年新建基层工会十二个，发展会员一千二百人。") + "\\par"
          "{\\pict\\bin4 \x00}{}\\'\r\n\\cell\\row}").encode("latin-1")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE)), st.integers(0, 6), st.binary(max_size=6)), max_size=6))
def test_damaged_rtf_never_raises_anything_but_a_load_error(tmp_path, edits):
    """A small RTF cut, spliced and overwritten at random (braces, escapes, \\bin, \\uc, code page): loading gives
    a page or a LoadError, and cleaning a page gives documents or a CleanError, nothing else."""
    data = SAMPLE
    for at, cut, insert in edits:
        data = data[:at] + insert + data[at + cut:]
    path = tmp_path / "fuzz.rtf"
    path.write_bytes(data)
    try:
        page = load_page(path, tmp_path)
    except LoadError as e:
        assert e.reason and "\n" not in str(e)
        return
    if not edits:  # the sample itself reads: heading, text and title
        assert "<h2>一、加强组织建设</h2>" in page.text and "<title>工作总结</title>" in page.text, page.text
    try:
        clean_page(page)
    except CleanError:
        pass
