"""Property tests: random HTML never raises anything but CleanError, and the cleaner only deletes text.

The second property: headings and section texts, concatenated in order with all whitespace removed, are
a subsequence of the page's visible text (the text nodes outside script/style/…, whitespace removed).
The cleaner may drop lines and delete page counters, but never invents, rewrites or reorders text.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.clean import CleanError, clean_page
from indexer.model import LoadedPage

WS = re.compile(r"[\s\u00a0\u200b\u200c\u200d\u2060\ufeff\u3000]+")
# Not "head": text libxml2 puts in <head> (after an unknown tag such as CleanEval's <text>) is shown by browsers,
# and the cleaner rightly keeps it.
INVISIBLE = ("script", "style", "noscript", "template", "title", "textarea", "select", "option", "meta")

TEXTS = st.sampled_from([
    "今年以来，工会紧紧围绕中心工作，认真履行维护职能。", "一、加强组织建设", "（一）扎实开展送温暖。",
    "1、精心组织", "相关文章：", "推荐度：", "点击下载文档", "3/19", "应急技能8/19处置大赛", "2/19",
    "机关工会年度工作总结篇一", "【第二篇】", "扩展阅读：工会工作总结", "版权所有", "12-26", "医院工会工作总结12-26",
    "下面是小编为大家整理的范文", "当前位置：首页>范文", "一是", "。", "，", " ", "\n", "&nbsp;", "&amp;", "x",
    "职工之家建设取得了新的进展，全年慰问困难职工83人次，发放慰问金12.6万元。",
])
TAGS = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", '<div class="comment">', '<div class="related">', "<br>", "<br/>",
    '<a href="/x">', "</a>", "<b>", "</b>", "<strong>", "</strong>", "<h1>", "</h1>", "<h2>", "</h2>",
    "<li>", "</li>", "<ul>", "</ul>", "<table><tr><td>", "</td></tr></table>", "<td>", "<script>var a='<p>';",
    "</script>", "<style>", "</style>", "<span>", "</span>", "<title>", "</title>", "<!--", "-->", "<",
    ">", "&", "<nav>", "</nav>", '<p style="display:none">', "<o:p>", "</o:p>", "<![CDATA[", "]]>",
    "<html>", "<body>", "</body>", "<head>", "<meta charset=gbk>", "<text id=x>", "<?xml version='1.0'?>",
])
PAGES = st.lists(st.one_of(TEXTS, TAGS, st.text(max_size=12)), max_size=60).map("".join)


def visible_text(markup: str) -> str:
    """Whitespace-free visible text of the markup, with an independent walk over the same parse."""
    from indexer.clean.html import parse

    root = parse(markup)
    if root is None:
        return ""
    for el in list(root.iter(*INVISIBLE)):
        if el.getparent() is not None:
            el.drop_tree()
    return WS.sub("", root.text_content())


def cleaned_text(cp) -> str:
    return WS.sub("", "".join(s.heading + s.text for d in cp.documents for s in d.sections))


def is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


def page(markup: str, kind: str = "html") -> LoadedPage:
    return LoadedPage(path="/x/p.html", source="p.html", kind=kind, text=markup, encoding="utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAGES)
@example(markup="<head><text id=x>今年以来，工会紧紧围绕中心工作，认真履行维护职能。")  # found by hypothesis in CI
def test_random_html_never_raises_and_only_deletes(markup):
    try:
        cp = clean_page(page(markup))
    except CleanError as e:
        assert e.reason
        return
    assert is_subsequence(cleaned_text(cp), visible_text(markup))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXTS, st.text(max_size=20)), max_size=40).map("".join))
def test_random_text_never_raises_and_only_deletes(text):
    try:
        cp = clean_page(page(text, "text"))
    except CleanError:
        return
    assert is_subsequence(cleaned_text(cp), WS.sub("", text))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400).map(lambda b: b.decode("latin-1")))
def test_random_bytes_as_markup(markup):
    """Any bytes read as markup: only CleanError (with a reason) escapes, and the cleaner only deletes text."""
    try:
        cp = clean_page(page(markup))
    except CleanError as e:
        assert e.reason and "\n" not in str(e)
        return
    assert is_subsequence(cleaned_text(cp), visible_text(markup))


def test_visible_text_helper_sees_through_tags():
    assert visible_text("<p>工会<script>x</script><b>工作</b></p>") == "工会工作"
