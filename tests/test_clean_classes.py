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


# ---- 3. lists of posts recognised by their shape, whatever their boxes are named ------------------------------

OPENING = ("今年我们单位工会准备开展职工技能比武，想请各位同行介绍一下经验：比武项目怎么选、评委怎么请、"
           "奖励标准怎么定，还有怎样调动一线职工参加的积极性？先谢谢大家了，有好的做法欢迎分享。")
ANSWERS = ("我们去年比的是电工和焊工两个工种，评委请的是集团技能大师工作室的师傅，理论和实操各占一半",
           "奖励标准要提前和行政方面商量好，前三名除了奖金还给晋升技能等级的机会，职工报名很踊跃",
           "建议先在班组里搞初赛，选拔出来的再参加公司决赛，这样参与面广，一线职工也更愿意报名")
PEOPLE = (("工会小王", "初级会员"), ("老焊工", "高级会员"), ("电工老张", "中级会员"), ("车间主任", "中级会员"))


def _post(k: int, words: str, floor: bool = True) -> str:
    """One post in boxes whose names say nothing (no thread, post, reply or comment): author, level, a date and
    time, a floor number, the words, and the buttons under them."""
    name, level = PEOPLE[k]
    return (f"<div class='box-{k % 2} entry'><div class='who'><a href='/u/{k}'>{name}</a><span>{level}</span></div>"
            f"<div class='when'>2024-03-0{k + 1} 0{k + 1}:12:45</div>" + (f"<div class='no'>#{k + 1}</div>" if floor
                                                                           else "") +
            f"<div class='words'><p>{words}</p></div><div class='acts'>回复 点赞</div></div>")


FURNITURE = [name for name, _ in PEOPLE] + [level for _, level in PEOPLE] + ["2024-03-01", "09:12", "点赞"]


@pytest.mark.parametrize("layout", ["opening post among the posts", "opening post above its numbered replies"])
def test_a_threads_posts_in_unnamed_boxes_are_its_content(tmp_path, layout):
    """The posts are found by their shape (sibling blocks of one kind, each with a date-and-time line): every
    post's words are kept and what is short in every post (author, level, date line, buttons) is not."""
    if layout == "opening post among the posts":
        posts = _post(0, OPENING) + "".join(_post(k + 1, a) for k, a in enumerate(ANSWERS))
    else:
        posts = (f"<div class='topic-head'><h1>职工技能比武怎么搞</h1><p>{OPENING}</p></div>"
                 + "".join(_post(k + 1, a) for k, a in enumerate(ANSWERS)))
    html = (f"<html><head><title>职工技能比武怎么搞</title></head><body><div class='wrap'>{posts}</div>"
            "<div class='aside-links'><a href='/1'>工会法全文</a> <a href='/2'>劳动竞赛办法</a></div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert OPENING[:20] in text and all(a[:20] in text for a in ANSWERS)
    assert not [f for f in FURNITURE if f in text]


def test_a_review_list_keeps_each_review_not_its_header_line(tmp_path):
    """A list that is the whole page (reviews, answers): each item's header line of votes, user, date and
    place goes, the reviews stay."""
    items = "".join(f"<div class='item'><h3><span>{30 - k} 有用</span> <a href='/u/{k}'>{PEOPLE[k][0]}</a> "
                    f"<span>2024-04-0{k + 1} 13:19:20</span> <span>北京</span></h3><p>{a}</p></div>"
                    for k, a in enumerate(ANSWERS))
    html = f"<html><head><title>短评</title></head><body><div class='list'>{items}</div></body></html>"
    page = _clean(tmp_path, html)
    text = _text(page) + "".join(s.heading for d in page.documents for s in d.sections)
    assert all(a[:20] in text for a in ANSWERS)
    assert "有用" not in text and "13:19" not in text and PEOPLE[0][0] not in text


@pytest.mark.parametrize("below", ["comments", "teaser cards"])
def test_posts_below_an_article_without_floor_numbers_are_not_its_text(tmp_path, below):
    """An article followed by readers' comments in unnamed boxes (author, date and time, words), or by cards of
    other articles (linked title, summary, date and time): neither is the article's text."""
    if below == "comments":
        tail = "".join(_post(k + 1, a, floor=False) for k, a in enumerate(ANSWERS))
    else:
        tail = "".join(f"<div class='card'><div class='t'><a href='/n/{k}'>{PEOPLE[k][0]}的故事</a></div>"
                       f"<div class='s'>{a}</div><div class='d'>2024-03-0{k + 1} 15:11</div></div>"
                       for k, a in enumerate(ANSWERS))
    html = (f"<html><head><title>工会工作总结</title></head><body><div class='main'><div class='article'>{FIRST * 3}"
            f"</div><div class='more'>{tail}</div></div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and not any(a[:12] in text for a in ANSWERS)


def test_short_replies_to_a_long_post_are_reactions_not_content(tmp_path):
    """A thread whose opening post is a document (a work summary) and whose replies are a few words each
    (写得很好) is that document: the replies are reactions to it, like an article's comments."""
    reactions = ("写得很好，收藏了", "学习了，谢谢分享", "顶一个")
    posts = _post(0, FIRST * 3) + "".join(_post(k + 1, r) for k, r in enumerate(reactions))
    html = f"<html><head><title>工会工作总结</title></head><body><div class='wrap'>{posts}</div></body></html>"
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and not any(r in text for r in reactions)


def test_a_time_of_day_is_not_sentence_punctuation():
    """The colon of "09:42" made a post's date line score like a sentence and hold a region together."""
    from indexer.clean.text import punct_count

    assert punct_count("2020.06.09 09:42:17 发布") == 0
    assert punct_count("时间：上午9:30，地点：工会会议室") == 3


STAMPS = ["2023-06-15 08:10 来源：工人日报", "2024年5月20日 星期一 下午2:05", "24-5-13 17:08 来自福建",
          "会员小李 · 3 天前 · 128 次阅读", "〓 发布时间 2005/03/15 22:36:13 by 工会小王 〓",
          "2015-11-05 阅读：8169 来源：本站", "发表于 前天 17:08", "发表于 半小时前"]


def test_date_and_time_lines_are_furniture(tmp_path):
    """A post's or news item's date-and-time line (with a source, place, author or counter) is not text; an
    agenda line in running text is."""
    stamps = "".join(f"<p>{s}</p>" for s in STAMPS)
    tail = "<p>会议安排：3月8日 14:30 开幕式，15:00 分组讨论。</p>"
    html = f"<html><head><title>工会工作总结</title></head><body><div>{stamps}{ARTICLE * 2}{tail}</div></body></html>"
    text = "".join(_text(_clean(tmp_path, html)).split())
    assert "困难职工帮扶" in text and "14:30开幕式" in text
    assert not [s for s in STAMPS if "".join(s.split()) in text]


def test_posts_with_a_date_and_time_line_become_documents(tmp_path):
    """The date line under each post's title is dropped as furniture and still marks where a post starts."""
    body = (f"<h2>春风送暖 关爱职工</h2><p>2023-03-01 09:30 作者：工会办公室</p>{FIRST * 2}"
            f"<h2>凝心聚力 共建家园</h2><p>2023-04-12 16:05 作者：工会办公室</p>{SECOND * 2}")
    page = _clean(tmp_path, f"<html><head><title>工会动态</title></head><body><div>{body}</div></body></html>")
    assert [d.title for d in page.documents] == ["春风送暖 关爱职工", "凝心聚力 共建家园"]
    assert all("09:30" not in s.text and "作者" not in s.text for d in page.documents for s in d.sections)


VERSE = ("五月鲜花遍地开，", "劳动光荣美名扬。", "车间机器隆隆响，", "工匠精神代代传。")


def test_a_poem_of_short_lines_is_text(tmp_path):
    """Each line of a poem is one short clause closed by its punctuation, which alone looks like a label or a
    button; four or more in a row are a poem, and it is the page's text together with its note."""
    nav = "".join(f"<li><a href='/{k}'>{name}</a></li>" for k, name in enumerate(("首页", "工会动态", "职工之家")))
    poem = "".join(f"<p>{line}</p>" for line in VERSE)
    note = "<p>这首小诗是机修车间职工在五一劳动节前夕写的，表达了一线职工爱岗敬业的心情。</p>"
    html = (f"<html><head><title>五一诗会</title></head><body><ul class='menu'>{nav}</ul><div class='poem'>"
            f"<h1>劳动者之歌</h1>{poem}{note}</div><div class='foot'>联系我们 网站地图</div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert all(line in text for line in VERSE) and "爱岗敬业" in text and "工会动态" not in text


def test_paragraphs_between_dated_entries_of_an_article_stay(tmp_path):
    """A chronicle (大事记) whose entries are paragraphs with a date line looks like a list of posts: the
    paragraphs between its entries are still the article's text."""
    entries = [f"<p>2023-0{k + 3}-08 09:30<br>{s}。</p><p>{REPORT}</p>" for k, s in enumerate(
        ("公司工会组织三八节女职工健康讲座", "公司工会举办劳动技能竞赛开幕式", "公司工会开展送清凉慰问一线职工活动"))]
    html = f"<html><head><title>工会大事记</title></head><body><div class='main'>{''.join(entries)}</div></body></html>"
    text = _text(_clean(tmp_path, html))
    assert text.count("困难职工帮扶") == 3 and "送清凉慰问" in text and "09:30" not in text


def test_a_form_controls_caption_is_not_text(tmp_path):
    """A comment box's checkbox captions go with the controls they name; a label that names no control stays."""
    form = ("<div class='box'><label><input type='checkbox'>同时转发到我的主页</label>"
            "<label for='anon'>匿名发表这条评论</label><input id='anon' type='checkbox'></div>")
    html = (f"<html><head><title>工会工作总结</title></head><body><div class='article'>{ARTICLE * 2}"
            f"<p><label>附件：</label>工会工作总结全文</p>{form}</div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "困难职工帮扶" in text and "附件：工会工作总结全文" in text
    assert "同时转发" not in text and "匿名发表" not in text


def test_counters_of_what_readers_did_are_furniture(tmp_path):
    """A platform's counters (N 人赞同, N 次播放, N 个赞), even inside the body, are not text; a number of people
    in a sentence is."""
    counters = ["236 人赞同了该回答", "1.2万次播放", "3 个赞", "28人收藏"]
    html = (f"<html><head><title>工会工作总结</title></head><body><div class='article'>"
            f"{ARTICLE}{''.join(f'<p>{c}</p>' for c in counters)}{ARTICLE}<p>全年共有1200人参加劳动竞赛。</p>"
            "</div></body></html>")
    text = "".join(_text(_clean(tmp_path, html)).split())
    assert "困难职工帮扶" in text and "1200人参加" in text
    assert not [c for c in counters if "".join(c.split()) in text]


def test_a_thread_shown_in_several_boxes_keeps_every_post(tmp_path):
    """Posts in separate boxes of four, without floor numbers: no box holds most of the text, together they
    hold it all."""
    words = [f"第{k + 1}条：{ANSWERS[k % 3]}" for k in range(12)]
    boxes = "".join("<div class='group'>" + "".join(_post(j % 4, words[k + j], False) for j in range(4)) + "</div>"
                    for k in range(0, 12, 4))
    html = f"<html><head><title>技能比武</title></head><body><div class='wrap'>{boxes}</div></body></html>"
    text = _text(_clean(tmp_path, html))
    assert all(w[:12] in text for w in words) and "2024-03-01" not in text


def test_short_replies_are_text_when_the_opening_post_is_laid_out_apart(tmp_path):
    """The opening post's words sit in a box of their own kind, the replies' words are short: the replies'
    place, shared by the posts, is still their text and not furniture like a user name or a button."""
    replies = ("我们厂也这样搞", "技能比武要有实操考核", "奖金最好按名次拉开档次", "请问评委从哪里请")
    first = _post(0, OPENING).replace("<div class='words'>", "<div class='opening-words'>")
    posts = first + "".join(_post(k % 3 + 1, r) for k, r in enumerate(replies))
    html = f"<html><head><title>经验交流</title></head><body><div class='wrap'>{posts}</div></body></html>"
    text = _text(_clean(tmp_path, html))
    assert OPENING[:20] in text and all(r in text for r in replies) and "高级会员" not in text


def test_replies_without_floor_numbers_in_a_box_named_like_a_threads_are_content(tmp_path):
    """Below the opening post, replies without floor numbers are a thread's when their box is named like one
    (here a post list); the same replies in a box named otherwise are an article's comments (see above)."""
    replies = "".join(_post(k + 1, a, floor=False) for k, a in enumerate(ANSWERS))
    html = (f"<html><head><title>职工技能比武怎么搞</title></head><body><div class='topic-head'><h1>职工技能比武怎么搞"
            f"</h1><p>{OPENING}</p><p>{REPORT}</p></div><div id='postlist'>{replies}</div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert OPENING[:20] in text and all(a[:20] in text for a in ANSWERS) and "2024-03-02" not in text


# ---- 4. a thread's posts nested and laid out apart (issue 17, forum pages) -------------------------------------

FOLLOW_UPS = ("补充一点：初赛最好放在班组里，师傅带徒弟一起报名，既练了手艺，也让新职工有机会在大家面前露一手",
              "再补充一点：实操题要贴近岗位，电工就考接线排故，焊工就考平焊立焊，评分细则提前公开，大家心里才服气",
              "还有奖励：除了奖金，可以把名次和技能等级、评先评优挂钩，这样一线职工参加的积极性会高很多",
              "最后说说评委：集团技能大师工作室的师傅最合适，外请专家可以只做理论部分，避免实操打分有争议",
              "我们的经验是比武结束后开一个复盘会，把好的操作方法拍成短视频，放到职工书屋里供大家学习")


def _row(k: int, words: str, nested: str = "", handle: str = "") -> str:
    """One post of a thread in a list item whose boxes say nothing: a linked name (and a handle), the words, a
    date and time with a like counter, and optionally the replies nested under it, each with its own date line."""
    name = PEOPLE[k % 4][0]
    return (f"<li class='row'><div class='card'><div class='who'><a href='/u/{k}'>{name}</a>"
            f"{f' <span>@{handle}</span>' if handle else ''}</div><div class='words'>{words}</div>"
            f"<div class='under'><div class='line'><span>2024-03-0{k % 9 + 1} 0{k % 9 + 1}:15</span> "
            f"<span>{k}</span></div>{nested}</div></div></li>")


def _nested(words: tuple[str, ...]) -> str:
    return "<div class='more'>" + "".join(
        f"<div class='sub'><div class='hd'><a href='/u/{k}'>{PEOPLE[k % 4][0]}</a>:</div><div class='bd'>"
        f"<div class='tx'>{w}</div><div class='line'><span>2024-03-1{k} 10:2{k}</span> <span>0</span></div></div>"
        "</div>" for k, w in enumerate(words)) + "</div>"


def test_long_replies_nested_in_a_post_are_posts_of_the_thread(tmp_path):
    """A post holding its own replies (each with a date line) has more date lines than one post, but it is not a
    list of teasers: the replies nested in it are the thread's text, and the posts after it are kept too."""
    posts = (_row(0, OPENING) + _row(1, ANSWERS[0], _nested(FOLLOW_UPS)) + _row(2, ANSWERS[1])
             + _row(3, ANSWERS[2], _nested(FOLLOW_UPS[:1])))
    html = (f"<html><head><title>经验交流</title></head><body><div class='side'><a href='/'>首页</a></div>"
            f"<ul class='list'>{posts}</ul></body></html>")
    text = _text(_clean(tmp_path, html))
    assert OPENING[:20] in text and all(a[:20] in text for a in ANSWERS)
    assert all(f[:20] in text for f in FOLLOW_UPS) and "10:21" not in text and "2024-03-02" not in text


@pytest.mark.parametrize("box", ["", "comments"])
def test_an_opening_post_above_its_replies_in_another_list_is_kept(tmp_path, box):
    """The opening post is a short item of the replies' own kind above them, the replies sit in a list of their
    own below a bar of tabs (in a box named or not like comments): the opening post is the thread's text, not
    only the replies, and its furniture goes like theirs."""
    opening = ("<p>想问问大家，职工技能比武一般怎么组织？</p><div class='link'><a href='https://example.org/guide'>"
               "https://example.org/skill-contest-guide</a></div>")
    replies = "".join(_row(k + 1, a) for k, a in enumerate(ANSWERS))
    bar = ("<div class='tabs'><span>全部</span> <span>最新</span></div><div class='bar'><span>登录后参与讨论</span> "
           "<a href='/login'>登录</a> <a href='/join'>注册</a></div>")
    html = (f"<html><head><title>经验交流</title></head><body><ul class='list'>{_row(0, opening)}{bar}"
            f"<div class='{box}'><div>{replies}</div></div></ul>"
            "<div class='side'><a href='/1'>热门话题</a> <a href='/2'>职工之家</a></div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "职工技能比武一般怎么组织" in text and all(a[:20] in text for a in ANSWERS)
    assert "2024-03-01" not in text and "最新" not in text and "登录后" not in text


def test_a_linked_name_with_a_handle_is_a_posts_furniture(tmp_path):
    """A user's linked name followed by a handle can be longer than a short line; it is still the post's
    furniture, like the name alone."""
    handles = ("gonghui_xiaowang_2024", "laohangong", "dianxiu_lao_zhang_88", "chejian")
    posts = "".join(_row(k, a, handle=handles[k]) for k, a in enumerate((OPENING,) + ANSWERS))
    html = f"<html><head><title>经验交流</title></head><body><ul class='list'>{posts}</ul></body></html>"
    text = _text(_clean(tmp_path, html))
    assert OPENING[:20] in text and all(a[:20] in text for a in ANSWERS)
    assert not any(h in text for h in handles)


# ---- 5. short posts, code blocks and threads in boxes named like chrome (held-out forum pages, 2026-12-05) ----

HOWTO = ("<h1>背景</h1><p>每次换电脑都要重新配置工会报表系统的开发环境很麻烦</p><h1>步骤</h1><p>先安装依赖检查工具</p>"
         "<pre><code>pip install report-check\nreport-check --all\nreport-check --fix</code></pre>"
         "<p>再把缺少的模块一个个装上</p><p>最后重启报表服务即可生效</p>")
COMPOSER = ("<form class='reply-form' method='post'><div class='tip'>发表评论请遵守社区规范，文明发言，理性讨论，"
            "共同维护良好的交流氛围！</div><textarea name='body'></textarea><div><a href='#'>表情</a> <a href='#'>帮助"
            "</a></div><button>提交</button></form>")


def test_a_short_post_of_terse_lines_is_kept_not_the_comment_box_under_it(tmp_path):
    """A short how-to (headings, paragraphs without a sentence mark, a code block) above an empty comment box
    whose form carries a line of rules: the post is the page's text, the form's rules are not."""
    html = (f"<html><head><title>配置报表环境</title></head><body><div class='nav'><a href='/'>首页</a> "
            f"<a href='/t'>话题</a></div><div class='article-body'>{HOWTO}</div><div class='comments'>"
            f"<div class='count'>评论数量：0</div><div class='empty'>还没有评论，快来抢沙发吧！</div>{COMPOSER}</div>"
            "</body></html>")
    text = _text(_clean(tmp_path, html))
    assert "每次换电脑都要重新配置" in text and "report-check --fix" in text and "最后重启报表服务" in text
    assert "遵守社区规范" not in text


def test_a_code_block_keeps_its_line_breaks(tmp_path):
    """A <pre> block's lines stay lines (commands, a listing), they are not run together into one line."""
    html = (f"<html><head><title>配置报表环境</title></head><body><div class='post'>{ARTICLE}{HOWTO}</div>"
            "</body></html>")
    lines = _text(_clean(tmp_path, html)).splitlines()
    assert {"pip install report-check", "report-check --all", "report-check --fix"} <= set(lines)


def test_a_thread_in_a_box_named_like_a_feed_is_its_content(tmp_path):
    """The posts of a discussion sit in a box whose name says "stream" (like a feed of teasers), each with its
    author, buttons and a time gap between them: the box holds the page's text, so its words weigh like text and
    the replies are kept with the opening post, not only the longest post."""
    posts = "<div class='gap'>3 天后</div>".join(
        f"<div class='entry'><div class='who'>{PEOPLE[k][0]}</div><div class='level'>{PEOPLE[k][1]}</div>"
        f"<div class='time'>2024-03-0{k + 1} 08:1{k}</div><div class='body'><p>{w}</p></div>"
        "<div class='acts'><span>回复</span> <span>点赞</span> <span>举报</span></div></div>"
        for k, w in enumerate((OPENING,) + ANSWERS))
    html = (f"<html><head><title>经验交流</title></head><body><div class='notice'><p>本论坛由市总工会主办，是全市工会"
            f"干部交流工作经验的平台，欢迎各单位积极参与。</p></div><div class='page-stream'>{posts}</div>"
            "<div class='footer-links'><a href='/a'>关于我们</a> <a href='/b'>联系方式</a></div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert OPENING[:20] in text and all(a[:20] in text for a in ANSWERS)


def test_a_web_address_written_in_a_post_is_its_text(tmp_path):
    """A link whose text is the address itself (文档地址：https://…) is the writer's reference, not a menu: the
    line stays, and the post around it is still the page's text."""
    html = (f"<html><head><title>经验交流</title></head><body><div class='post'><p>{OPENING}</p>"
            "<p>文档地址：<a href='https://example.org/guide/contest-rules-2024.html'>"
            f"https://example.org/guide/contest-rules-2024.html</a></p><p>{ANSWERS[0]}</p></div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert "文档地址：https://example.org/guide/contest-rules-2024.html" in text and OPENING[:20] in text


def test_a_code_block_in_one_reply_is_kept(tmp_path):
    """Under a post, the thread's replies (floor numbers) sit in a comments box, and one holds a code block beside
    its words (a place no other reply has): the code is that reply's text, kept with it."""
    code = "</p><div class='code'><pre><code>report-check --all\nreport-check --fix --quiet</code></pre></div><p>"
    replies = "".join(_post(k + 1, a + (code if k == 0 else "")) for k, a in enumerate(ANSWERS))
    html = (f"<html><head><title>经验交流</title></head><body><div class='article'><h1>职工技能比武怎么搞</h1>"
            f"<p>{OPENING}</p>{ARTICLE}</div><div class='comments'>{replies}</div></body></html>")
    text = _text(_clean(tmp_path, html))
    assert OPENING[:20] in text and all(a[:20] in text for a in ANSWERS)
    assert "report-check --fix --quiet" in text


def test_a_like_button_with_a_plus_count_is_furniture(tmp_path):
    html = (f"<html><head><title>工会工作总结</title></head><body><div class='article'>{ARTICLE}<p>点赞 +1</p>"
            f"<p>顶 +12</p>{ARTICLE}</div></body></html>")
    text = "".join(_text(_clean(tmp_path, html)).split())
    assert "困难职工帮扶" in text and "+1" not in text and "+12" not in text
