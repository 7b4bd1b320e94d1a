"""The cleaner's stages one at a time: line rules, counters, headings, documents, metadata, duplicates."""

from __future__ import annotations

import pytest

from indexer.clean import CleanError, clean_page
from indexer.clean.dedupe import mark_duplicates
from indexer.clean.meta import norm_date, pick_title, site_of
from indexer.clean.split import Para, heading_level, reflow, split_sections
from indexer.clean.text import LineRules, is_dated_item, is_related_header, page_total, strip_counters
from indexer.config import CleanSettings
from indexer.model import Document, LoadedPage, Section

BODY = "今年以来，工会紧紧围绕中心工作，认真履行维护职能，扎实开展职工之家建设，取得了新的进展。"


def html(markup: str, url: str | None = None) -> LoadedPage:
    return LoadedPage(path="/x/a.html", source="a.html", kind="html", text=markup, encoding="utf-8", url=url)


@pytest.mark.parametrize("line", [
    "当前位置：首页 > 办公文档 > 总结/报告", "作文档>范文大全>工作总结>工会工作总结", "推荐度：★★★★★", "点击下载文档",
    "Copyright©2015-2024 某网 版权所有", "鲁ICP备15028871号-2", "本文标题：工会工作总结", "链接地址：https://a.cn/1.html",
    "下面是小编为大家收集整理的工会工作总结，欢迎大家阅读参考。", "来源：区总工会组织部", "编辑：张三",
    "发布时间：2024-02-26 09:35",
    "上一篇：市总工会召开2024年工作会议", "免责声明：本文仅限学习分享", "【打印本页】 【关闭窗口】",
])
def test_boilerplate_line_categories(line):
    assert LineRules().is_boilerplate(line)


@pytest.mark.parametrize("line", [BODY, "各位代表、老师们：", "县总工会党组：", "一、加强组织建设", "特此报告。"])
def test_content_lines_survive(line):
    assert not LineRules().is_boilerplate(line)


def test_user_patterns_from_config():
    assert LineRules([r"^本站特供"]).is_boilerplate("本站特供内容")
    assert not LineRules(["("]).is_boilerplate(BODY)  # a bad pattern is ignored, not fatal


def test_related_headers_and_dated_items():
    assert is_related_header("市第二人民医院工会2023年工作总结相关文章：")
    assert is_related_header("【工会组织部工作总结优秀】相关文章:")
    assert is_related_header("猜你喜欢")
    assert is_dated_item("医院工会工作总结范文12-26")
    assert not is_dated_item(BODY)


def test_page_counters_mid_sentence():
    lines = ["1/19乡镇工会", "应急技能8/19处置大赛", "职工占比1/3左右"]
    total = page_total(lines)
    assert total == 19
    assert strip_counters("应急技能8/19处置大赛", total) == "应急技能处置大赛"
    assert strip_counters("职工占比1/3左右", total) == "职工占比1/3左右"
    assert page_total(["职工占比1/3左右"]) is None  # one fraction is not a page counter


@pytest.mark.parametrize("text,hint,level", [
    ("一、坚持民主管理，开好第六届职代会第三次会议", False, 1.0),
    ("（一）经费收缴不够及时足额", False, 2.0),
    ("(三)广泛开展了慈善捐款,扶困慰问深得人心", False, 2.0),
    ("1、精心组织，竞赛活动有序推进", False, 3.0),
    ("2.以四赛四比活动内容为载体", False, 3.0),
    ("(1)继续参加了省直机关女职工活动", False, 4.0),
    ("一是坚持定期政治学习", False, 6.0),
    ("（一）扎实开展“两节”送温暖。元旦春节期间，院领导和工会干部分五个组走访慰问困难职工83人次。", False, None),
    ("3.5万元用于职工活动", False, None),
    ("工作回顾与展望", True, 1.5),
    ("工作回顾与展望", False, None),
    (BODY, True, None),
])
def test_heading_rule(text, hint, level):
    assert heading_level(Para(text, hint=hint)) == level


def test_sections_flat_with_paths_and_lead():
    paras = [Para(x) for x in ["各位代表：", "一、主要工作", "（一）民主管理", BODY, "（二）校务公开", BODY,
                               "二、问题", BODY]]
    secs = split_sections(paras)
    assert [s.heading for s in secs] == ["", "一、主要工作", "（一）民主管理", "（二）校务公开", "二、问题"]
    assert secs[0].text == "各位代表：" and secs[1].text == ""
    assert secs[3].path == ("一、主要工作", "（二）校务公开")
    assert secs[4].path == ("二、问题",)


def test_inline_reflow_finds_documents_and_headings():
    flat = ("喜欢就下载分享吧!乡镇工会2022年工作总结【第一篇】多年来,我校工会工作取得成绩。一、加强政治学习,建设队伍"
            "在当前形势下,我校工会认识到思想政治工作的重要。(1)学习先进的政治理论。二、紧扣中心。镇工会总结【第二篇】今年以来。")
    texts = [p.text for p in reflow(flat)]
    assert "乡镇工会2022年工作总结【第一篇】" in texts and "镇工会总结【第二篇】" in texts
    assert any(t.startswith("一、加强政治学习") for t in texts) and "(1)学习先进的政治理论。" in texts
    assert "二、紧扣中心。" in texts


def test_documents_and_duplicates_end_to_end():
    art = "".join(f"<p>{BODY}{i}</p>" for i in range(6))
    other = "".join(f"<p>区财政局工会紧紧围绕全局财政工作大局，坚持围绕中心抓工会{i}。</p>" for i in range(6))
    markup = ("<html><head><title>机关工会年度工作总结(精选3篇)_某网</title></head>"
              "<body><h1>机关工会年度工作总结(精选3篇)</h1>"
              f"<div><h2>机关工会年度工作总结篇一</h2>{art}<h2>机关工会年度工作总结篇二</h2>{other}"
              f"<h2>机关工会年度工作总结篇三</h2>{art}</div></body></html>")
    cp = clean_page(html(markup))
    assert cp.title == "机关工会年度工作总结(精选3篇)"
    assert [d.title for d in cp.documents] == [f"机关工会年度工作总结篇{n}" for n in "一二三"]
    assert [d.duplicate_of for d in cp.documents] == [None, None, 0]


def test_near_duplicate_marking_directly():
    a = Document("a", (Section("", BODY * 5),))
    b = Document("b", (Section("", BODY * 5 + "略有改动。"),))
    c = Document("c", (Section("", "完全不同的内容，讲的是女职工权益保护专项集体合同。" * 5),))
    assert [d.duplicate_of for d in mark_duplicates([a, b, c])] == [None, 0, None]


def test_metadata_sources():
    markup = ('<html><head><title>[工作总结] 公司工会劳动竞赛总结 - 交流区 - 某论坛</title>'
              '<link rel="canonical" href="https://www.bbs.example.cn/t-1.html"></head>'
              f'<body><h1>公司工会劳动竞赛总结</h1><div>发布时间：2023-12-20 09:12</div><div>{BODY}</div>'
              '</body></html>')
    cp = clean_page(html(markup))
    assert cp.title == "公司工会劳动竞赛总结"
    assert cp.url == "https://www.bbs.example.cn/t-1.html" and cp.site == "bbs.example.cn"
    assert cp.date == "2023-12-20"
    assert pick_title("县总工会2023年工作总结_工会工作_某网", []) == "县总工会2023年工作总结"
    assert norm_date("2024年1月8日") == "2024-01-08" and norm_date("2023-13-01") is None
    assert site_of("not a url") is None


def test_year_from_title_when_no_date():
    cp = clean_page(html(f"<title>镇工会2023年工作总结</title><p>{BODY}</p>"))
    assert cp.date == "2023"


def test_site_rules_from_settings():
    markup = f'<html><body><div class="ad-box">本站特供：{BODY}</div><p>{BODY}</p><p>{BODY}</p></body></html>'
    settings = CleanSettings(sites={"example.cn": {"drop_selectors": ["div.ad-box"]}})
    cp = clean_page(html(markup, url="https://www.example.cn/a.html"), settings)
    assert "本站特供" not in cp.documents[0].sections[0].text
    cp = clean_page(html(markup, url="https://other.cn/a.html"), settings)
    assert cp.documents  # other sites untouched


def test_no_content_reasons():
    with pytest.raises(CleanError) as e:
        clean_page(html("<html><body><a href=/>首页</a></body></html>"))
    assert e.value.reason in ("no_body", "too_short")
    with pytest.raises(CleanError) as e:
        clean_page(html("<p>短</p>"))
    assert e.value.reason == "too_short"
