"""Bytes → text: read a saved page, find its encoding, and note where it came from.

Order of trust (Chinese-first): BOM → strict UTF-8 → the declared charset (gb2312/gbk widened to
gb18030, since pages labelled gb2312 often hold GBK-only characters) → charset-normalizer's guess.
Double-byte CJK codecs decode each other's bytes without an error (Big5 bytes read as GBK, GB bytes read as
EUC-JIS), so when several candidates decode cleanly, the one whose text reads most like Chinese wins: the
share of its Han characters that are (after traditional → simplified) among the 3,755 common characters of
GB 2312 level 1 — over 90 % for real Chinese text, about a quarter for mojibake.
A page that decodes only with many replacement characters is refused rather than indexed as mojibake.
"""

from __future__ import annotations

import codecs
import email
import functools
import os
import re
import stat
from email import policy
from pathlib import Path

from opencc import OpenCC

from indexer.model import LoadedPage

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
MHTML_SUFFIXES = (".mhtml", ".mht")
TEXT_SUFFIXES = (".txt",)
# Word, WPS, RTF and PDF files: converted to HTML by indexer/office.py
OFFICE_SUFFIXES = {".docx": "docx", ".pdf": "pdf", ".doc": "doc", ".wps": "doc", ".rtf": "rtf"}
OFFICE_KINDS = frozenset(OFFICE_SUFFIXES.values())
PAGE_SUFFIXES = HTML_SUFFIXES + MHTML_SUFFIXES + TEXT_SUFFIXES + tuple(OFFICE_SUFFIXES)
# What `unionsearch stats` counts pages by: the file's type as its name says (a .wps is not a .doc to its owner).
FILE_TYPES = {**dict.fromkeys(HTML_SUFFIXES, "html"), **dict.fromkeys(MHTML_SUFFIXES, "mhtml"), ".txt": "text",
              ".docx": "docx", ".doc": "doc", ".wps": "wps", ".pdf": "pdf", ".rtf": "rtf"}

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_XML_DECL = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-]+)""", re.I)
_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)\s*(\S+?)\s*-->", re.I)
# CleanEval-style dumps start with <text id="URL" title=… encoding=…> before <html>.
_CLEANEVAL_URL = re.compile(r"""^\s*<text\b[^>]*\bid\s*=\s*["']?(https?://[^"'\s>]+)""", re.I)
# Labels that real Chinese pages use loosely; all decode as the GB18030 superset.
_WIDEN = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
          "cp936": "gb18030", "euc-cn": "gb18030", "big5": "big5hkscs"}
MAX_REPLACED_SHARE = 0.01
_HIGH_BYTES = bytes(range(0x80, 0x100))
_HAN = re.compile(r"[\u4e00-\u9fff]")


class LoadError(Exception):
    """A page that cannot be indexed; ``reason`` is a short code, the message one line for humans."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def page_kind(path: str | Path) -> str | None:
    """'html', 'mhtml', 'text', or 'docx'/'pdf'/'doc'/'rtf' (Word, WPS, RTF, PDF files) by file suffix; None for
    files that are not pages."""
    name = str(path).lower()
    office = OFFICE_SUFFIXES.get(os.path.splitext(name)[1])
    if office:
        return office
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(MHTML_SUFFIXES):
        return "mhtml"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    return None


def file_type(path: str | Path) -> str:
    """"html", "mhtml", "text", "docx", "doc", "wps", "pdf" or "rtf" by the file's suffix; "other" otherwise."""
    return FILE_TYPES.get(os.path.splitext(str(path).lower())[1], "other")


def normalise_codec(label: str) -> str | None:
    label = label.strip().lower()
    label = _WIDEN.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, TypeError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.startswith(("utf-16", "utf-32", "utf-7")):
        return None  # "hex", "rot13", … are not page encodings; a <meta> saying utf-16 is wrong (WHATWG)
    return info.name


def declared_charset(head: bytes) -> str | None:
    for pattern in (_DECLARED, _XML_DECL):
        m = pattern.search(head)
        if m:
            codec = normalise_codec(m.group(1).decode("ascii", "ignore"))
            if codec:
                return _WIDEN.get(codec, codec)
    return None


def decode_bytes(data: bytes, kind: str = "html") -> tuple[str, str, int]:
    """Return (text, codec, replaced characters). Never raises on odd bytes."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(codec, errors="replace")
            return text, codec, text.count("\ufffd")
    try:
        return data.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    return _best_reading(data, _candidates(data, kind))


def _candidates(data: bytes, kind: str) -> list[str]:
    """The codecs worth trying, most trusted first: the declared one, the detector's guess, GB18030, and for
    Chinese-looking bytes the other CJK codecs and UTF-8."""
    candidates: list[str] = []
    if kind != "text":
        declared = declared_charset(data[:4096])
        if declared and declared != "utf-8":
            if _single_byte(declared) and _reads_as_chinese(data):
                # A Chinese page under a Western label (a server default such as iso-8859-1): a single-byte codec
                # decodes any bytes without a replacement, so trusting it would index mojibake.
                candidates.append("gb18030")
            candidates.append(declared)
    try:
        from charset_normalizer import from_bytes  # on first use: only pages without a usable charset need it

        best = from_bytes(data[:200_000]).best()
        if best is not None:
            guess = normalise_codec(best.encoding)
            if guess:
                candidates.append(_WIDEN.get(guess, guess))
    except Exception:  # a detector failure must not stop loading; fall through to GB18030
        pass
    candidates.append("gb18030")
    # Mostly two-byte CJK sequences (a few invalid ones allowed): a single-byte Western or Cyrillic code page
    # would decode every byte without a replacement, so it is never a candidate, whatever a label or the
    # detector says; the page is read as UTF-8 or a CJK codec (with replacements for the bad bytes).
    chinese = _reads_as_chinese(data)
    if chinese:
        candidates = [c for c in candidates if not _single_byte(c)]
    if chinese or any(_double_byte_cjk(c) for c in candidates):
        # Mislabelled CJK pages: give the other Chinese codecs (and UTF-8 with a few bad bytes) a chance to read
        # cleanly too (ranked below).
        candidates += ["gb18030", "big5hkscs", "utf-8"]
    return list(dict.fromkeys(candidates))


def _best_reading(data: bytes, candidates: list[str]) -> tuple[str, str, int]:
    best_text, best_codec, best_bad = "", "utf-8", None
    cjk: list[tuple[str, str, int]] = []  # CJK readings with few replacements, ranked below
    for codec in candidates:
        try:
            text = data.decode(codec, errors="replace")
        except (LookupError, UnicodeError, TypeError, ValueError):
            continue  # a label such as "hex" names a codec that is not a text encoding
        bad = text.count("\ufffd")
        if _double_byte_cjk(codec) or codec == "utf-8":
            if bad <= 0.05 * len(text):
                cjk.append((text, codec, bad))
        elif bad == 0 and not any(b == 0 for _, _, b in cjk):
            return text, codec, 0  # no cleaner CJK reading came before it in the order of trust
        if best_bad is None or bad < best_bad:
            best_text, best_codec, best_bad = text, codec, bad
    if len(cjk) == 1 and cjk[0][2] == 0:
        return cjk[0]
    if cjk:
        # Most Chinese-looking reading, replacements counted against it; on a tie the more trusted one wins.
        def rank(i: int):
            text, _, bad = cjk[i]
            return round(_common_han_share(text) - 5 * bad / max(1, len(text)), 2), -i

        return cjk[max(range(len(cjk)), key=rank)]
    return best_text, best_codec, best_bad or 0


def _double_byte_cjk(codec: str) -> bool:
    c = codec.lower().replace("-", "_")
    return c.startswith(("gb", "big5", "euc_", "shift_jis", "cp932", "cp936", "cp949", "cp950", "iso2022"))


@functools.lru_cache(maxsize=1)
def _common_han() -> frozenset[str]:
    """The 3,755 characters of GB 2312 level 1 (the most used Chinese characters)."""
    level1 = bytes(b for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF) for b in (hi, lo))
    return frozenset(level1.decode("gb2312", errors="ignore"))


@functools.lru_cache(maxsize=1)
def _t2s():
    return OpenCC("t2s")


@functools.lru_cache(maxsize=1 << 16)
def _t2s_char(ch: str) -> str:
    return _t2s().convert(ch)


def _common_han_share(text: str, sample: int = 1500) -> float:
    """Share of the first ``sample`` Han characters that are common Chinese characters (GB 2312 level 1, the
    3,755 most used), after traditional → simplified; 0.0 when there are none. Converted character by character
    (cached): OpenCC's phrase matching on the whole sample cost ~13 ms per GBK page, for the same count."""
    han = _HAN.findall(text, 0, 400_000)[:sample]
    if not han:
        return 0.0
    common = _common_han()
    return sum(_t2s_char(ch)[:1] in common for ch in han) / len(han)


def _single_byte(codec: str) -> bool:
    """True for codecs that map every byte to one character (latin-1, cp1252, koi8-r, EBCDIC, …)."""
    try:
        return len(_HIGH_BYTES.decode(codec, errors="replace")) == len(_HIGH_BYTES)
    except (LookupError, UnicodeError, TypeError, ValueError):
        return False


def _reads_as_chinese(data: bytes) -> bool:
    """The bytes are mostly two-byte CJK sequences holding Chinese text: GB18030 or Big5 with at most one bad
    sequence per 20 Han characters, most of them common characters. Western text with accents almost never
    reads so (its byte pairs decode to rare characters, or to nothing)."""
    sample = data[:200_000]
    for codec in ("gb18030", "big5hkscs"):
        text = sample.decode(codec, errors="replace")
        han = len(_HAN.findall(text))
        if han >= 8 and 20 * text.count("\ufffd") <= han and _common_han_share(text, sample=400) >= 0.6:
            return True
    return False


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    return sample[:4] in (b"PK\x03\x04", b"\x1f\x8b\x08\x00", b"%PDF") or sample[:2] == b"\x1f\x8b"


def mhtml_to_html(data: bytes) -> tuple[bytes, str | None]:
    """The first text/html part of a MIME single-file save, and its Content-Location."""
    msg = email.message_from_bytes(data, policy=policy.compat32)
    location = msg.get("Snapshot-Content-Location")
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else b""
            charset = part.get_content_charset()
            label = normalise_codec(charset) if charset else None
            if label:
                codec = _WIDEN.get(label, label)
                try:
                    payload = payload.decode(codec, errors="replace").encode("utf-8")
                except (LookupError, UnicodeError, TypeError, ValueError):
                    pass
            return payload, part.get("Content-Location") or location
    raise LoadError("no_html", "MHTML file has no text/html part")


def load_page(path: str | Path, root: str | Path | None = None, max_bytes: int = 20_000_000) -> LoadedPage:
    """Read one saved page. Raises LoadError with a reason; never modifies the file."""
    p = Path(path)
    kind = page_kind(p)
    if kind is None:
        raise LoadError("not_a_page", f"not a page (expected {', '.join(PAGE_SUFFIXES)})")
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise LoadError("not_a_file", "is a directory")
        if not stat.S_ISREG(st.st_mode):  # opening a FIFO blocks for ever; a device never ends
            raise LoadError("not_a_file", "not a regular file (a pipe, socket or device)")
        size = st.st_size
        if size > max_bytes:
            raise LoadError("too_large", f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except LoadError:
        raise
    except IsADirectoryError:
        raise LoadError("not_a_file", "is a directory") from None
    except PermissionError:
        raise LoadError("unreadable", "permission denied") from None
    except OSError as e:
        raise LoadError("unreadable", e.strerror or str(e)) from None
    if len(data) > max_bytes:
        raise LoadError("too_large", f"over the {max_bytes / 1e6:.0f} MB limit")
    if not data.strip():
        raise LoadError("empty", "empty file")
    url = None
    if kind in OFFICE_KINDS:
        kind = _sniff_office(kind, data)
        if kind not in ("html", "mhtml", "text"):
            return _office_page(p, root, kind, data)
    if kind == "mhtml":
        try:
            data, url = mhtml_to_html(data)
        except LoadError:
            raise
        except Exception as e:  # the email parser on garbage: report, never crash
            raise LoadError("bad_mhtml", f"unreadable MHTML ({type(e).__name__})") from None
        if not isinstance(data, bytes) or not data.strip():
            raise LoadError("empty", "MHTML file has an empty HTML part")
        kind = "html"
    if _looks_binary(data):
        raise LoadError("binary", "binary content, not a text or HTML page")
    text, codec, replaced = decode_bytes(data, kind)
    if replaced > max(8, MAX_REPLACED_SHARE * len(text)):
        raise LoadError("bad_encoding", f"does not decode cleanly ({replaced} bad characters as {codec})")
    if kind == "html":
        m = _SAVED_FROM.search(text[:2048]) or _CLEANEVAL_URL.match(text[:2048])
        if m and not url:
            url = m.group(1)
    return LoadedPage(path=str(p.resolve()), source=_source(p, root), kind=kind, text=text,
                      encoding=codec, replaced=replaced, url=url)


def _sniff_office(kind: str, data: bytes) -> str:
    """The kind the bytes really are, whatever the name says: a "Word file" from a 范文 site is often a saved web
    page (HTML or MHTML), an RTF file (Word saves RTF under .doc) or a .docx renamed .doc."""
    head = data[:2048].lstrip()
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "docx" if kind == "docx" else "doc"  # office.convert tells an encrypted .docx from a Word 97 file
    if b"%PDF-" in data[:1024]:
        return "pdf"
    low = head.lower()
    if kind != "pdf" and b"mime-version" in low and b"multipart" in low:
        return "mhtml"
    if kind != "pdf" and (low.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in low[:512]):
        return "html"
    raise LoadError("corrupt", f"not a {kind} file (unknown content)")


def _office_page(p: Path, root: str | Path | None, kind: str, data: bytes) -> LoadedPage:
    from indexer.office import convert  # python-docx and the converters load only when a folder has such files

    text = convert(kind, data, p)
    return LoadedPage(path=str(p.resolve()), source=_source(p, root), kind="html", text=text, encoding="utf-8")


def _source(p: Path, root: str | Path | None) -> str:
    if root is not None:
        try:
            return p.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return p.name


def iter_pages(root: str | Path):
    """Page files under ``root`` in a stable order (skips hidden folders)."""
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and page_kind(name):
                yield Path(dirpath) / name
