"""Failure classes seen on pages from sites we never tuned for, each shown on a small page we wrote ourselves:
the class is what is fixed, not one site's page."""

from __future__ import annotations

import charset_normalizer
import pytest
from opencc import OpenCC

from indexer.backends import open_store
from indexer.build import index_corpus
from indexer.clean import clean_page
from indexer.load import decode_bytes, load_page

from helpers import make_config

REPORT = ("工会工作总结。一年来，在上级工会和单位党委的正确领导下，我们认真贯彻落实职代会精神，扎实开展困难职工帮扶、"
          "劳动竞赛和女职工工作，职工群众满意度不断提高。今年我们将继续加强职工之家建设，深化厂务公开，推进民主管理。")


def _page(body: str, head: str = "", title: str = "工会工作总结") -> str:
    return f"<html><head>{head}<title>{title}</title></head><body><div><p>{body}</p></div></body></html>"


def _with_bad_pairs(data: bytes, n: int) -> bytes:
    """``n`` two-byte characters of the body replaced by byte pairs no CJK codec can read."""
    out = bytearray(data)
    step = len(out) // (n + 2)
    for k in range(1, n + 1):
        i = out.index("职".encode("gb18030"), k * step)
        out[i:i + 2] = b"\x80\xff"
    return bytes(out)


class _Guess:
    def __init__(self, encoding: str):
        self.encoding = encoding

    def best(self):
        return self


# ---- 1. encoding guesses that cannot be right ----------------------------------------------------------------

@pytest.mark.parametrize("detector_says", ["cp1251", "koi8_r", "latin-1", "cp1252", "mac_cyrillic", "iso8859_5"])
def test_mostly_two_byte_chinese_never_reads_as_a_single_byte_code_page(detector_says, monkeypatch):
    """No charset label, GB18030 bytes with a few invalid pairs, and a detector that guesses a Western or
    Cyrillic code page (which decodes any bytes without a replacement): the page is read as GB18030."""
    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda data: _Guess(detector_says))
    data = _with_bad_pairs(_page(REPORT * 3).encode("gb18030"), 2)
    text, codec, replaced = decode_bytes(data)
    assert codec == "gb18030"
    assert replaced == 4  # each bad pair is two replacement characters; nothing else is lost
    assert "困难职工帮扶" in text and "劳动竞赛" in text


def test_a_western_page_still_reads_as_its_code_page():
    """The rule above does not take Western pages: their accented bytes do not read as common Chinese."""
    data = _page("Ünïcödé façade — naïve café, déjà vu. " * 20, '<meta charset="windows-1252">',
                 title="Résumé").encode("cp1252")
    text, codec, replaced = decode_bytes(data)
    assert "naïve café" in text and replaced == 0


def test_big5_page_labelled_gb2312_reads_as_big5():
    traditional = OpenCC("s2t").convert(REPORT)
    data = _page(traditional * 2, '<meta charset="gb2312">', title="工會工作總結").encode("big5hkscs")
    text, codec, replaced = decode_bytes(data)
    assert codec.startswith("big5") and replaced == 0
    assert traditional in text


def test_utf8_page_with_a_few_bad_bytes_reads_as_utf8():
    data = _page(REPORT * 3).encode("utf-8")
    i = data.index("帮扶".encode())
    data = data[:i] + b"\xff" + data[i:]
    text, codec, replaced = decode_bytes(data)
    assert codec == "utf-8" and replaced == 1
    assert "困难职工" in text and "劳动竞赛" in text


def test_pages_with_undecodable_bytes_are_named_in_the_report_and_stats(tmp_path):
    source = tmp_path / "pages"
    source.mkdir()
    (source / "clean.html").write_bytes(_page(REPORT * 3).encode("gb18030"))
    (source / "damaged.html").write_bytes(_with_bad_pairs(_page(REPORT * 3).encode("gb18030"), 3))
    config = make_config(tmp_path, source)
    store = open_store(config)
    report = index_corpus(config, store, workers=1, progress=False)
    assert report.indexed == 2
    assert report.replaced == [("damaged.html", 6)]
    assert "1 pages have bytes their encoding cannot give (shown as �): damaged.html (6)" in report.summary()
    assert store.stats()["pages_with_replacements"] == 1


# ---- 2. content shown by script ---------------------------------------------------------------------------------

ARTICLE = "".join(f"<p>{s}</p>" for s in REPORT.split("。") if s)


def _clean(tmp_path, html: str):
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    return clean_page(load_page(path, tmp_path))


def _text(page) -> str:
    return "\n".join(s.text for d in page.documents for s in d.sections)


@pytest.mark.parametrize("style", ["visibility: hidden; opacity: 0;", "opacity:0", "visibility:hidden"])
def test_a_hidden_body_that_a_script_reveals_is_kept(tmp_path, style):
    """The article container is hidden until a script shows it (as on WeChat): it is most of the page's
    text, so it is the body; hidden menus, pop-ups and templates around it are still dropped."""
    html = f"""<html><head><title>工会工作总结</title></head><body>
      <div class="menu_bar" style="display:none"><a href="/a">首页</a> <a href="/b">往期回顾</a> 关于我们的工会</div>
      <div id="js_pc_qr_code" class="qr_code_pc" style="visibility:hidden">微信扫一扫关注该公众号</div>
      <div class="rich_media_content" id="js_content" style="{style}">{ARTICLE * 2}</div>
      <div class="weui-dialog" style="display:none">确定要删除这条留言吗？取消删除</div>
    </body></html>"""
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and "推进民主管理" in text
    assert "往期回顾" not in text and "扫一扫" not in text and "删除这条留言" not in text


def test_a_hidden_copy_beside_the_visible_body_is_dropped(tmp_path):
    """A hidden block is kept only when it dominates the page: a hidden copy of a visible article is not."""
    html = f"""<html><head><title>工会工作总结</title></head><body>
      <div class="content">{ARTICLE * 2}</div>
      <div class="print-copy" style="display:none">{ARTICLE * 2}</div></body></html>"""
    text = _text(_clean(tmp_path, html))
    assert text.count("困难职工帮扶") == 2


# ---- 4. pagination and platform chrome inside the body -------------------------------------------------------

PLATFORM_CHROME = [
    "全文共2356字，阅读大约需要6分钟", "阅读时长约 5 分钟", "本文约1800字", "第2页/共5页", "第 1 页 共 3 页",
    "上一页 1 2 3 4 下一页", "« 上一页 下一页 »", "点赞 在看 分享", "赞(12) 分享 收藏", "打开APP阅读更多精彩内容",
    "END", "THE END", "- END -", "12条评论", "评论 (3)", "已有 5 条评论", "阅读原文", "写留言",
    "微信扫一扫关注该公众号",
]


@pytest.mark.parametrize("where", ["before", "middle", "after"])
def test_platform_chrome_around_and_inside_the_body_is_dropped(tmp_path, where):
    half = "".join(f"<p>{s}。</p>" for s in REPORT.split("。") if s)
    chrome = "".join(f"<p>{line}</p>" for line in PLATFORM_CHROME)
    inside = "".join(f"<p>{line}</p>" for line in ("第1页/共2页", "« 上一页 下一页 »", "赞(12) 分享 收藏"))
    # A whole block of chrome before or after the body; inside it, the few lines a paged article shows.
    body = {"before": chrome + half + half, "middle": half + inside + half, "after": half + half + chrome}[where]
    page = _clean(tmp_path, f"<html><head><title>工会工作总结</title></head><body><div class='content'>{body}"
                            "</div></body></html>")
    text = "".join(_text(page).split())
    assert text.count("困难职工帮扶") == 2
    leaked = [line for line in PLATFORM_CHROME + ["第1页/共2页"] if "".join(line.split()) in text]
    assert not leaked


# ---- 3 and 5. several articles on one page, without a 篇一 / 【第一篇】 marker -----------------------------------

FIRST = "".join(f"<p>{s}。</p>" for s in (
    "一年来，在上级工会和单位党委的正确领导下，我们认真贯彻落实职代会精神，扎实开展困难职工帮扶工作",
    "劳动竞赛和女职工工作取得明显成效，职工群众满意度不断提高，涌现出一批先进集体和个人，受到上级表彰"))
SECOND = "".join(f"<p>{s}。</p>" for s in (
    "新的一年，我们将继续加强职工之家建设，深化厂务公开，推进民主管理，切实维护职工合法权益",
    "组织开展技能比武和合理化建议活动，做好送温暖和金秋助学工作，丰富职工文化生活，增强工会组织的凝聚力"))


def _titles(tmp_path, body: str) -> list[str]:
    page = _clean(tmp_path, f"<html><head><title>工会工作总结范文</title></head><body><div class='content'>{body}"
                            "</div></body></html>")
    return [d.title for d in page.documents]


@pytest.mark.parametrize("layout", [
    "<h2>{t1}</h2>{a}<h2>{t2}</h2>{b}",  # a heading named like a document (文库 pages)
    "<p><b>{t1}</b></p>{a}<hr><p><b>{t2}</b></p>{b}",  # bold titles after a rule line
])
def test_articles_named_like_documents_become_documents(tmp_path, layout):
    body = layout.format(t1="某公司工会2023年工作总结", t2="某公司工会2024年工作计划", a=FIRST * 2, b=SECOND * 2)
    assert _titles(tmp_path, body) == ["某公司工会2023年工作总结", "某公司工会2024年工作计划"]


def test_posts_with_a_date_line_become_documents(tmp_path):
    """A blog archive or forum page: each post's title is followed by its date and author."""
    body = (f"<h2>春风送暖 关爱职工</h2><p>2023-03-01 作者：工会办公室</p>{FIRST * 2}"
            f"<h2>凝心聚力 共建家园</h2><p>2023-04-12 作者：工会办公室</p>{SECOND * 2}")
    page = _clean(tmp_path, f"<html><head><title>工会动态</title></head><body><div>{body}</div></body></html>")
    assert [d.title for d in page.documents] == ["春风送暖 关爱职工", "凝心聚力 共建家园"]
    assert all("作者" not in s.text for d in page.documents for s in d.sections)


def test_subheadings_of_one_article_stay_sections(tmp_path):
    body = f"<h1>我的工会工作心得</h1>{FIRST}<h2>关于帮扶</h2>{FIRST}<h2>关于竞赛</h2>{SECOND}"
    page = _clean(tmp_path, f"<html><head><title>心得</title></head><body><div>{body}</div></body></html>")
    assert len(page.documents) == 1
    assert [s.heading for s in page.documents[0].sections][-2:] == ["关于帮扶", "关于竞赛"]


def test_overlays_hidden_by_their_class_are_dropped(tmp_path):
    """A report form or login box kept hidden by the stylesheet (class "modal", "dialog", "popup"), longer
    than the short post it sits beside, is not the page's text."""
    form = "".join(f"<p>{reason}</p>" for reason in (
        "我要举报该内容，理由是：",
        "垃圾广告：含有推广信息或者外链，扰乱社区秩序，影响正常讨论的进行",
        "违规内容：含有违法违规、色情低俗、暴力血腥等不良信息，请管理员尽快处理",
        "恶意灌水：无意义的重复内容或者与主题无关的回复",
        "不友善内容：人身攻击、挑衅辱骂、歧视他人等不友善的言论，破坏社区氛围",
        "其他理由：请在下面补充说明具体的举报原因和相关链接"))
    html = (f"<html><head><title>工会帖子</title></head><body><div class='post'>{FIRST}</div>"
            f"<div class='ui modal report-modal'>{form}</div><div id='login-dialog'>{form}</div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and "举报" not in text and "恶意灌水" not in text


REPLIES = ("楼主说得好，我们单位今年也开展了困难职工帮扶，走访慰问了八十多户困难职工家庭",
           "请问职代会的提案一般怎么征集？我们去年用的是线上问卷，效果还不错，大家可以参考一下",
           "劳动竞赛的奖励标准各单位不一样，建议先和行政方面沟通好，再报上级工会备案")


def test_a_threads_replies_are_its_content(tmp_path):
    """On a forum thread (its markup says thread/post list/floor) the replies are content."""
    replies = "".join(f"<div class='reply floor'><p>{r}。</p></div>" for r in REPLIES)
    html = (f"<html><head><title>工会工作交流</title></head><body><div id='postlist'><div class='post-body'>{FIRST * 3}"
            f"</div><div class='comments'>{replies}</div></div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and all(r[:12] in text for r in REPLIES)


def test_an_articles_comments_are_not(tmp_path):
    replies = "".join(f"<div class='reply'><p>{r}。</p></div>" for r in REPLIES)
    html = (f"<html><head><title>工会工作总结</title></head><body><div class='article'>{FIRST * 2}</div>"
            f"<div class='comments'>{replies}</div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and not any(r[:12] in text for r in REPLIES)


def test_a_content_platforms_storage_notice_is_dropped(tmp_path):
    """Self-media platforms (their 号 accounts) end every article with the same legal notice."""
    notice = "平台声明：该文观点仅代表作者本人，本号系信息发布平台，平台仅提供信息存储空间服务。"
    html = (f"<html><head><title>工会工作总结</title></head><body><div class='article'>{FIRST * 2}"
            f"<p>{notice}</p></div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and "信息存储空间" not in text
