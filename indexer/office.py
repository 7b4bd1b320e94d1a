"""Word, WPS, RTF and PDF files → simple HTML that the cleaner already understands.

    office_kind(path) -> "docx" | "pdf" | "doc" | "rtf" | None
    convert(kind, data, path) -> str   (an HTML page: <title>, <meta name=date>, <h1>–<h4> and <p> per paragraph,
                                        marked with clean.WHOLE_DOCUMENT so the whole body is the content)

* ``.docx``: python-docx. Headings from paragraph styles (Title/标题 → h1, Heading N/标题 N or an outline level →
  h(N+1)), Word's automatic numbering written out (一、/（一）/1.), tables as one line per row, tables of contents,
  headers and footers dropped; the core properties give title and date when they look real.
* ``.pdf``: poppler's ``pdftotext -bbox-layout`` (pdfminer.six in a child process when poppler is missing). Running
  headers/footers (repeated, or set smaller than the text, in a page's top or bottom tenth) and page numbers are
  dropped; lines broken by the layout are joined (see ``pdf_paragraphs``); larger lines are headings. No text
  layer (a scan) → ``no_text_layer``.
* ``.doc``/``.wps``: Debian's ``antiword``, then ``catdoc``; neither installed → ``converter_missing``. Title and
  date from the file's SummaryInformation (olefile).
* ``.rtf`` (and Word files that are RTF inside): striprtf, after three repairs of the source (see ``rtf_blocks``);
  heading styles and outline levels become headings, \\info gives title and date. Measured against unrtf and catdoc
  on the gold pages written as Chinese RTF: see README ("Word and PDF files").
Every outside converter runs with a time limit (``CONVERTER_SECONDS``). Failures raise ``LoadError``.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import shutil
import statistics
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import olefile

from indexer.clean import WHOLE_DOCUMENT
from indexer.load import OFFICE_SUFFIXES, LoadError

__all__ = ["CONVERTER_SECONDS", "convert", "office_kind"]

CONVERTER_SECONDS = 30.0  # per file: a hostile file must not hang indexing
MAX_UNZIPPED = 200_000_000  # a .docx that inflates past this is a zip bomb
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SENT_END = "。！？；：”…!?;:"
_PAGE_NO = re.compile(r"^[-—–_\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:[/／]|共|of)\s*\d{1,4}\s*页?)?[-—–_\s]*$"
                      r"|^(?:page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$", re.I)
_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_ENCRYPTED = re.compile(r"(?i)\bencrypt|password")
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


@dataclass
class Block:
    """One paragraph of a converted file: ``level`` 0 for text, 1 for the title, 2–4 for headings."""

    text: str
    level: int = 0


def office_kind(path: str | Path) -> str | None:
    return OFFICE_SUFFIXES.get(Path(str(path)).suffix.lower())


def convert(kind: str, data: bytes, path: Path) -> str:
    """An office file's bytes as an HTML page. Raises LoadError with a reason."""
    if kind == "docx":
        if data.startswith(OLE_MAGIC):
            if "EncryptedPackage".encode("utf-16-le") in data:
                raise LoadError("encrypted", "password-protected Word file")
            return convert("doc", data, path)  # a Word 97 file named .docx
        _check_zip(data)
        blocks, title, date = docx_blocks(data)
    elif kind == "pdf":
        blocks, title, date = pdf_blocks(data, path)
    elif kind == "rtf":
        blocks, title, date = rtf_blocks(data)
    else:
        blocks = doc_blocks(data, path)
        title, date = ole_properties(data, blocks)
    if not any(b.text.strip() for b in blocks):
        raise LoadError("no_text", f"the {kind} file holds no text")
    return to_html(blocks, title, date)


def to_html(blocks: list[Block], title: str = "", date: str | None = None) -> str:
    head = f'<meta name="generator" content="{WHOLE_DOCUMENT}">'
    head += f"<title>{html.escape(title)}</title>" if title else ""
    if date:
        head += f'<meta name="date" content="{html.escape(date)}">'
    body = []
    for b in blocks:
        tag = f"h{b.level}" if b.level else "p"
        body.append(f"<{tag}>{html.escape(b.text)}</{tag}>")
    return f'<html><head><meta charset="utf-8">{head}</head><body><div>{"".join(body)}</div></body></html>'


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if "word/document.xml" not in names:
                raise LoadError("corrupt", "not a Word document (no word/document.xml)")
            if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED:
                raise LoadError("too_large", "the document inflates past the size limit")
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as e:
        raise LoadError("corrupt", f"damaged Word file ({type(e).__name__})") from None


# ----------------------------------------------------------------------------- .docx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_TITLE_STYLE = re.compile(r"^(?:title|标题)$", re.I)
_SKIP_STYLE = re.compile(r"^(?:toc|目录)\s*\d*$|^toc heading$|^(?:header|footer|页眉|页脚)$", re.I)
_JUNK_TITLE = re.compile(r"(?i)microsoft|untitled|^(?:文档|document|新建|doc)\s*\d*$|\.(?:docx?|wps)$")
_DATE_IN_TEXT = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
CN_DIGITS = "零一二三四五六七八九"


def docx_blocks(data: bytes) -> tuple[list[Block], str, str | None]:
    """Paragraphs and table rows of the body in order (headers, footers, tables of contents left out); the
    core properties' title, and their creation date when the text itself names no date."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        doc = Document(io.BytesIO(data))
        numbering = _Numbering(doc)
        blocks: list[Block] = []
        for el in _body_elements(doc.element.body):
            if el.tag == W + "p":
                b = _para_block(Paragraph(el, doc), numbering)
                if b:
                    blocks.append(b)
            elif el.tag == W + "tbl":
                blocks += [Block(row) for row in _table_rows(Table(el, doc))]
        title, date = _core(doc, blocks)
    except LoadError:
        raise
    except Exception as e:  # python-docx on a damaged package: any error means the same to the index
        raise LoadError("corrupt", f"damaged Word file ({type(e).__name__})") from None
    return blocks, title, date


def _body_elements(body):
    for el in body.iterchildren():
        if el.tag == W + "sdt":  # content controls (a cover page, a table of contents)
            content = el.find(W + "sdtContent")
            if content is not None:
                yield from _body_elements(content)
        else:
            yield el


def _para_block(p, numbering: _Numbering) -> Block | None:
    text = re.sub(r"[ \t\u3000]+", " ", p.text.replace("\n", " ")).strip()
    if not text:
        return None
    style = p.style
    names = []
    for _ in range(5):  # a custom style based on Heading 1 is a heading too
        if style is None:
            break
        names.append((style.name or "").strip())
        style = style.base_style
    if names and _SKIP_STYLE.match(names[0]):
        return None
    label = numbering.label(p)
    if label and not text.startswith(label.strip()):
        text = label + text
    for name in names:
        if _TITLE_STYLE.match(name):
            return Block(text, 1)
        m = _HEADING_STYLE.match(name)
        if m:
            return Block(text, min(int(m.group(1)), 3) + 1)
    outline = _outline_level(p)
    return Block(text, min(outline, 2) + 2 if outline is not None else 0)


def _outline_level(p) -> int | None:
    for el in (p._p, getattr(p.style, "element", None)):
        node = el.find(f"{W}pPr/{W}outlineLvl") if el is not None else None
        if node is not None and (node.get(W + "val") or "").isdigit():
            level = int(node.get(W + "val"))
            return level if level < 9 else None  # 9 is "body text"
    return None


def _table_rows(table) -> list[str]:
    rows = []
    for tr in table._tbl.iter(W + "tr"):
        cells: list[str] = []
        for tc in tr.findall(W + "tc"):
            text = re.sub(r"\s+", " ", "".join(t.text or "" for t in tc.iter(W + "t"))).strip()
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append("  ".join(cells))
    return rows


def _core(doc, blocks: list[Block]) -> tuple[str, str | None]:
    cp = doc.core_properties
    return file_title(cp.title), file_date(cp.created or cp.modified, blocks)


def file_title(title: str | None) -> str:
    """A title from a file's properties, or "" when it is a program's default (文档1, Microsoft Word - …)."""
    title = re.sub(r"\s+", " ", title or "").strip()
    return "" if len(title) < 2 or len(title) > 120 or _JUNK_TITLE.search(title) else title


def file_date(when: dt.datetime | dt.date | None, blocks: list[Block]) -> str | None:
    """A file's creation date, when sensible and the text itself names no date at its start or end."""
    if when is None or not 1990 <= when.year <= 2100 \
            or any(_DATE_IN_TEXT.search(b.text) for b in blocks[:3] + blocks[-8:]):
        return None
    return (when.date() if isinstance(when, dt.datetime) else when).isoformat()


def _val(el, name: str) -> str | None:
    node = el.find(W + name)
    return node.get(W + "val") if node is not None else None


class _Numbering:
    """Word's automatic list numbers (一、 （一） 1. ①) as the reader sees them; they are not in the paragraph
    text. Counters run per list (numId); a level's counter restarts when a higher level moves on."""

    def __init__(self, doc):
        self.lists: dict[str, dict[int, tuple[str, str, int]]] = {}
        self.counts: dict[str, list[int]] = {}
        try:
            root = doc.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract = {}
        for a in root.findall(W + "abstractNum"):
            levels = {}
            for lvl in a.findall(W + "lvl"):
                start = _val(lvl, "start") or "1"
                levels[int(lvl.get(W + "ilvl") or 0)] = (_val(lvl, "numFmt") or "decimal", _val(lvl, "lvlText") or "",
                                                          int(start) if start.isdigit() else 1)
            abstract[a.get(W + "abstractNumId")] = levels
        for n in root.findall(W + "num"):
            self.lists[n.get(W + "numId") or ""] = abstract.get(_val(n, "abstractNumId"), {})

    def label(self, p) -> str:
        num = None
        for el in (p._p, getattr(p.style, "element", None)):
            num = el.find(f"{W}pPr/{W}numPr") if el is not None else None
            if num is not None:
                break
        if num is None or not self.lists:
            return ""
        num_id, ilvl = _val(num, "numId") or "", _val(num, "ilvl") or "0"
        levels = self.lists.get(num_id)
        level = int(ilvl) if ilvl.isdigit() else 0
        if not levels or level not in levels:
            return ""
        counts = self.counts.setdefault(num_id, [0] * 10)
        counts[level] = counts[level] + 1 if counts[level] else levels[level][2]
        for deeper in range(level + 1, len(counts)):
            counts[deeper] = 0
        fmt, text, _ = levels[level]
        if fmt in ("bullet", "none"):
            return ""

        def number(m: re.Match) -> str:
            k = int(m.group(1)) - 1
            f, _, start = levels.get(k, (fmt, "", 1))
            return format_number(counts[k] or start, f)

        return re.sub(r"%([1-9])", number, text)


def format_number(n: int, fmt: str) -> str:
    """A list number in one of Word's formats (chineseCounting → 十二, decimalEnclosedCircle → ⑫ …)."""
    if fmt.startswith(("chinese", "ideographDigital", "taiwanese")) and 0 <= n < 100:
        if n < 10:
            return CN_DIGITS[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else CN_DIGITS[tens % 10]) + "十" + (CN_DIGITS[ones] if ones else "")
    if fmt.startswith("decimalEnclosedCircle") and 1 <= n <= 20:
        return chr(0x245F + n)
    if fmt == "ideographTraditional" and 1 <= n <= 10:
        return "甲乙丙丁戊己庚辛壬癸"[n - 1]
    if fmt in ("upperLetter", "lowerLetter"):
        letter = chr(ord("A") + (n - 1) % 26)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt in ("upperRoman", "lowerRoman"):
        roman = _roman(n)
        return roman if fmt == "upperRoman" else roman.lower()
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                       (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + sym, n - value
    return out


# ----------------------------------------------------------------------------- converters

def run_converter(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run an outside converter with a time limit; its output decoded as UTF-8."""
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout or CONVERTER_SECONDS,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise LoadError("timeout", f"{Path(args[0]).name} took over {timeout or CONVERTER_SECONDS:.0f} s") from None
    except OSError as e:
        raise LoadError("converter_failed", f"cannot run {args[0]}: {e.strerror or e}") from None


def doc_blocks(data: bytes, path: Path) -> list[Block]:
    """Word 97–2003 / WPS through antiword, else catdoc."""
    if not data.startswith(OLE_MAGIC):
        raise LoadError("corrupt", "not a Word 97–2003 or WPS file")
    tools = [t for t in (shutil.which("antiword"), shutil.which("catdoc")) if t]
    if not tools:
        raise LoadError("converter_missing", "install antiword")
    reasons = []
    for tool in tools:
        args = ([tool, "-m", "UTF-8.txt", "-w", "0", str(path)] if tool.endswith("antiword")
                else [tool, "-d", "utf-8", "-w", str(path)])
        proc = run_converter(args)
        out = proc.stdout.decode("utf-8", errors="replace")
        err = proc.stderr.decode("utf-8", errors="replace").replace(str(path), path.name)
        if proc.returncode == 0 and out.strip():
            return [Block(p) for p in _text_paragraphs(out)]
        if _ENCRYPTED.search(err):
            raise LoadError("encrypted", "password-protected Word file")
        reasons.append(f"{Path(tool).name}: {err.strip().splitlines()[-1][:80] if err.strip() else 'no text'}")
    raise LoadError("corrupt", "; ".join(reasons))


def ole_properties(data: bytes, blocks: list[Block]) -> tuple[str, str | None]:
    """Title and creation date from a Word 97–2003/WPS file's SummaryInformation (olefile), as for .docx: the
    converters print only the text. Strings there are in the file's code page (936 GBK, 65001 UTF-8 …)."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            meta = ole.get_metadata()
    except Exception:  # noqa: BLE001 — a damaged property stream only costs the title; the text was read
        return "", None
    raw = meta.title or b""
    if isinstance(raw, str):
        title = raw
    else:
        codepage = (meta.codepage or 0) & 0xFFFF  # stored signed: 65001 reads as -535
        try:
            title = raw.decode(f"cp{codepage}" if codepage else "gbk", errors="replace")
        except LookupError:
            title = raw.decode("gbk", errors="replace")
    return file_title(title.rstrip("\x00")), file_date(meta.create_time or meta.last_saved_time, blocks)


def _text_paragraphs(text: str) -> list[str]:
    out = []
    for line in text.replace("\r", "\n").split("\n"):
        s = _CJK_GAP.sub("", line.replace("\u3000", " ").strip()).replace("|", " ").strip()
        if s and not _PAGE_NO.match(s):
            out.append(re.sub(r"\s{2,}", "  ", s))
    return out


# ----------------------------------------------------------------------------- PDF

@dataclass
class PdfLine:
    x0: float
    top: float
    x1: float
    bottom: float
    text: str

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class PdfPage:
    width: float
    height: float
    lines: list[PdfLine]


_PDFMINER = """
import json, sys
from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTTextLineHorizontal
def lines(el):
    for child in el:
        if isinstance(child, LTTextLineHorizontal):
            yield child
        elif hasattr(child, "__iter__"):
            yield from lines(child)
try:
    out = {"title": "", "date": "", "pages": []}
    for page in extract_pages(sys.argv[1], laparams=LAParams(), maxpages=2000):
        h = page.height
        out["pages"].append([page.width, h, [[ln.x0, h - ln.y1, ln.x1, h - ln.y0, ln.get_text().strip()]
                                              for ln in lines(page) if ln.get_text().strip()]])
    json.dump(out, sys.stdout, ensure_ascii=False)
except Exception as e:
    name = type(e).__name__
    sys.stderr.write(("encrypted " if "Password" in name or "Encrypt" in name else "") + name + ": " + str(e)[:80])
    sys.exit(1)
"""


def pdf_pages(path: Path) -> tuple[list[PdfPage], str, str]:
    """The PDF's text lines with their boxes (poppler's ``pdftotext -bbox-layout``, else pdfminer.six in a child
    process), its info title and creation date."""
    tool = shutil.which("pdftotext")
    args = ([tool, "-bbox-layout", "-enc", "UTF-8", str(path), "-"] if tool
            else [sys.executable, "-c", _PDFMINER, str(path)])
    proc = run_converter(args)
    err = proc.stderr.decode("utf-8", errors="replace").replace(str(path), path.name)
    if proc.returncode != 0:
        if _ENCRYPTED.search(err):
            raise LoadError("encrypted", "password-protected PDF")
        last = err.strip().splitlines()[-1][:80] if err.strip() else f"exit {proc.returncode}"
        raise LoadError("corrupt", f"damaged PDF ({last})")
    if not tool:
        raw = json.loads(proc.stdout.decode("utf-8", errors="replace"))
        pages = [PdfPage(w, h, [PdfLine(*ln) for ln in lines]) for w, h, lines in raw["pages"]]
        return pages, raw["title"], raw["date"]
    return _bbox_pages(proc.stdout)


def _bbox_pages(xhtml: bytes) -> tuple[list[PdfPage], str, str]:
    import lxml.etree as etree

    try:
        root = etree.fromstring(xhtml, etree.XMLParser(recover=True, huge_tree=True, resolve_entities=False))
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return [], "", ""
    ns = "{http://www.w3.org/1999/xhtml}"
    title = "".join(root.findtext(f"{ns}head/{ns}title") or "").strip()
    date = next((m.get("content") or "" for m in root.iter(f"{ns}meta") if m.get("name") == "CreationDate"), "")
    pages = []
    for page in root.iter(f"{ns}page"):
        lines = []
        for ln in page.iter(f"{ns}line"):
            words = [w.text or "" for w in ln.iter(f"{ns}word")]
            text = ""
            for w in words:
                text += (" " if text and not (_is_cjk(text[-1]) and _is_cjk(w[:1])) else "") + w
            if text.strip():
                box = [float(ln.get(k) or 0) for k in ("xMin", "yMin", "xMax", "yMax")]
                lines.append(PdfLine(box[0], box[1], box[2], box[3], text.strip()))
        pages.append(PdfPage(float(page.get("width") or 0), float(page.get("height") or 0), _same_row(lines)))
    return pages, title, date


def _same_row(lines: list[PdfLine]) -> list[PdfLine]:
    """Pieces of one printed line (split at a gap, a missing glyph or a table's columns) made one line again."""
    out: list[PdfLine] = []
    for ln in lines:
        prev = out[-1] if out else None
        if prev and abs(ln.top - prev.top) < 0.3 * prev.height and ln.x0 >= prev.x1 - 1:
            gap = "" if ln.x0 - prev.x1 < prev.height else "  "
            out[-1] = PdfLine(prev.x0, min(prev.top, ln.top), ln.x1, max(prev.bottom, ln.bottom),
                              prev.text + gap + ln.text)
        else:
            out.append(ln)
    return out


def _is_cjk(ch: str) -> bool:
    return bool(ch) and (ch > "\u2e7f")


def pdf_blocks(data: bytes, path: Path) -> tuple[list[Block], str, str | None]:
    if b"%PDF-" not in data[:1024]:
        raise LoadError("corrupt", "not a PDF file")
    pages, title, created = pdf_pages(path)
    chars = sum(len(re.sub(r"\s", "", ln.text)) for p in pages for ln in p.lines)
    if chars < 10:
        if not pages:
            raise LoadError("corrupt", "damaged PDF (no pages)")
        raise LoadError("no_text_layer", "the PDF has no text layer (a scan?); OCR is not done")
    body_h = statistics.median(ln.height for p in pages for ln in p.lines)
    lines = [ln for p in drop_running_lines(pages, body_h) for ln in p.lines]
    blocks = pdf_paragraphs(lines, body_h)
    title = "" if _JUNK_TITLE.search(title) or len(title) < 2 else title
    date = created[:10] if re.match(r"(?:19|20)\d\d-\d\d-\d\d", created) else None
    if date and (date > dt.date.today().isoformat() or any(_DATE_IN_TEXT.search(b.text) for b in blocks)):
        date = None
    return blocks, title, date


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def drop_running_lines(pages: list[PdfPage], body_h: float, edge: float = 0.1) -> list[PdfPage]:
    """Drop lines in a page's top or bottom margin band that are page numbers, set smaller than the body text,
    or repeat (digits aside) on most pages."""
    def in_band(page: PdfPage, ln: PdfLine) -> bool:
        return ln.bottom <= page.height * edge or ln.top >= page.height * (1 - edge)

    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({_edge_key(ln.text) for ln in page.lines if in_band(page, ln)})
    common = {k for k, n in seen.items() if len(pages) >= 2 and n >= max(2, 0.6 * len(pages))}
    out = []
    for page in pages:
        keep = [ln for ln in page.lines if not in_band(page, ln) or not (
            _PAGE_NO.match(ln.text.strip()) or _edge_key(ln.text) in common or ln.height < 0.9 * body_h)]
        out.append(PdfPage(page.width, page.height, keep))
    return out


def pdf_paragraphs(lines: list[PdfLine], body_h: float) -> list[Block]:
    """Join lines the layout broke. A line continues the paragraph when the line before reaches the right margin,
    this one is not indented, sits close below it and has the same size; in a file without first-line indents, a
    line ending a sentence (。！？；：”) also ends its paragraph. Larger lines are headings (the first the title)."""
    if not lines:
        return []
    left = Counter(round(ln.x0) for ln in lines).most_common(1)[0][0]
    rights = sorted(ln.x1 for ln in lines)
    right = rights[int(0.9 * (len(rights) - 1))]
    indented = sum(1 for ln in lines if body_h * 0.8 <= ln.x0 - left <= body_h * 4)
    uses_indents = indented >= max(2, len(lines) // 15)
    out: list[Block] = []
    prev: PdfLine | None = None
    for ln in lines:
        text = _CJK_GAP.sub("", ln.text)
        big = ln.height >= 1.15 * body_h
        joins = prev is not None and prev.x1 >= right - 1.5 * body_h and ln.x0 - left < 0.8 * body_h \
            and abs(ln.height - prev.height) < 0.15 * body_h \
            and (ln.top < prev.top or ln.top - prev.bottom < 0.8 * body_h) \
            and (uses_indents or not prev.text.endswith(tuple(SENT_END)))
        if joins and out:
            sep = " " if re.match(r"[A-Za-z0-9]", text) and re.search(r"[A-Za-z0-9,.]$", out[-1].text) else ""
            out[-1].text += sep + text
        else:
            out.append(Block(text, (3 if any(b.level for b in out) else 1) if big else 0))
        prev = ln
    for b in out:
        b.text = re.sub(r"\s{2,}", "  ", b.text)
    return out


# ----------------------------------------------------------------------------- .rtf

RTF_MAGIC = b"{\\rtf"
_RTF_BIN = re.compile(rb"\\bin(\d{1,9}) ?")
_RTF_RAW_HIGH = re.compile(rb"[\x80-\xff]")
_RTF_WORD_BREAK = re.compile(r"(?<!\\)(\\[a-zA-Z]{1,32}-?\d{0,10})[\r\n]+")
_RTF_BREAK = re.compile(r"(?<!\\)[\r\n]+")
_RTF_BLOB = re.compile(r"[0-9a-fA-F\r\n]{256,}")  # picture and object data: never text
_RTF_CODEPAGE = re.compile(r"\\ansicpg(\d{1,5})")
_RTF_STYLE = re.compile(r"\{((?:\\[^{}]|[^\\{}])*?\\s(\d{1,4})(?![0-9])(?:\\[^{}]|[^\\{}])*);\}")
_RTF_PARA_STYLE = re.compile(r"(?<!\\)\\(s|outlinelevel)(\d{1,4})(?![0-9]) ?")
_RTF_HEX = re.compile(r"\\'([0-9a-fA-F]{2})")
_HEADING_MARK = 0xE000  # U+E001–U+E004 (private use) carry a heading paragraph's level through striprtf


def rtf_blocks(data: bytes) -> tuple[list[Block], str, str | None]:
    """RTF → paragraphs, through striprtf (which honours \\ansicpg, font charsets, \\uN and \\ucN, and leaves out
    headers, footers, fields' instructions and pictures) after three repairs of the source: binary and hex picture
    data go, raw 8-bit bytes (WPS writes GBK bytes unescaped) are escaped, and line breaks are closed up (Word
    breaks its lines anywhere, between the two \\'xx bytes of a Chinese character too, and striprtf would decode
    each half alone). Paragraphs in a heading style (Title, heading N, 标题 N) or with an outline level become
    headings, marked through striprtf by a private-use character."""
    if not data.lstrip()[:5].startswith(RTF_MAGIC):
        raise LoadError("corrupt", "not an RTF file")
    from striprtf.striprtf import rtf_to_text

    text = _rtf_source(data)
    m = _RTF_CODEPAGE.search(text[:4096])
    uc = re.search(r"\\uc(\d)(?![0-9])", text[:4096])
    codec = (f"cp{m.group(1)}" if m else _rtf_default_codec(text), uc.group() if uc else "")
    levels = _rtf_style_levels(text, codec)
    try:
        plain = rtf_to_text(_mark_headings(_font_charsets(text), levels), encoding=codec[0], errors="replace")
    except Exception as e:  # striprtf on a damaged file (an unknown code page, a \\u out of range)
        raise LoadError("corrupt", f"damaged RTF file ({type(e).__name__})") from None
    # striprtf turns each half of a \\uN surrogate pair (a character beyond U+FFFF) into a character of its own
    plain = plain.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    blocks: list[Block] = []
    for line in plain.split("\n"):
        marks = [ord(c) - _HEADING_MARK for c in line if _HEADING_MARK < ord(c) <= _HEADING_MARK + 4]
        line = "".join(c for c in line if not _HEADING_MARK < ord(c) <= _HEADING_MARK + 4)
        blocks += [Block(p, min(marks) if marks else 0) for p in _text_paragraphs(line)]
    title, when = _rtf_info(text, codec)
    return blocks, file_title(title), file_date(when, blocks)


def _rtf_source(data: bytes) -> str:
    """The RTF as text: \\binN data cut out, raw 8-bit bytes escaped as \\'xx, hex picture data and line breaks
    dropped."""
    parts, pos = [], 0
    while (m := _RTF_BIN.search(data, pos)) is not None:
        parts.append(data[pos:m.start()])
        pos = m.end() + int(m.group(1))
    data = b"".join(parts) + data[pos:] if parts else data
    if _RTF_RAW_HIGH.search(data):
        data = _RTF_RAW_HIGH.sub(lambda b: b"\\'%02x" % b.group()[0], data)
    text = _RTF_BLOB.sub("", data.decode("latin-1"))
    # A line break is nothing in RTF, except that it ends a control word (a space does the same) and that "\\"
    # before it means \\par; removing the others joins what writers split (a title's group, a character's bytes).
    return _RTF_BREAK.sub("", _RTF_WORD_BREAK.sub(r"\1 ", text))


def _font_charsets(text: str) -> str:
    """Give a font that names no charset \\fcharset1 ("default": the file's code page). striprtf would take the
    next font's charset for it (a Chinese font written without one would read as Windows-1252)."""
    m = re.search(r"\{\\fonttbl\b", text[:100_000])
    if not m:
        return text
    table = _group(text, m.start())

    def charset(f: re.Match) -> str:
        return f.group() if "\\fcharset" in f.group(2) else f"\\f{f.group(1)}\\fcharset1{f.group(2)}"

    return text[:m.start()] + re.sub(r"\\f(\d{1,5})(?![0-9])([^;]*;)", charset, table) + text[m.start() + len(table):]


def _rtf_default_codec(text: str) -> str:
    """For a file that names no code page: GB18030 when its \\'xx bytes read as Chinese, else Windows-1252."""
    from indexer.load import _reads_as_chinese

    sample = bytes(int(h, 16) for h in _RTF_HEX.findall(text, 0, 400_000))
    return "gb18030" if sample and _reads_as_chinese(sample) else "cp1252"


def _rtf_fragment(fragment: str, codec: tuple[str, str]) -> str:
    """A piece of the file's header (a style name, the title) as text: the file's code page and its \\ucN."""
    from striprtf.striprtf import rtf_to_text

    try:
        text = rtf_to_text("{\\rtf1\\ansi" + codec[1] + " " + fragment + "}", encoding=codec[0], errors="replace")
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").strip()
    except Exception:  # a damaged style name or title: the file's text may still be fine
        return ""


def _group(text: str, start: int) -> str:
    """The group that opens at ``text[start]`` ("{"), up to its closing brace (or the end of the text)."""
    depth = 0
    for m in re.finditer(r"\\.|[{}]", text[start:start + 1_000_000]):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth -= 1
            if depth == 0:
                return text[start:start + m.end()]
    return text[start:start + 1_000_000]


def _rtf_style_levels(text: str, codec: tuple[str, str]) -> dict[str, int]:
    """Paragraph style number → heading level (1 Title, 2–4 heading 1–3 or outline level 0–2), from the style
    sheet; a style name may list aliases ("heading 1,标题 1")."""
    m = re.search(r"\{\\stylesheet\b", text[:200_000])
    levels: dict[str, int] = {}
    for entry in _RTF_STYLE.finditer(_group(text, m.start()) if m else ""):
        body, number = entry.group(1), entry.group(2)
        names = [n.strip() for n in _rtf_fragment(body, codec).split(",")]
        outline = re.search(r"\\outlinelevel(\d)", body)
        for name in names:
            h = _HEADING_STYLE.match(name)
            if _TITLE_STYLE.match(name) or h:
                levels[number] = 1 if not h else min(int(h.group(1)), 3) + 1
                break
        else:
            if outline and int(outline.group(1)) < 9:
                levels[number] = min(int(outline.group(1)), 2) + 2
    return levels


def _mark_headings(text: str, levels: dict[str, int]) -> str:
    """Put a private-use character carrying the level at the start of every heading paragraph (after its style
    or outline-level control word), inside a group of its own so that \\ucN around it does not change."""
    m = re.search(r"\{\\stylesheet\b", text[:200_000])
    start = m.start() + len(_group(text, m.start())) if m else 0

    def mark(w: re.Match) -> str:
        word, n = w.group(1), w.group(2)
        level = levels.get(n) if word == "s" else (min(int(n), 2) + 2 if int(n) < 9 else None)
        if not level:
            return w.group()
        return f"\\{word}{n} {{\\uc1\\u{_HEADING_MARK + level - 0x10000}?}}"

    return text[:start] + _RTF_PARA_STYLE.sub(mark, text[start:])


def _rtf_info(text: str, codec: tuple[str, str]) -> tuple[str, dt.date | None]:
    """The title and creation date in the file's \\info group."""
    m = re.search(r"\{\\info\b", text[:1_000_000])
    info = _group(text, m.start()) if m else ""
    t = re.search(r"\{\\title\b ?((?:\\.|[^\\{}])*)\}", info)
    title = _rtf_fragment(t.group(1), codec) if t else ""
    created = re.search(r"\{\\creatim\b([^{}]*)\}", info)
    stamp = created.group(1) if created else ""
    parts = [re.search(rf"\\{w}(\d{{1,4}})(?![0-9])", stamp) for w in ("yr", "mo", "dy")]
    try:
        when = dt.date(*(int(p.group(1)) for p in parts if p)) if all(parts) else None
    except ValueError:  # a month 13 or a day 0
        when = None
    return title, when
