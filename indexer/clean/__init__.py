"""The cleaner: one loaded page → its documents → their sections.

    clean_page(page: LoadedPage, settings: CleanSettings | None = None) -> CleanedPage

Stages (each a module of this package):
``html``   parse, prune, lines, choose the content region by density scoring (HTML pages);
``text``   line rules: boilerplate categories, page counters, measures;
``split``  paragraphs → documents (篇一/【第一篇】/扩展阅读) → sections (一、/（一）/1、/(1)/一是…);
``meta``   title, URL, date, site;
``dedupe`` near-duplicate documents (MinHash) → ``duplicate_of``.

A page with no document text raises ``CleanError`` with ``reason`` ("no_body", "too_short").
"""

from __future__ import annotations

import re

import lxml.etree as etree

from indexer.clean import meta as M
from indexer.clean.dedupe import mark_duplicates
from indexer.clean.html import Line, extract, line_score, parse
from indexer.clean.split import BYLINE, Para, build_documents, doc_title, reflow
from indexer.clean.text import (
    CONTROLS,
    WS,
    LineRules,
    is_counter_line,
    is_dated_item,
    is_related_header,
    page_total,
    punct_count,
    strip_counters,
)
from indexer.config import CleanSettings
from indexer.model import CleanedPage, LoadedPage

__all__ = ["WHOLE_DOCUMENT", "CleanError", "clean_page"]

MIN_CHARS = 20
# <meta name="generator"> of the HTML that indexer/office.py makes from a Word or PDF file: every line of its body is
# the document (no navigation to cut away), so the content region is the whole body; the line rules still apply.
WHOLE_DOCUMENT = "unionsearch-office"
REFLOW_AT = 1000  # a text line longer than this has lost its line breaks


class CleanError(Exception):
    """A page without document text; ``reason`` is a short code for the index report."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _site_rules(settings: CleanSettings, site: str | None) -> tuple[list[str], list[str]]:
    selectors = list(settings.drop_selectors)
    patterns = list(settings.drop_line_patterns)
    if site and isinstance(settings.sites, dict):
        for domain, rule in settings.sites.items():
            d = str(domain).lower().removeprefix("www.")
            if (site == d or site.endswith("." + d)) and isinstance(rule, dict):
                selectors += list(rule.get("drop_selectors") or [])
                patterns += list(rule.get("drop_line_patterns") or [])
    return selectors, patterns


def clean_page(page: LoadedPage, settings: CleanSettings | None = None) -> CleanedPage:
    """Reduce a loaded page to its documents. Raises CleanError when nothing is left."""
    settings = settings or CleanSettings()
    try:
        result = _clean_html(page, settings) if page.kind == "html" else _clean_text(page, settings)
    except CleanError:
        raise
    except RecursionError:
        raise CleanError("too_deep", "page structure is too deeply nested") from None
    except (ValueError, etree.LxmlError) as e:  # lxml refusing odd input: report, never crash the index run
        raise CleanError("unparsable", f"cannot parse the page ({type(e).__name__})") from None
    return result


# ----------------------------------------------------------------------------- HTML

def _clean_html(page: LoadedPage, settings: CleanSettings) -> CleanedPage:
    root = parse(page.text)
    if root is None:
        raise CleanError("no_body", "no HTML body")
    hm = M.html_meta(root)
    url = M.clean_url(page.url) or hm["url"]
    site = M.site_of(url)
    selectors, patterns = _site_rules(settings, site)
    rules = LineRules(patterns)
    whole = _whole_document(root)  # before extract() prunes <head>
    ex = extract(root, rules, selectors)
    if not ex.lines:
        raise CleanError("no_body", "no text in the page body")
    all_text = [ln.text for ln in ex.lines]
    url = url or M.url_from_lines(all_text)
    site = site or M.site_of(url)
    title = M.pick_title(hm["title"], hm["h"], hm.get("og_title", ""))
    content = ex.lines if whole else ex.content
    start = next((i for i, ln in enumerate(ex.lines) if ln is content[0]), 0) if content else 0
    date = (M.date_from_lines(all_text) or hm["date"] or M.first_date(all_text[:start])
            or M.signature_date([ln.text for ln in content]) or hm.get("word_date") or M.year_of(title))
    paras = _filter(content, all_text, rules, title, whole=whole)
    return _finish(page, paras, title, url, site, date)


def _whole_document(root) -> bool:
    try:
        return bool(root.xpath("//meta[@name='generator'][@content=$v]", v=WHOLE_DOCUMENT))
    except (ValueError, etree.LxmlError):
        return False


# ----------------------------------------------------------------------------- text

def _clean_text(page: LoadedPage, settings: CleanSettings) -> CleanedPage:
    raw = [ln.strip() for ln in CONTROLS.sub("", page.text).splitlines()]
    raw = [ln for ln in raw if ln]
    if not raw:
        raise CleanError("no_body", "empty text")
    url = M.clean_url(page.url) or M.url_from_lines(raw)
    site = M.site_of(url)
    _, patterns = _site_rules(settings, site)
    rules = LineRules(patterns)
    total = page_total(raw)
    lines: list[Line] = []
    for text in raw:
        text = strip_counters(text, total)
        if len(text) > REFLOW_AT:
            for p in reflow(text):
                lines.append(Line(p.text, len(WS.sub("", p.text)), 0, False, 0))
        else:
            lines.append(Line(text, len(WS.sub("", text)), 0, False, 0))
    # the content is the contiguous run of lines with the best summed score (1-D max subarray)
    best, cur, cur_start, span = float("-inf"), 0.0, 0, (0, len(lines))
    for i, ln in enumerate(lines):
        ln.score = line_score(ln, rules)
        if doc_title(Para(ln.text)):
            ln.score = max(ln.score, 1.0)
        if cur < 0 or i == 0:
            cur, cur_start = ln.score, i
        else:
            cur += ln.score
        if cur > best:
            best, span = cur, (cur_start, i + 1)
    content = lines[span[0]:span[1]]
    title = re.sub(r"(?:篇[一二三四五六七八九十\d]+|【第[一二三四五六七八九十\d]+篇】)$", "",
                   _text_title(raw, lines[: span[0]], rules)).strip()
    date = (M.date_from_lines(raw) or M.signature_date([ln.text for ln in content]) or M.year_of(title))
    paras = _filter(content, raw, rules, title, total=total)
    return _finish(page, paras, title, url, site, date)


def _text_title(raw: list[str], head: list[Line], rules: LineRules) -> str:
    for line in raw:
        m = re.match(r"^(?:本文标题|标题|文章标题)\s*[:：]\s*(.{2,80})$", line)
        if m:
            return m.group(1).strip()
    for line in raw:
        s = WS.sub("", line)
        m = re.match(r"^【?(.{2,60}?)】?相关(?:文章|范文|阅读|推荐)[:：]?$", s)
        if m:
            return m.group(1)
    for line in raw:
        m = re.search(r"(?:友情提示|温馨提示)[:：].{0,10}《(.{2,60}?)》", line)
        if m:
            return m.group(1)
    for ln in reversed(head):
        s = ln.text.strip()
        if 4 <= ln.n <= 60 and not rules.is_boilerplate(s) and punct_count(s) <= 2:
            return s
    for line in raw[:10]:
        s = line.strip()
        if 4 <= len(s) <= 60 and not rules.is_boilerplate(s) and punct_count(s) <= 2:
            return s
    return ""


# ----------------------------------------------------------------------------- shared

def _filter(content: list[Line], page_lines: list[str], rules: LineRules, title: str,
            total: int | None = None, whole: bool = False) -> list[Para]:
    """Drop boilerplate lines inside the content region and cut a trailing related-list. In a ``whole`` document
    (a Word or PDF file) a short line ending in numbers is a table row, not a dated related-articles item."""
    if total is None:
        total = page_total(page_lines)
    tkey = WS.sub("", title)
    out: list[Para] = []
    tail_mode = False
    for ln in content:
        text = strip_counters(ln.text, total).strip()
        s = WS.sub("", text)
        if not s or is_counter_line(text):
            continue
        if is_related_header(text):
            tail_mode = True
            continue
        if tail_mode:
            # after a related-articles header only a real paragraph ends the list
            if ln.n >= 60 and punct_count(text) >= 2 and ln.links / max(ln.n, 1) < 0.3 \
                    and not text.endswith(("...", "…")):
                tail_mode = False
            else:
                continue
        if rules.is_boilerplate(text):
            if out and BYLINE.match(s) and rules.is_stamp(text):
                out[-1].dated = True  # a post's date line under its title: gone, but it still marks the post
            continue
        if ln.n and ln.links / ln.n > 0.5:
            continue
        if is_dated_item(text) and not whole and not doc_title(Para(text)):
            continue
        if tkey and len(s) <= len(tkey) + 8 and (s == tkey or (tkey in s and punct_count(s) == 0)) \
                and not doc_title(Para(text)):
            continue  # repeated title
        hint = ln.bold or 2 <= ln.htag <= 6
        out.append(Para(text, hint=hint, hlevel=ln.htag))
    return out


def _finish(page: LoadedPage, paras: list[Para], title: str, url, site, date) -> CleanedPage:
    chars = sum(len(WS.sub("", p.text)) for p in paras)
    if not paras:
        raise CleanError("no_body", "no document text found")
    if chars < MIN_CHARS:
        raise CleanError("too_short", f"only {chars} characters of text")
    docs = build_documents(paras, title)
    if not docs:
        raise CleanError("no_body", "no document text found")
    if len(docs) == 1 and not docs[0].title:
        docs[0] = docs[0].__class__(title=title, sections=docs[0].sections)
    docs = mark_duplicates(docs)
    return CleanedPage(source=page.source, title=title or (docs[0].title if docs else ""), url=url,
                       date=date, site=site, encoding=page.encoding, documents=tuple(docs))


_ = (is_dated_item,)
