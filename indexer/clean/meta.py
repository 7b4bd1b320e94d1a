"""Page metadata: title, source URL, date and site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from indexer.clean.text import DATE_RE, WS, squash

TITLE_SEP = re.compile(r"\s*(?:[_|｜–—]+|\s-\s|-{2,})\s*")
URL_RE = re.compile(r"https?://[^\s\"'<>，。、；）)】]+")
URL_LINE = re.compile(r"^(?:链接地址|本文链接|本文地址|本文网址|原文链接|原文地址|文章链接|网址)\s*[:：]\s*(.+)$")
LABELED_DATE = re.compile(
    r"(?:(?:发布|更新|上传|发表|录入|添加|修改|创建|编辑)?(?:时间|日期)|发布于|发表于|更新于|上传于|日期)\s*[:：]?\s*"
    r"((?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2})"
)
YEAR_MONTH = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?!\s*\d)")
YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
META_DATE_NAMES = (
    "article:published_time", "og:published_time", "publishdate", "pubdate", "publish_date",
    "publishtime", "pubtime", "date", "dc.date", "dc.date.issued", "dcterms.created", "created",
    "article:modified_time", "og:updated_time", "lastmodified", "last-modified",
)


def norm_date(text: str | None) -> str | None:
    if not text:
        return None
    m = DATE_RE.search(text)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def site_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def clean_url(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    m = URL_RE.match(url)
    if not m:
        return None
    return m.group(0)


# ----------------------------------------------------------------------------- HTML

def _text(el) -> str:
    try:
        return squash(el.text_content())
    except (ValueError, TypeError):
        return ""


def html_meta(root) -> dict:
    """title candidates, url and date hints read from the unpruned tree."""
    out: dict = {"title": "", "h": [], "url": None, "date": None}
    try:
        heads = root.xpath("//title")
        if heads:
            out["title"] = _text(heads[0])
        for el in root.xpath("//h1|//h2|//*[contains(@class,'title') or contains(@id,'title')]")[:40]:
            t = _text(el)
            if 2 <= len(t) <= 120:
                out["h"].append((el.tag if isinstance(el.tag, str) else "", t))
        for el in root.xpath("//meta[@property='og:title' or @name='og:title']")[:1]:
            out["og_title"] = squash(el.get("content") or "")
        for el in root.xpath("//link[@rel='canonical']|//meta[@property='og:url' or @name='og:url']")[:3]:
            u = clean_url(el.get("href") or el.get("content"))
            if u:
                out["url"] = u
                break
        for el in root.xpath("//meta[@name or @property or @itemprop or @http-equiv]"):
            key = (el.get("name") or el.get("property") or el.get("itemprop") or el.get("http-equiv") or "").lower()
            if key in META_DATE_NAMES or key in ("datepublished", "datecreated"):
                d = norm_date(el.get("content"))
                if d:
                    out["date"] = d
                    break
        if not out["date"]:
            for el in root.xpath("//time[@datetime]")[:1]:
                out["date"] = norm_date(el.get("datetime"))
        if not out["date"]:
            for el in root.xpath("//*[local-name()='Created']")[:1]:
                out["word_date"] = norm_date(_text(el))
    except (ValueError, TypeError):
        pass
    return out


TAG_PREFIX = re.compile(r"^\s*[\[【][^\]】]{1,8}[\]】]\s*(?=\S{4,})")


def pick_title(title_tag: str, headings: list[tuple[str, str]], og: str = "") -> str:
    """The article title without a leading category tag ("[工作总结] …")."""
    return TAG_PREFIX.sub("", _pick_title(title_tag, headings, og)).strip()


def _pick_title(title_tag: str, headings: list[tuple[str, str]], og: str = "") -> str:
    """The article title: an <h1>/<h2> that agrees with <title>, else <title>'s first part."""
    parts = [p for p in TITLE_SEP.split(title_tag or "") if p.strip()]
    seg = parts[0].strip() if parts else ""
    if len(seg) < 4 and len(parts) > 1:
        seg = max(parts, key=len).strip()
    cands = [t for _, t in headings]
    key = WS.sub("", seg)
    if key:
        for t in cands:
            k = WS.sub("", t)
            if k == key:
                return t
        for t in cands:
            k = WS.sub("", t)
            if len(k) >= 4 and k in key and len(k) >= len(key) // 2:
                return t
        return seg
    for tag, t in headings:
        if tag == "h1":
            return t
    return og or (cands[0] if cands else "")


# ----------------------------------------------------------------------------- lines

def url_from_lines(lines: list[str]) -> str | None:
    for line in lines:
        m = URL_LINE.match(line.strip())
        if m:
            rest = m.group(1)
            if not re.search(r"[\u4e00-\u9fff]", rest):
                rest = WS.sub("", rest)
            u = clean_url(rest)
            if u:
                return u
    return None


def date_from_lines(lines: list[str]) -> str | None:
    for line in lines:
        m = LABELED_DATE.search(line)
        if m:
            d = norm_date(m.group(1))
            if d:
                return d
    return None


def first_date(lines: list[str]) -> str | None:
    for line in lines:
        if len(line) <= 80:
            d = norm_date(line)
            if d:
                return d
    return None


def signature_date(lines: list[str]) -> str | None:
    """A closing line that is only a date ("2023年12月5日")."""
    for line in reversed(lines[-4:]):
        s = WS.sub("", line)
        if len(s) <= 14:
            d = norm_date(s)
            if d:
                return d
            m = YEAR_MONTH.fullmatch(s)
            if m:
                return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    return None


def year_of(title: str) -> str | None:
    m = YEAR.search(title or "")
    return m.group(1) if m else None
