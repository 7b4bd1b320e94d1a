"""The cleaner on the five seed text dumps in scraped/: documents, titles, headings, boilerplate, no loss."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.clean import clean_page
from indexer.load import load_page

SCRAPED = Path(__file__).resolve().parents[1] / "scraped"
WS = re.compile(r"\s+")

# Strings of site furniture visible in the seeds; none may survive cleaning.
BOILERPLATE = {
    "000": ["下面是我给大家整理的总结范文", "欢迎大家阅读分享借鉴"],
    "001": ["作文档>范文大全", "更新时间", "相关文章", "推荐度", "点击下载文档", "文档为doc格式", "精选图文",
            "2024最新办公室年终总结范文", "会计工作内容的简单描述"],
    "002": ["友情提示", "免责声明", "来源:网络整理", "扩展阅读"],
    "003": ["我要投稿", "相关文章", "工会组织部工作总结08-26", "工会工作总结优秀范文07-20",
            "工会组织部工作总结优秀范文", "时间:2021-07-09"],
    "004": ["您好,欢迎访问三七文档", "当前位置", "【参考指引】", "喜欢就下载分享吧", "本文标题", "链接地址",
            "1/19", "2/19", "10/19"],
}


def seed(prefix: str) -> Path:
    return next(SCRAPED.glob(prefix + "_*.txt"))


@pytest.fixture(scope="module")
def cleaned():
    return {p: clean_page(load_page(seed(p), SCRAPED)) for p in BOILERPLATE}


def alltext(cp) -> str:
    return WS.sub("", "".join(d.title + "".join(s.heading + s.text for s in d.sections) for d in cp.documents))


def doctext(doc) -> str:
    return WS.sub("", "".join(s.heading + s.text for s in doc.sections))


@pytest.mark.parametrize("prefix", sorted(BOILERPLATE))
def test_no_boilerplate_survives(cleaned, prefix):
    text = alltext(cleaned[prefix])
    for s in BOILERPLATE[prefix]:
        assert WS.sub("", s) not in text, s


def test_000_fifteen_articles_with_duplicates(cleaned):
    cp = cleaned["000"]
    assert cp.title == "机关工会年度工作总结"
    cn = "一二三四五六七八九十"
    names = [cn[i] if i < 10 else "十" + cn[i - 10] for i in range(15)]
    assert [d.title for d in cp.documents] == [f"机关工会年度工作总结篇{n}" for n in names]
    dups = [i for i, d in enumerate(cp.documents) if d.duplicate_of == 0]
    assert len(dups) == 4  # the first summary and four near-copies: five in all
    assert all(cp.documents[i].duplicate_of is None for i in (0, 1, 2))
    first = cp.documents[0]
    assert [s.heading for s in first.sections][:2] == ["一、积极强化学习机制,提高了全局职工素质。",
                                                      "二、急职工所急,想职工所想,把工会建成温暖的职工之家。"]
    assert "工会积极协助局党组,从强化学习、廉洁自律、做好服务入手" in doctext(first)
    last = cp.documents[-1]
    assert "但仍然存在一些不足" in doctext(last)
    assert "常常处于一种被于应付的局面" in doctext(last)


def test_001_one_article_sections(cleaned):
    cp = cleaned["001"]
    assert cp.title == "城市保洁管理处工会上半年工作总结和下半年工作"
    assert len(cp.documents) == 1
    heads = [s.heading for s in cp.documents[0].sections]
    assert "一、职工利益放在首位,关心好特困职工" in heads
    assert "三、参政议政,进一步完善职工民主管理" in heads
    text = doctext(cp.documents[0])
    assert text.startswith("今年以来处工会以邓小平理论")
    assert "春节前夕,由处党政、工会领导亲自带队" in text


def test_002_second_article_after_extended_reading(cleaned):
    cp = cleaned["002"]
    assert len(cp.documents) == 2
    assert cp.documents[1].title == "201*年工会工作总结"
    first, second = (doctext(d) for d in cp.documents)
    assert "为认真贯彻党的十六大精神" in first
    assert second.startswith("201*年是集团公司全面落实科学发展观")
    assert "(一)工会组建和会员发展取得新进展" in [s.heading for s in cp.documents[1].sections]
    assert "使老年人生活愉悦、身体康健。" in second


def test_003_headings_and_tail_list(cleaned):
    cp = cleaned["003"]
    assert cp.title == "工会组织部工作总结优秀"
    assert cp.date == "2021-07-09"
    assert len(cp.documents) == 1
    heads = [s.heading for s in cp.documents[0].sections]
    assert any(h.startswith("二、深入开展建家活动") for h in heads)
    text = doctext(cp.documents[0])
    assert "我们把组建工会和发展会员工作作为全会工作的重中之重" in text
    assert "这些都有待于我们在今后工作中认真加以研究,不断加以改进,完善和提高。" in text


def test_004_inline_articles_and_counters(cleaned):
    cp = cleaned["004"]
    assert cp.title == "乡镇工会2023年工作总结范文范例(4篇)"
    assert cp.url == "https://www.777doc.com/doc-11037020.html"
    assert [d.title for d in cp.documents] == ["乡镇工会2022年工作总结【第一篇】", "乡镇工会2022年工作总结【第二篇】"]
    first, second = cp.documents
    assert sum(1 for s in first.sections if s.heading) >= 5  # headings found inline
    assert first.sections[0].text.startswith("多年来,我校工会工作在上级的正确领导下")
    # the counter "3/19" sat mid-sentence: removed and the sentence rejoined
    assert "活跃了教职工的文化生活" in doctext(first)
    assert "形成多层次、广覆盖的劳动争议预防" in doctext(second)
    paths = [s.path for s in first.sections if len(s.path) == 2]
    assert paths and paths[0][0].startswith("一、")
