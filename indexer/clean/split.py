"""Paragraphs → documents → sections.

Conventions (from the gold files in ../shared/pages):
- a section starts at every *heading line*: a short paragraph that starts with a numbering marker
  (一、 / （一） / (一) / 1、 / 1. / (1) / 一是 / 第一章) or that the markup sets as a heading (bold or
  <h2>–<h6>) — short meaning at most ~40 characters with no sentence end inside it;
- a long paragraph that merely starts with a marker ("（一）扎实开展…。元旦春节期间…") stays text;
- text before the first heading is a lead section with heading "";
- a page splits into documents at 篇一/篇二…, 【第一篇】…, and 扩展阅读 followed by an article;
- plain-text dumps that lost their line breaks get them back before the markers (inline mode).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.clean.text import SENT_END, WS, punct_count
from indexer.model import Document, Section

CN_NUM = "一二三四五六七八九十百零〇两"
# (level, pattern). Lower level = outer.
MARKERS: list[tuple[int, re.Pattern]] = [
    (0, re.compile(rf"^第[{CN_NUM}\d]{{1,4}}[章部编](?:分)?")),
    (1, re.compile(rf"^[{CN_NUM}]{{1,3}}\s*[、.．]")),
    (2, re.compile(rf"^[（(]\s*[{CN_NUM}]{{1,3}}\s*[)）]")),
    (3, re.compile(r"^\d{1,2}\s*[、．.](?!\d)")),
    (4, re.compile(r"^[（(]\s*\d{1,2}\s*[)）]")),
    (5, re.compile(r"^[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]")),
    (6, re.compile(rf"^(?:[{CN_NUM}]{{1,3}}是|第[{CN_NUM}]{{1,3}}[，,、节])")),
]
INLINE_BREAK = re.compile(
    rf"(?<=[{SENT_END}”」』])\s*(?=(?:[{CN_NUM}]{{1,3}}[、．]|[（(][{CN_NUM}]{{1,3}}[)）]|"
    rf"\d{{1,2}}[、．](?!\d)|[（(]\d{{1,2}}[)）]|第[{CN_NUM}]{{1,3}}[章部]))"
)
HEADING_MAX = 40
SENT_INSIDE = re.compile(rf"[{SENT_END}]")

DOC_END = re.compile(rf"(?:篇[{CN_NUM}\d]{{1,3}}|【第[{CN_NUM}\d]{{1,3}}篇】|第[{CN_NUM}\d]{{1,3}}篇|"
                     rf"[（(]第?[{CN_NUM}\d]{{1,3}}篇?[)）]|范文[{CN_NUM}]{{1,3}})$")
DOC_START = re.compile(rf"^(?:篇[{CN_NUM}\d]{{1,3}}|【?第[{CN_NUM}\d]{{1,3}}篇】?)\s*[:：、.．]?\s*(.{{2,50}})$")
INLINE_DOC = re.compile(rf"【第[{CN_NUM}\d]{{1,3}}篇】|篇[{CN_NUM}]{{1,3}}(?=[^{CN_NUM}])")
# Unnumbered articles one after another (文库 and blog archive pages): a heading in the page's top heading style
# starts an article when it is named like one (a document kind at its end) or a date/byline line follows it.
DOC_KIND = re.compile(r"(?:总结|计划|报告|讲话|发言|发言稿|方案|意见|通知|心得|体会|材料|简报|综述|纪要|述职|汇报|"
                      r"要点|规划|制度|办法|细则|倡议书|公开信|致辞|贺信|事迹|感言|演讲稿)(?:[（(][^)）]{0,10}[)）])?$")
BYLINE = re.compile(r"^(?:(?:19|20)\d\d[-/.年]\d{1,2}[-/.月]\d{1,2}日?|(?:发布|发表|更新)(?:时间|日期|于)|作者|来源)")
ARTICLE_MIN = 150  # characters of body an article needs before the next one starts
EXTENDED = re.compile(r"^(?:扩展阅读|拓展阅读|延伸阅读|附[:：]?)\s*[:：]\s*(.*)$|^(?:扩展阅读|拓展阅读)$")


@dataclass
class Para:
    text: str
    hint: bool = False  # the markup says heading (bold line or <h2>…<h6>)
    inline: bool = False  # produced by re-breaking a flattened line
    hlevel: int = 0  # <hN> level when known
    dated: bool = False  # a date-and-time byline followed it (dropped as furniture, but it marks a post's start)


def heading_level(p: Para) -> float | None:
    """The heading level of a paragraph, or None when it is text."""
    s = WS.sub("", p.text)
    if not s:
        return None
    inside = s[:-1]
    if SENT_INSIDE.search(inside):
        return None
    # a numbered line without any sentence end may run a little longer
    limit = HEADING_MAX + (20 if p.hint else 0) + (10 if not SENT_INSIDE.search(s) else 0)
    if len(s) > limit:
        return None
    for level, pat in MARKERS:
        m = pat.match(s)
        if m and len(s) > m.end():
            if level == 6 and not p.hint and len(s) > 30:
                return None
            return float(level)
    if p.hint and not s.endswith(("。", "：", ":")) and punct_count(s) <= 3 and len(s) <= HEADING_MAX \
            and not SENT_INSIDE.search(s):
        return 0.5 if p.hlevel and p.hlevel <= 2 else 1.5
    return None


# ----------------------------------------------------------------------------- inline mode

def reflow(text: str) -> list[Para]:
    """Break a flattened line at document and heading markers; split off run-in headings."""
    text = _break_docs(text)
    out: list[Para] = []
    for chunk in text.split("\n"):
        for piece in INLINE_BREAK.split(chunk):
            piece = piece.strip()
            if not piece:
                continue
            head, rest = _run_in_heading(piece)
            if head:
                out.append(Para(head, inline=True))
                if rest:
                    out.append(Para(rest, inline=True))
            else:
                out.append(Para(piece, inline=True))
    return out


def _break_docs(text: str) -> str:
    out, last = [], 0
    for m in INLINE_DOC.finditer(text):
        # the title runs from the previous sentence end up to and including the marker
        start = m.start()
        window = text[max(last, start - 60):start]
        cut = max(window.rfind(c) for c in "。！？!?…")
        tstart = (start - len(window) + cut + 1) if cut >= 0 else max(last, start - len(window))
        if start - tstart > 50:
            continue
        out.append(text[last:tstart])
        out.append("\n" + text[tstart:m.end()] + "\n")
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _run_in_heading(piece: str) -> tuple[str | None, str]:
    if not any(p.match(piece) for _, p in MARKERS[:5]):
        return None, piece
    m = re.search(rf"[{SENT_END}]", piece)
    if m and m.end() <= HEADING_MAX:
        return piece[:m.end()], piece[m.end():].strip()
    m = re.search(r"[，,]", piece)
    if m and m.start() <= 24 and len(piece) > 60:
        return piece[:m.start()], piece[m.start() + 1:].strip()
    if len(piece) <= HEADING_MAX:
        return piece, ""
    return None, piece


# ----------------------------------------------------------------------------- documents

def doc_title(p: Para) -> str | None:
    s = p.text.strip()
    if len(WS.sub("", s)) > 60 or SENT_INSIDE.search(s[:-1] if s else s):
        return None
    if DOC_END.search(WS.sub("", s)):
        return s
    m = DOC_START.match(s)
    if m:
        return s
    return None


def split_documents(paras: list[Para], page_title: str) -> list[tuple[str, list[Para]]]:
    """[(title, paragraphs)]: one entry per article on the page."""
    starts: list[tuple[int, str, int]] = []  # (index, title, paragraphs to skip)
    for i, p in enumerate(paras):
        t = doc_title(p)
        if t:
            starts.append((i, t, 1))
            continue
        m = EXTENDED.match(WS.sub("", p.text)) if len(p.text) <= 80 else None
        if m and i + 1 < len(paras):
            title = (m.group(1) or "").strip() if m.lastindex else ""
            skip = 1
            nxt = paras[i + 1].text.strip()
            if not title and len(WS.sub("", nxt)) <= 50 and not SENT_INSIDE.search(nxt[:-1]):
                title, skip = nxt, 2
            elif title and WS.sub("", nxt) == WS.sub("", title):
                skip = 2
            if title:
                starts.append((i, title, skip))
    if not starts:
        starts = _styled_starts(paras)
    if not starts:
        return [(page_title, paras)]
    docs: list[tuple[str, list[Para]]] = []
    pre = paras[: starts[0][0]]
    pre_chars = sum(len(WS.sub("", p.text)) for p in pre)
    is_ext = not doc_title(paras[starts[0][0]])
    if pre and (is_ext or pre_chars >= 200):
        docs.append((page_title, pre))
    for k, (i, title, skip) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(paras)
        body = paras[i + skip:end]
        if body and WS.sub("", body[0].text) == WS.sub("", title):
            body = body[1:]
        docs.append((title, body))
    return docs


def _styled_starts(paras: list[Para]) -> list[tuple[int, str, int]]:
    """Article starts without a 篇一/【第一篇】 marker: two or more unnumbered headings in the page's top
    heading style, each named like a document or followed by a date/byline line, each with its own body."""
    styled = [(i, p.hlevel or 9) for i, p in enumerate(paras)
              if p.hint and heading_level(p) in (0.5, 1.5)]  # unnumbered headings the markup sets
    if len(styled) < 2:
        return []
    top = min(style for _, style in styled)
    heads = [i for i, style in styled if style == top]
    starts: list[tuple[int, str, int]] = []
    for k, i in enumerate(heads):
        end = heads[k + 1] if k + 1 < len(heads) else len(paras)
        title = paras[i].text.strip()
        byline = not paras[i].dated and i + 1 < end and len(paras[i + 1].text) <= 60 \
            and BYLINE.match(WS.sub("", paras[i + 1].text))
        body = sum(len(WS.sub("", p.text)) for p in paras[i + 1:end])
        if body < ARTICLE_MIN or not (byline or paras[i].dated or DOC_KIND.search(WS.sub("", title))):
            return []  # every top heading must start an article, or the page is one document
        starts.append((i, title, 2 if byline else 1))
    return starts


def split_sections(paras: list[Para]) -> tuple[Section, ...]:
    sections: list[Section] = []
    stack: list[tuple[float, str]] = []
    heading, path, buf = "", tuple[str, ...](), list[str]()

    def close() -> None:
        if heading or buf:
            sections.append(Section(heading, "\n".join(buf), path))

    for p in paras:
        level = heading_level(p)
        if level is None:
            buf.append(p.text.strip())
            continue
        close()
        heading = p.text.strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        path = tuple(h for _, h in stack)
        buf = []
    close()
    return tuple(sections)


def build_documents(paras: list[Para], page_title: str) -> list[Document]:
    docs = []
    for title, body in split_documents(paras, page_title):
        secs = split_sections(body)
        if secs:
            docs.append(Document(title=title, sections=secs))
    return docs
