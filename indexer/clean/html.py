"""HTML → text lines, and the choice of the content region by density scoring.

Stages
1. ``parse``: lxml's HTML parser (libxml2; it caps nesting depth, so a 10,000-deep page is safe).
2. ``prune``: drop elements that never hold document text (scripts, forms controls, nav/aside/
   footer, hidden elements) and anything matching the configured CSS selectors.
3. ``lines``: an iterative walk (no recursion) turns block elements and ``<br>`` into lines; each
   line knows its link characters, whether it is bold / in an ``<h1>``–``<h6>``, and every block
   element knows the range of lines it holds.
4. ``choose``: every line gets a score from its own signals (length, Chinese punctuation density,
   link density, boilerplate rules); the block element whose lines sum to the most is the content
   region (a DOM-aligned maximum subarray — CEPF/trafilatura-style text density).
5. ``post_lists``: lists of posts found by their shape (see "lists of posts" below) are added to the region
   when they are a thread or a review list, and taken out of it when they are an article's comments.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import lxml.etree as etree
import lxml.html

from indexer.clean.text import (
    SENTENCE_MARK,
    WS,
    LineRules,
    is_dated_item,
    is_related_header,
    is_stamp_line,
    punct_count,
    squash,
)

DROP_TAGS = frozenset({
    "script", "style", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "canvas",
    "template", "select", "option", "optgroup", "button", "input", "textarea", "title", "meta", "link",
    "map", "area", "audio", "video", "source", "track", "nav", "aside", "footer", "header", "datalist", "dialog"
})
BLOCK_TAGS = frozenset({
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th", "tbody", "thead",
    "tfoot", "caption", "section", "article", "main", "blockquote", "pre", "dl", "dt", "dd", "form", "fieldset",
    "center", "address", "figure", "figcaption", "hr", "body", "html", "details", "summary", "menu", "dir",
    "legend", "text", "head"
})
HEAD_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BOLD_TAGS = frozenset({"b", "strong"})
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0*(?:\.0*)?\s*(?:;|$)", re.I)
# A hidden element holding at least this share of the page's text (and MAIN_TEXT_MIN characters) is the page's
# body waiting for a script to reveal it (WeChat's article container, for one), not chrome.
MAIN_TEXT_SHARE, MAIN_TEXT_MIN = 0.6, 200
# Overlays a stylesheet keeps hidden until a click (report forms, login boxes, share sheets): hidden by their class.
OVERLAY_BOX = re.compile(r"(?:^|[\s_-])(?:modal|dialog|popup|popover|lightbox|overlay)(?:$|[\s_-])", re.I)
CHROME_BOX = re.compile(r"(?:^|[\s_-])(?:menu\w*|nav\w*|pop\w*|modal|dialog|mask|layer|tpl|template|tips?|toast|"
                        r"dropdown|login|qrcode|share\w*)(?:$|[\s_-])", re.I)
REPLY_BOX_MAX = 600  # characters of a comment form's own words (its emoji picker's labels included)
CLEANEVAL = re.compile(r"^\s*<text\b[^>]*>", re.I)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# A start tag with more than MAX_ATTRIBUTES attributes (possessive quantifiers: no backtracking, a linear scan).
MAX_ATTRIBUTES = 100
_ATTR = r"""[\s/]*+[^\s"'<>/=]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'>]++))?+"""
CROWDED_TAG = re.compile(rf"<([a-zA-Z][\w:-]*+)(?:{_ATTR}){{{MAX_ATTRIBUTES}}}(?:{_ATTR})*+\s*+/?>?")
NOISE_BOX = re.compile(
    r"(?:^|[\s_-])(?:related|relate|relative|recommend\w*|stream|sidebar|side|widget\w*|hot\w*|rank\w*|footer|foot|"
    r"copyright|share\w*|breadcrumbs?|crumbs?|nav\w*|menu\w*|ad|ads|advert\w*|banner\w*|guess\w*|tuijian|xgwz|"
    r"promo\w*|sponsor\w*|popular|trending|toolbar|tags?|keywords?)(?:$|[\s_-])",
    re.I,
)
COMMENT_BOX = re.compile(r"(?:^|[\s_-])(?:comments?|cmts?|replies|reply|respond|discuss)(?:$|[\s_-])", re.I)


@dataclass
class Line:
    text: str
    n: int  # characters without whitespace
    links: int  # characters inside <a>
    bold: bool  # the whole line is <b>/<strong>
    htag: int  # 1–6 when inside <hN>, else 0
    score: float = 0.0
    cmt: bool = False  # inside a comments/replies container
    noise: bool = False  # inside a container whose class/id says related/share/sidebar/…
    nbox: int = -1  # the innermost such container (its block node), -1 for none
    urls: int = 0  # characters of links whose text is a bare web address (a post's own words, not navigation)
    pre: bool = False  # a line of a <pre> block (code, a listing): its line breaks are kept
    para: bool = False  # the line is a <p> of its own


@dataclass
class Extract:
    lines: list[Line]
    content: list[Line]
    root: object  # the parsed tree, for metadata


def _thin_tag(m: re.Match) -> str:
    """A start tag with thousands of attributes loses them: libxml2 checks each attribute against the ones before
    it, so 100,000 attributes took 75 s to parse (a hostile page could stall an index worker for hours)."""
    return f"<{m.group(1)}>"


def parse(markup: str):
    """Parse markup into an lxml tree; None when there is nothing to parse."""
    markup = XML_DECL.sub("", markup, count=1)
    markup = CLEANEVAL.sub("", markup, count=1)
    markup = CONTROL.sub("", markup)  # lxml refuses NUL and other C0 controls
    markup = CROWDED_TAG.sub(_thin_tag, markup)
    if not markup.strip():
        return None
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True,
                                  recover=True, default_doctype=False)
    try:
        root = lxml.html.document_fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        return None
    return root


def prune(root, selectors: list[str] | tuple[str, ...] = ()) -> None:
    """Remove elements that never hold document text, in place: scripts, forms, page furniture, and hidden
    elements, except a hidden element that holds the page's main text (see MAIN_TEXT_SHARE)."""
    doomed, hidden = [], []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag.lower() in DROP_TAGS or _control_label(el) or _reply_box(el):
            doomed.append(el)
        elif el.attrib and _hidden(el):
            hidden.append(el)
    _drop_all(doomed)
    if hidden:
        total = _text_size(root)
        doomed = [el for el in hidden if not _holds_main_text(el, total)]
    else:
        doomed = []
    for sel in selectors:
        try:
            doomed.extend(root.cssselect(sel))
        except Exception:  # a bad user selector must not stop cleaning
            continue
    _drop_all(doomed)


def _control_label(el) -> bool:
    """The caption of a form control (a checkbox's "同时转发", "记住我"): dropped with the control it names."""
    return el.tag == "label" and (el.get("for") is not None or next(el.iter("input", "select", "textarea"), None)
                                  is not None)


def _reply_box(el) -> bool:
    """A form to write a comment or reply in (it holds a text area) and little else: its words are instructions and
    buttons (请勿发布不友善的内容, 评论, 帮助), never the page's text. A page wrapped whole in one form (ASP.NET)
    has headings or much more text."""
    if el.tag != "form" or next(el.iter("textarea"), None) is None:
        return False
    if next(el.iter("h1", "h2", "h3", "h4", "h5", "h6"), None) is not None:
        return False
    return sum(len(WS.sub("", t)) for t in el.itertext()) <= REPLY_BOX_MAX


def _drop_all(elements: list) -> None:
    for el in elements:
        parent = el.getparent()
        if parent is None:
            continue
        _drop_keep_tail(el, parent)


def _hidden(el) -> bool:
    style = el.get("style")
    if (style and HIDDEN_STYLE.search(style)) or el.get("hidden") is not None:
        return True
    return bool(OVERLAY_BOX.search((el.get("class") or "") + " " + (el.get("id") or "")))


def _text_size(el) -> int:
    return len(WS.sub("", el.text_content()))


def _holds_main_text(el, total: int) -> bool:
    """A hidden element that is most of the page's text and is not named like a menu, pop-up or template."""
    names = (el.get("class") or "") + " " + (el.get("id") or "")
    if CHROME_BOX.search(names) or NOISE_BOX.search(names):
        return False
    size = _text_size(el)
    return size >= MAIN_TEXT_MIN and size >= MAIN_TEXT_SHARE * total


def _drop_keep_tail(el, parent) -> None:
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


class _LineWalker:
    """The state of one walk over the tree: the open blocks, links, bold and heading tags, comment and noise
    boxes around the current text, and the pieces of text of the line being built."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.nodes: list[list] = []  # [first line, end line, element, parent node]
        self.pieces: list[tuple[str, bool, bool]] = []  # (text, inside a link, inside bold)
        self.links = self.bold = 0
        self.hstack: list[int] = []
        self.open_ids: list[int] = []
        self.cmt_stack: list[object] = []
        self.noise_stack: list[object] = []
        self.noise_ids: list[int] = []
        self.hlevel_at_piece: list[int] = []
        self.pre = 0

    def flush(self) -> None:
        if not self.pieces:
            return
        pieces = self.pieces
        text = squash("".join(p[0] for p in pieces))
        if text:
            n = len(WS.sub("", text))
            links = urls = 0
            for p in pieces:
                if p[1]:
                    size = len(WS.sub("", p[0]))
                    if "://" in p[0] and BARE_URL.match(p[0]):
                        urls += size
                    else:
                        links += size
            bold_chars = sum(len(WS.sub("", p[0])) for p in pieces if p[2])
            htag = min((h for h in self.hlevel_at_piece if h), default=0)
            self.lines.append(Line(text, n, links, bold_chars >= n, htag, cmt=bool(self.cmt_stack),
                                   noise=bool(self.noise_stack), nbox=self.noise_ids[-1] if self.noise_ids else -1,
                                   urls=urls, pre=self.pre > 0,
                                   para=bool(self.open_ids) and self.nodes[self.open_ids[-1]][2].tag == "p"))
        pieces.clear()
        self.hlevel_at_piece.clear()

    def add(self, text: str | None) -> None:
        if not text:
            return
        if self.pre and "\n" in text:  # a <pre> block keeps its lines: each source line is a line
            *whole, text = text.split("\n")
            for part in whole:
                self._piece(part)
                self.flush()
        self._piece(text)

    def _piece(self, text: str) -> None:
        if text:
            self.pieces.append((text, self.links > 0, self.bold > 0))
            self.hlevel_at_piece.append(self.hstack[-1] if self.hstack else 0)

    def start(self, el, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self.flush()
            self.nodes.append([len(self.lines), None, el, self.open_ids[-1] if self.open_ids else -1])
            self.open_ids.append(len(self.nodes) - 1)
            names = (el.get("class") or "") + " " + (el.get("id") or "")
            if COMMENT_BOX.search(names):
                self.cmt_stack.append(el)
            if NOISE_BOX.search(names):
                self.noise_stack.append(el)
                self.noise_ids.append(len(self.nodes) - 1)
        elif tag == "br":
            self.flush()
        if tag == "a":
            self.links += 1
        elif tag in BOLD_TAGS:
            self.bold += 1
        if tag in HEAD_TAGS:
            self.hstack.append(HEAD_TAGS[tag])
        elif tag == "pre":
            self.pre += 1
        self.add(el.text)

    def end(self, el, tag: str) -> None:
        if tag == "a":
            self.links -= 1
        elif tag in BOLD_TAGS:
            self.bold -= 1
        if tag in HEAD_TAGS and self.hstack:
            self.hstack.pop()
        if tag in BLOCK_TAGS:
            self.flush()
            if tag == "pre" and self.pre:
                self.pre -= 1
            if self.cmt_stack and self.cmt_stack[-1] is el:
                self.cmt_stack.pop()
            if self.noise_stack and self.noise_stack[-1] is el:
                self.noise_stack.pop()
                self.noise_ids.pop()
            if self.open_ids and self.nodes[self.open_ids[-1]][2] is el:
                self.nodes[self.open_ids.pop()][1] = len(self.lines)
        self.add(el.tail)


def extract_lines(root) -> tuple[list[Line], list[list]]:
    """Walk the tree once; return the lines and the block nodes [first, end, element, parent]."""
    walk = _LineWalker()
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            walk.start(el, tag)
        else:
            walk.end(el, tag)
    walk.flush()
    for node in walk.nodes:
        if node[1] is None:
            node[1] = len(walk.lines)
    return walk.lines, walk.nodes


def line_score(line: Line, rules: LineRules) -> float:
    """Positive for running text, negative for furniture. Scaled by characters."""
    n = line.n
    if n == 0:
        return 0.0
    text = line.text
    stamp = rules.is_stamp(text)  # a date line is not text, but it is no stronger a sign of chrome than a short line
    if not stamp and (rules.is_boilerplate(text) or is_related_header(text)):
        return -min(n, 30) * 1.0
    ld = line.links / n
    if ld > 0.5:
        return -n * 1.0
    score = _text_score(line, text, stamp)
    if line.pre:  # code or a listing: text, however terse (a line of prose in it scores as prose)
        return max(score, (n - line.links - line.urls) * PRE_WEIGHT)
    return score


def _text_score(line: Line, text: str, stamp: bool) -> float:
    n = line.n
    p = punct_count(text)
    if is_dated_item(text):
        return -min(n, 20)
    if DATE_ONLY.match(text):
        return -5.0
    own = n - line.links - line.urls  # a bare web address in a post is neither navigation nor prose
    if p >= 1 and own >= 12 and not stamp and not text.endswith(("...", "…")):
        # punctuation density: 1 mark every 8–40 characters is prose
        density = p / own
        w = 1.0 if density >= 0.02 else 0.5
        return own * w - line.links
    if line.htag or line.bold:
        return -1.0
    if line.para and not line.links and not line.cmt and own >= PARA_MIN and not stamp:
        # a paragraph of its own words without a sentence mark (a note, a step of a how-to): weak text; in a
        # comment box such a line is a short reaction, scored like any short line
        return own * PARA_WEIGHT
    return -min(own, 10) * 0.5 - line.links


WHOLE_SLACK = 12.0
DATE_ONLY = re.compile(r"^\s*(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?\s*$")
NOISE_WEIGHT = 0.2
MAIN_NOISE_MIN = 30.0  # score: a page with less text than this has no main text to find
PRE_WEIGHT = 0.5  # a line of a <pre> block: half the weight of prose
PARA_MIN, PARA_WEIGHT = 8, 0.3  # a <p> of its own words without a sentence mark: weak text
# A link whose text is a web address written out (https://…): the writer's own reference, never a menu item.
BARE_URL = re.compile(r"^\s*(?:https?|ftp)://\S+\s*$", re.I)


# A line of verse: one short clause closed by its punctuation (深夜看书须尽欢，). Alone it looks like a button or a
# label; VERSE_MIN of them in a row (a quatrain, the shortest common form) are a poem, scored as text.
VERSE_LINE = re.compile(r"^[^，。！？；,;!?\s]{4,15}[，。！？；,;!?]$")
VERSE_MIN = 4


def _scored(lines: list[Line], rules: LineRules) -> list[Line]:
    """Every line with its own score, and verse lines (see VERSE_LINE) with the score of prose."""
    run: list[Line] = []
    for ln in lines:
        ln.score = line_score(ln, rules)
        if not ln.links and ln.n <= 16 and VERSE_LINE.match(ln.text):
            run.append(ln)
            continue
        _score_verse(run)
        run = []
    _score_verse(run)
    return lines


def _score_verse(run: list[Line]) -> None:
    if len(run) >= VERSE_MIN:
        for ln in run:
            ln.score = max(ln.score, float(ln.n))


def _main_noise_boxes(lines: list[Line], nodes: list[list]) -> set[int]:
    """The boxes named like page furniture (a "stream", a "side" column) that hold most of the page's text: a
    discussion's post stream or an article in a box so named is the content, not furniture (see NOISE_BOX). A
    box so named inside it (a share bar, a feed of teasers under the article) is still furniture."""
    boxes = {ln.nbox for ln in lines if ln.nbox >= 0}
    if not boxes:
        return set()
    prefix = [0.0]
    for ln in lines:
        prefix.append(prefix[-1] + max(0.0, ln.score))
    total = prefix[-1]
    if total < MAIN_NOISE_MIN:
        return set()
    # the page's body itself (a class such as "has-nav-bar") is left as it was: every line weighs the same in it
    return {b for b in boxes if nodes[b][2].tag not in ("body", "html")
            and prefix[nodes[b][1]] - prefix[nodes[b][0]] >= MAIN_SHARE * total}


def choose(lines: list[Line], nodes: list[list], rules: LineRules,
           comments: bool = False) -> tuple[int, int]:
    """The (first, end) line range with the highest summed score that is a run of siblings.

    For every block element, a maximum-subarray pass runs over its children (child elements and
    loose lines, in order); the best run over the whole tree wins. A run of sibling paragraphs
    inside a table cell that also holds link lists is found; a region never starts half-way into
    a sidebar. Unless ``comments`` is true, lines inside comment/reply containers count against.
    """
    prefix = [0.0]
    main_boxes = _main_noise_boxes(_scored(lines, rules), nodes)
    for ln in lines:
        if ln.cmt and not comments:
            ln.score = -abs(ln.score) - 1
        elif ln.noise and ln.score > 0 and ln.nbox not in main_boxes:
            ln.score *= NOISE_WEIGHT
        prefix.append(prefix[-1] + ln.score)
    children: list[list[int]] = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        if node[3] >= 0:
            children[node[3]].append(i)
    best, best_range = float("-inf"), (0, len(lines))
    whole, whole_range = float("-inf"), (0, len(lines))
    for i, (first, end, _el, _parent) in enumerate(nodes):
        if end <= first:
            continue
        full = prefix[end] - prefix[first]
        if full > whole:  # children end before their parents start? no: ids are in start order
            whole, whole_range = full, (first, end)
        elif full == whole and end - first < whole_range[1] - whole_range[0]:
            whole_range = (first, end)
        cur, cur_start = 0.0, first
        pos = first
        units: list[tuple[int, int]] = []
        for c in children[i]:
            cf, ce = nodes[c][0], nodes[c][1]
            units.extend((k, k + 1) for k in range(pos, cf))
            if ce > cf:
                units.append((cf, ce))
            pos = max(pos, ce)
        units.extend((k, k + 1) for k in range(pos, end))
        for uf, ue in units:
            sc = prefix[ue] - prefix[uf]
            if cur <= 0:
                cur, cur_start = sc, uf
            else:
                cur += sc
            if cur > best or (cur == best and ue - cur_start < best_range[1] - best_range[0]):
                best, best_range = cur, (cur_start, ue)
    # a whole element that is nearly as good keeps its short edge lines ("各位代表：")
    if whole >= best - max(WHOLE_SLACK, 0.05 * abs(best)):
        return whole_range
    return best_range


# ----------------------------------------------------------------------------- lists of posts

# Lists of posts recognised by their shape, not by their class names.
#
# A thread's posts, a review list and an article's comments look alike: several sibling blocks of one kind (same
# tag and first class, or the same id stem such as ``post_``), each with a stamp line (a date with a time of day,
# or "3 天前") and more text besides. Inside such a list, a part that is short in every post (author, level,
# counters, reply and like buttons) is the post's furniture, and the part that varies is its text.
#
# Whether a list is content (a thread, a review list) or an article's comments is decided by where the page's
# main text is (``content_lines``): posts that hold it, or that carry floor numbers or are named like a thread's,
# are a thread; replies that are only a few words next to the post they answer are reactions, like comments.
# A post holding its own replies (each with a stamp) is still one post: its replies are part of it, and places
# they share across posts are text or furniture like any other. A thread's opening post laid out above its replies,
# in a box of their kind but not among them, is the thread's too.

DIGITS = re.compile(r"\d+")
# A floor number: "#3", "3楼", or the names forums give the first floors.
FLOOR = re.compile(r"(?:^|\s)#\d{1,5}(?:\s|$)|(?<![\d.])\d{1,5}\s*楼(?!主)|^(?:沙发|板凳|地板|楼主)$")
FLOOR_LINE_MAX = 60
META_MAX = 20  # characters: an author name, a level, a counter or a button, never a post's text
META_SHARE = 0.8  # of a place's lines that must look like furniture
STAMPED_SHARE = 0.6  # of the posts that must show a stamp line
MAX_STAMPS = 3  # a block with more stamp lines is a list itself (a card holding several teasers)
LINK_SHARE = 0.5  # a post is mostly its own words; a block of links is a menu or a teaser list
MAIN_SHARE = 0.5  # the posts hold the main text when they hold this share of the chosen region's score
REACTION_SHARE = 0.2  # replies shorter than this share of the post they answer, all together, are reactions


@dataclass
class PostList:
    units: list[tuple[int, int]]  # line ranges of the posts, in order
    meta: set[int]  # lines that are per-post furniture
    text: set[int]  # lines in the places that hold the posts' text
    floors: bool  # the posts carry floor numbers, or are named like a thread's: a thread's replies
    head: int = -1  # the block of the first post

    @property
    def lines(self) -> set[int]:
        return {k for a, b in self.units for k in range(a, b)}

    @property
    def first(self) -> int:
        return self.units[0][0]

    @property
    def end(self) -> int:
        return self.units[-1][1]


def _kind(el) -> tuple[str, str]:
    """What makes siblings the same kind of block: the tag and first class, or the tag and the id's stem."""
    classes = (el.get("class") or "").split()
    if classes:
        return el.tag, DIGITS.sub("", classes[0])
    return el.tag, DIGITS.sub("", el.get("id") or "")


def post_lists(lines: list, nodes: list[list]) -> list[PostList]:
    """The outermost lists of posts on the page (a list inside a post, such as replies to a reply, belongs to it)."""
    groups: dict[tuple[int, tuple[str, str]], list[int]] = {}
    for i, (first, end, el, parent) in enumerate(nodes):
        if parent >= 0 and end - first >= 2 and isinstance(el.tag, str):
            groups.setdefault((parent, _kind(el)), []).append(i)
    stamp = [is_stamp_line(ln.text, loose=True) for ln in lines]
    # running sums over the lines, so that each candidate post is measured at once, however deep the page
    sums = [(0, 0, 0)]
    for ln, stamped in zip(lines, stamp, strict=True):
        stamps, chars, links = sums[-1]
        sums.append((stamps + stamped, chars + ln.n, links + ln.links))
    found: list[tuple[tuple[int, int], list[int]]] = []
    spans: list[tuple[int, int]] = []  # (first line, -end line) of the lists found so far, in order
    # the innermost lists first (a deeper box starts later): a post's own replies are known when the post is measured
    for key in sorted(groups, key=lambda g: -g[0]):
        members = groups[key]
        if len(members) >= 2 and _are_posts(nodes, members, sums, spans):
            span = (nodes[members[0]][0], -nodes[members[-1]][1])
            bisect.insort(spans, span)
            found.append((span, members))
    found.sort(key=lambda f: f[0])
    outer: list[PostList] = []
    reach = -1
    for (first, neg_end), members in found:
        if first >= reach:
            outer.append(_as_posts(lines, nodes, members, stamp))
            reach = -neg_end
    return outer


def _are_posts(nodes: list[list], members: list[int], sums: list[tuple[int, int, int]],
               inner: list[tuple[int, int]]) -> bool:
    """Whether the blocks ``members`` are a list of posts: (nearly) each has a stamp line and is mostly its own
    words. ``sums``: running sums of stamps, characters and link characters over the lines. ``inner``: the spans
    (first, -end) of the lists of posts found in deeper boxes, in order; a post's replies (a list inside it) do not
    make it a list itself."""
    stamped = 0
    for i in members:
        first, end = nodes[i][0], nodes[i][1]
        stamps, chars, links = (b - a for a, b in zip(sums[first], sums[end], strict=True))
        if stamps > MAX_STAMPS:
            stamps -= _nested_stamps(inner, first, end, sums)
            if stamps > MAX_STAMPS:
                return False
        if stamps and links <= LINK_SHARE * chars:
            stamped += 1
    # two posts must both show a stamp; a longer list may have a few without (a deleted or pinned post)
    return stamped >= (len(members) if len(members) == 2 else max(3, STAMPED_SHARE * len(members)))


def _nested_stamps(inner: list[tuple[int, int]], first: int, end: int, sums: list[tuple[int, int, int]]) -> int:
    """The stamp lines of the lists of posts inside the lines ``first``..``end`` (the outermost of them)."""
    total, reach = 0, first
    for a, neg_b in inner[bisect.bisect_left(inner, (first, -end)):bisect.bisect_left(inner, (end, -end))]:
        if a >= reach and -neg_b <= end:
            total += sums[-neg_b][0] - sums[a][0]
            reach = -neg_b
    return total


def _as_posts(lines: list, nodes: list[list], members: list[int], stamp: list[bool]) -> PostList:
    """The blocks ``members``, a list of posts, with their furniture and text places and whether they are a
    thread's (floor numbers, or named like a thread's)."""
    units = [(nodes[i][0], nodes[i][1]) for i in members]
    floors = sum(1 for first, end in units if any(
        lines[k].n <= FLOOR_LINE_MAX and FLOOR.search(lines[k].text) for k in range(first, end)))
    meta, text = _places(lines, nodes, members, stamp)
    return PostList(units, meta, text, floors * 2 >= len(units) or _named_thread(nodes, members), members[0])


def _named_thread(nodes: list[list], members: list[int]) -> bool:
    """The posts, their box or the box around it are named like a thread's (postlist, thread, floor, forum)."""
    parent = nodes[members[0]][3]
    around = [nodes[i][2] for i in members] + [nodes[parent][2]]
    if nodes[parent][3] >= 0:
        around.append(nodes[nodes[parent][3]][2])
    return any(THREAD_BOX.search((el.get("class") or "") + " " + (el.get("id") or "")) for el in around)


def _slots(nodes: list[list], unit: int) -> dict[int, tuple]:
    """Line → its place inside the post: the kinds of the blocks from the post down to the line."""
    first, end = nodes[unit][0], nodes[unit][1]
    place: dict[int, tuple] = {k: () for k in range(first, end)}
    paths: dict[int, tuple] = {unit: ()}
    j = unit + 1
    while j < len(nodes) and nodes[j][3] in paths:  # nodes are in document order: the subtree follows its root
        path = paths[nodes[j][3]] + (_kind(nodes[j][2]),)
        paths[j] = path
        for k in range(nodes[j][0], nodes[j][1]):
            place[k] = path
        j += 1
    return place


def _places(lines: list, nodes: list[list], members: list[int], stamp: list[bool]) -> tuple[set[int], set[int]]:
    """(furniture, text) lines of the posts, by their place in the post.

    Furniture: a place that at least two posts have and that is short (or a stamp) in (nearly) all of them.
    Text: the shared place holding most of the posts' words, however short some posts are, places inside it,
    and any other place that at least two posts have and that somewhere holds a sentence or a longer line.
    Headings are never furniture. A place only one post has is neither."""
    by_place: dict[tuple, list[int]] = {}
    owners: dict[tuple, set[int]] = {}
    for u, unit in enumerate(members):
        for k, path in _slots(nodes, unit).items():
            by_place.setdefault(path, []).append(k)
            owners.setdefault(path, set()).add(u)
    # the posts' text: of the places the posts share, the one with most of their own words (not links such as
    # user names, not stamps); a place one post alone has (a first post laid out apart) cannot be it
    shared = [p for p in by_place if len(owners[p]) >= 2] or list(by_place)
    body = max(shared, key=lambda p: sum(lines[k].n - lines[k].links for k in by_place[p] if not stamp[k]))
    meta: set[int] = set()
    text: set[int] = set(by_place[body])
    for path, ks in by_place.items():
        if path[:len(body)] == body:  # inside the text's place: a quote, a styled reply
            text.update(ks)
            continue
        if len(owners[path]) < 2:
            continue  # one post's own extra (a signature, a badge): neither, the chosen region decides
        short = sum(1 for k in ks if stamp[k] or _byline(lines[k]))
        if short >= META_SHARE * len(ks):  # a user name with a "；" in it does not make a place text
            meta.update(ks)
        else:
            text.update(ks)
    return meta, text


def _byline(line) -> bool:
    """A line that can be a post's furniture: short, or a user's linked name with a handle, and no sentence."""
    return (line.n <= META_MAX or (line.links and line.n <= 2 * META_MAX)) and not line.htag \
        and not SENTENCE_MARK.search(line.text)


def _chars(lines: list, pl: PostList, unit: tuple[int, int]) -> int:
    return sum(lines[k].n for k in range(*unit) if k not in pl.meta)


def _main_share(pl: PostList, lines: list, region: tuple[int, int]) -> float:
    """The share of the chosen region's text that lies in the posts' span."""
    first, end = region
    total = sum(max(0.0, ln.score) for ln in lines[first:end])
    inside = sum(max(0.0, lines[k].score) for k in range(max(first, pl.first), min(end, pl.end)))
    return inside / total if total > 0 else 0.0


def content_lines(pl: PostList, lines: list, region: tuple[int, int], main: bool) -> set[int]:
    """The lines of the posts that are page content: none for an article's comments, every post's text for a
    thread or a review list, the first post alone when the others are only reactions to it.

    Posts holding the main text (``main``) are the page's content; posts outside it are a thread's replies when
    they carry floor numbers (#2, 2楼) or are named like a thread's, and are mostly their own words, not links.
    Replies that together are a small fraction of the post they answer (写得很好，收藏了) are reactions, like
    comments."""
    first, end = region
    units = pl.units
    if main:
        lead = _chars(lines, pl, units[0])
        replies = units[1:]
    elif pl.floors:
        lead = sum(lines[k].n for k in range(first, end) if not (pl.first <= k < pl.end))
        replies = units
        links = sum(lines[k].links for a, b in units for k in range(a, b) if k not in pl.meta)
        if links > LINK_SHARE * sum(_chars(lines, pl, u) for u in units):
            return set()
    else:
        return set()
    if sum(_chars(lines, pl, u) for u in replies) < REACTION_SHARE * lead:
        units = [u for u in units if u not in replies]
    # a post's words outside the places the posts share (a code block in one reply) are its text when they are code
    # or score as text; its other extras (a badge, a signature line) are left to the chosen region
    return {k for a, b in units for k in range(a, b)
            if k not in pl.meta and (first <= k < end or k in pl.text or lines[k].pre or lines[k].score > 0)}


def _apply_posts(lines: list, nodes: list[list], region: tuple[int, int], take: list[bool]) -> None:
    """Let each list of posts decide for its lines (see ``content_lines``). Lists that each hold a little of the
    main text but together most of it (a thread shown in several boxes) hold it all."""
    lists = post_lists(lines, nodes)
    shares = [_main_share(pl, lines, region) for pl in lists]
    together = sum(shares) >= MAIN_SHARE
    for pl, share in zip(lists, shares, strict=True):
        main = share >= MAIN_SHARE or (together and share > 0)
        posts, own = content_lines(pl, lines, region, main), pl.lines
        for k in _opening_post(lines, nodes, pl) if posts else ():
            take[k] = lines[k].score > 0  # its text; its furniture and the bar above the replies go
        for k in range(pl.first, pl.end):
            if k in own:
                take[k] = k in posts  # the posts' place decides, whatever their boxes are named
            elif lines[k].score <= 0:
                take[k] = False  # between the posts: an ad, a separator, a "load more" bar


def _opening_post(lines: list, nodes: list[list], pl: PostList) -> range:
    """The lines from a thread's opening post down to its replies, when the opening post is laid out above them in a
    box of the replies' own kind but not among them (the replies in a list of their own below it): the block of
    that kind holding the last text line above the replies, with a stamp line of its own, and nothing but
    furniture between it and the replies (tabs, a sort order, a log-in bar)."""
    stop = next((k for k in range(pl.first - 1, -1, -1) if lines[k].score > 0), -1)
    if stop < 0:
        return range(0)
    j = pl.head - 1
    while j >= 0 and nodes[j][0] > stop:  # the boxes between that line and the replies
        j -= 1
    kind = _kind(nodes[pl.head][2])
    while j >= 0:  # the boxes around that line, innermost first
        first, end, el, parent = nodes[j]
        if end > pl.first:
            return range(0)  # a box around the replies too: no block of its own
        if end > stop and _kind(el) == kind:
            if not any(is_stamp_line(ln.text, loose=True) for ln in lines[first:end]):
                return range(0)
            return range(first, pl.first)
        j = parent
    return range(0)


THREAD_BOX = re.compile(r"(?:^|[\s_-])(?:thread\w*|topic|forum\w*|bbs|floor\w*|postlist|post-?list|"
                        r"postmessage|post-?body|posts)(?:$|[\s_-])", re.I)


def _is_thread(root) -> bool:
    """A forum thread or Q&A page: its replies are its content (an article's comments are not)."""
    return any(THREAD_BOX.search((el.get("class") or "") + " " + (el.get("id") or ""))
               for el in root.iter() if isinstance(el.tag, str))


def extract(root, rules: LineRules, selectors: list[str] | tuple[str, ...] = ()) -> Extract:
    prune(root, selectors)
    lines, nodes = extract_lines(root)
    if not lines:
        return Extract([], [], root)
    first, end = choose(lines, nodes, rules)
    prose = sum(ln.score for ln in lines[first:end] if ln.score > 0)
    # a page that is mostly comments (a review list, a thread): the comments are the content
    comments = any(ln.cmt for ln in lines) and (prose < 100 or _is_thread(root))
    if comments:
        first, end = choose(lines, nodes, rules, comments=True)
    region = [first <= k < end and (comments or not ln.cmt) for k, ln in enumerate(lines)]
    take = list(region)
    _apply_posts(lines, nodes, (first, end), take)
    if not any(take):
        take = region  # the lists took everything: never lose the page over them
    return Extract(lines, [ln for k, ln in enumerate(lines) if take[k]], root)
