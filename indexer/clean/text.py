"""Line-level rules: what a boilerplate line looks like, page counters, text measures.

Everything here works on one line (a paragraph) at a time and knows nothing about the DOM, so the
same rules serve HTML blocks and plain-text dumps. The rules are *categories* of site furniture
(breadcrumbs, related-article headers, download buttons, copyright and ICP lines, bylines, site
filler such as "下面是小编为大家整理的…"), not strings of particular pages. Users add their own
patterns in ``config.yaml`` (``clean.drop_line_patterns``, per site under ``clean.sites``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

WS = re.compile(r"[\s\u00a0\u200b\u200c\u200d\u2060\ufeff\u3000]+")
# C0/C1 control characters other than tab and line breaks: never text, and an ESC that reaches a terminal
# (`unionsearch search`/`clean` print section text) can retitle it or rewrite the screen.
CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Sentence punctuation: a strong sign of running text (CEPF's "punctuation density"). A colon between digits is a
# time of day ("09:42"), the mark of a post's date line, not of a sentence.
PUNCT = re.compile(r"[，。；！？、,;!?“”]|(?<!\d)[：:]|[：:](?!\d)")
SENT_END = "。！？；!?;"
DATE_RE = re.compile(
    r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
)

_DATA = Path(__file__).parents[1] / "data" / "clean_boilerplate.txt"


def squash(text: str) -> str:
    """Drop control characters, collapse runs of whitespace into one space and strip."""
    return WS.sub(" ", CONTROLS.sub("", text)).strip()


def punct_count(text: str) -> int:
    return len(PUNCT.findall(text))


@lru_cache(maxsize=1)
def builtin_patterns() -> tuple[re.Pattern, re.Pattern]:
    """(short-line patterns, any-line patterns) from ``indexer/data/clean_boilerplate.txt``.

    File format: one regular expression per line; ``#`` starts a comment; a line under the
    ``[short]`` header applies only to lines of at most SHORT_LINE characters, under ``[any]`` to
    every line.
    """
    groups: dict[str, list[str]] = {"short": [], "any": []}
    current = "short"
    for raw in _DATA.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line in ("[short]", "[any]"):
            current = line[1:-1]
            continue
        groups[current].append(line)
    return (re.compile("|".join(f"(?:{p})" for p in groups["short"])),
            re.compile("|".join(f"(?:{p})" for p in groups["any"])))


SHORT_LINE = 80
# A platform's counter of what readers did: "161 人赞同了该回答", "1.2万次播放", "3 个赞", "28人收藏".
INTERACTION_COUNT = re.compile(
    r"^\d+(?:\.\d+)?[万千kKwW]?(?:人|次|个|条)(?:已|都)?(?:赞同|赞|点赞|阅读|浏览|观看|播放|关注|收藏|喜欢|评论|回复|回答|"
    r"转发|分享|投票|围观|参与|看过|在看)(?:了|过)?(?:该|这个|此)?(?:回答|文章|内容|视频|问题|话题)?$")

# A like or vote button showing its count as "+N" (赞 +1, 顶 +12): a short word and a plus count, nothing else.
PLUS_COUNT = re.compile(r"^[\u4e00-\u9fff]{1,4}[+＋]\d{1,6}$")


class LineRules:
    """Boilerplate line matcher: the built-in categories plus user patterns from config."""

    def __init__(self, extra: list[str] | tuple[str, ...] = ()):
        self.short, self.any = builtin_patterns()
        compiled = []
        for p in extra:
            try:
                compiled.append(re.compile(p))
            except re.error:
                continue  # a bad user pattern must not stop cleaning; config tests report it
        self.extra = compiled
        self._memo: dict[str, bool] = {}
        self._stamps: dict[str, bool] = {}

    def is_stamp(self, line: str) -> bool:
        """A date-and-time line (``is_stamp_line``), remembered like ``is_boilerplate``."""
        hit = self._stamps.get(line)
        if hit is None:
            hit = self._stamps[line] = is_stamp_line(line)
        return hit

    def is_boilerplate(self, line: str) -> bool:
        hit = self._memo.get(line)
        if hit is None:
            hit = self._memo[line] = self._check(line)
        return hit

    def _check(self, line: str) -> bool:
        s = WS.sub("", line)
        if not s:
            return True
        if len(s) <= SHORT_LINE and (self.short.search(s) or INTERACTION_COUNT.match(s) or PLUS_COUNT.match(s)):
            return True
        if self.any.search(s):
            return True
        if len(s) <= STAMP_LINE_MAX and self.is_stamp(line):
            return True
        return any(p.search(line) or p.search(s) for p in self.extra)


RELATED_HEADER = re.compile(
    r"^(?:【[^】]{0,60}】|.{0,60}?)(?:相关(?:文章|资源|阅读|推荐|链接|内容|新闻|范文|文档)|猜你喜欢|"
    r"推荐阅读|热门(?:文章|推荐|阅读|资源)|最新(?:文章|资源|范文|更新)|精选图文|近期文章|文章归档|"
    r"类似文章|延伸阅读|为你推荐|为您推荐|精彩推荐|更多精彩|大家都在看|其他人也在看|看了(?:本文|此文)的人还看了|"
    r"相關(?:文章|新聞|閱讀|推薦)|推薦閱讀|熱門(?:文章|新聞|推薦)|延伸閱讀|你可能(?:也)?(?:喜欢|喜歡|感兴趣|感興趣))"
    r"\s*[:：]?\s*(?:更多)?\s*[>»]*$"
)


def is_related_header(line: str) -> bool:
    return bool(RELATED_HEADER.match(WS.sub("", line)))


# ----------------------------------------------------------------------------- stamp lines

# The date-and-time line of a post or a news item ("2024-05-10 17:46", "24-5-13 17:08 来自福建", "发表于 2小时前"):
# a date with a time of day, a time counted back from now, or a date among labelled fields. Without a year
# ("05-13 17:08") only inside a list of posts (``loose``): in running text "3月8日 14:30 开幕式" is an agenda line.
_TIME = r"(?:[01]?\d|2[0-3])[:：][0-5]\d(?:[:：][0-5]\d)?"
_YMD = r"(?:19|20)?\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
_MD = r"\d{1,2}\s*[-/月]\s*\d{1,2}\s*日?"
_DAYPART = r"\s*(?:(?:周|星期|週|礼拜)[一二三四五六日天])?\s*(?:凌晨|早上|上午|中午|下午|晚上)?\s*"
_AGO = (r"(?:^|(?<=[\s·|•/于]))(?:\d{1,3}|半|几)\s*(?:秒|分钟|小时|个小时|天|周|个月|月|年)前(?=$|[\s·|•/])"
        rf"|(?:今天|昨天|前天)\s*{_TIME}|^(?:刚刚|昨天|前天)(?=$|\s)")
STAMP = re.compile(rf"(?<!\d){_YMD}{_DAYPART}{_TIME}(?!\d)|{_AGO}")
# A date without a time is a byline too when labelled fields share its line ("2015-11-05 阅读：8169 来源:转载").
DATE_ONLY_STAMP = re.compile(rf"(?<!\d){_YMD}(?!\d)")
FIELD = re.compile(r"(?:来源|作者|阅读|浏览|点击|编辑|责编|发布者|出处|人气)\s*[:：]")
LOOSE_STAMP = re.compile(rf"(?<!\d)(?:{_YMD}|{_MD}){_DAYPART}{_TIME}(?!\d)|{_AGO}")
STAMP_LINE_MAX = 60  # characters
STAMP_REST_MAX = 40  # characters besides the stamp: a name, a place, a source, a floor number
SENTENCE_MARK = re.compile(r"[，。；！？,;!?]")
STAMP_HINT = re.compile(r"[:：前刚昨]")  # every stamp has one of these: most lines are passed over at once


def is_stamp_line(line: str, loose: bool = False) -> bool:
    """A short line made of a post's date and time and a few labels (author, place, source), no sentence."""
    if len(line) > 2 * STAMP_LINE_MAX or not STAMP_HINT.search(line):
        return False
    m = (LOOSE_STAMP if loose else STAMP).search(line)
    if m is None and FIELD.search(line):
        m = DATE_ONLY_STAMP.search(line)
    if m is None:
        return False
    rest = WS.sub("", line[:m.start()] + line[m.end():])
    return len(WS.sub("", line)) <= STAMP_LINE_MAX and len(rest) <= STAMP_REST_MAX and not SENTENCE_MARK.search(rest)


# ----------------------------------------------------------------------------- page counters

COUNTER = re.compile(r"(?<![\d/.:：])(\d{1,3})\s*/\s*(\d{1,3})(?![\d/%])")
COUNTER_LINE = re.compile(r"^\s*(?:第\s*)?\d{1,3}\s*/\s*\d{1,3}\s*页?\s*$")


def page_total(lines: list[str]) -> int | None:
    """The N of "k/N" page counters when the page shows at least two of them (1/19, 2/19, …)."""
    seen: dict[int, set[int]] = {}
    for line in lines:
        for m in COUNTER.finditer(line):
            k, n = int(m.group(1)), int(m.group(2))
            if 1 <= k <= n and n >= 2:
                seen.setdefault(n, set()).add(k)
    best = None
    for n, ks in seen.items():
        if len(ks) >= 2 and (best is None or len(ks) > len(seen[best])):
            best = n
    return best


def strip_counters(line: str, total: int | None) -> str:
    """Remove "k/total" page counters, also mid-sentence: 应急技能8/19处置大赛 → 应急技能处置大赛."""
    if total is None:
        return line

    def repl(m: re.Match) -> str:
        k, n = int(m.group(1)), int(m.group(2))
        return "" if n == total and 1 <= k <= n else m.group(0)

    return COUNTER.sub(repl, line)


def is_counter_line(line: str) -> bool:
    return bool(COUNTER_LINE.match(line))


# ----------------------------------------------------------------------------- list items

# "医院工会工作总结范文12-26": a title glued to a short date, the look of a related-article list.
DATED_ITEM = re.compile(r"^[^，。；！？,;!?]{2,60}?(?:\d{4}[-/.])?\d{1,2}[-/.]\d{1,2}$")


def is_dated_item(line: str) -> bool:
    s = WS.sub("", line)
    return len(s) <= 70 and bool(DATED_ITEM.match(s))


