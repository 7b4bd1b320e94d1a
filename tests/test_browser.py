"""The site, the widget and the iframe mode in a real browser: Playwright driving Debian's Chromium, headless.

The app runs under waitress in a thread on a free 127.0.0.1 port; two static "intranet" pages that embed
embed.js are served from two more ports: one origin is listed in server.cors_origins (and
server.frame_ancestors), the other is not. Skipped only when /usr/bin/chromium is missing (.ci/run installs it).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUERY = "职工之家"
TIMEOUT = 30_000  # ms; generous: a loaded CI machine is slow, and a wait ends as soon as its condition holds

HOST_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>内网首页</title>
<style>body{{font-family:serif}} .us-title{{color:rgb(0, 128, 0)}} mark{{background:rgb(255, 0, 0)}}</style>
</head><body>
<h1 class="us-title" id="host-title">单位内网</h1>
<div id="union-search"></div>
<script src="{app}/embed.js" data-target="#union-search" data-per-page="3"></script>
<p id="host-after">页面其余内容</p>
</body></html>
"""

FRAME_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>iframe</title></head><body>
<iframe id="f" title="工会文档搜索" src="{app}/embed?q={q}" width="600" height="400"></iframe>
</body></html>
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def start_static(directory: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler,
                                                                                directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def sites(tmp_path_factory, corpus_config):
    """(app base URL, allowed host URL, refused host URL) with all three servers running."""
    import waitress

    from webapp import create_app

    allowed_dir, refused_dir = tmp_path_factory.mktemp("allowed"), tmp_path_factory.mktemp("refused")
    allowed, allowed_thread, allowed_url = start_static(allowed_dir)
    refused, refused_thread, refused_url = start_static(refused_dir)
    server_settings = corpus_config.server.__class__(cors_origins=[allowed_url], frame_ancestors=[allowed_url])
    app = create_app(corpus_config.replace(server=server_settings))
    wsgi = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, ident="unionsearch")
    app_url = f"http://127.0.0.1:{wsgi.effective_port}"
    app_thread = threading.Thread(target=wsgi.run, daemon=True)
    app_thread.start()
    for folder in (allowed_dir, refused_dir):
        (folder / "host.html").write_text(HOST_PAGE.format(app=app_url), encoding="utf-8")
        (folder / "frame.html").write_text(FRAME_PAGE.format(app=app_url, q=QUERY), encoding="utf-8")
    yield app_url, allowed_url, refused_url
    for static in (allowed, refused):
        static.shutdown()
        static.server_close()
    wsgi.close()
    for thread in (allowed_thread, refused_thread, app_thread):
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT)
    pg = context.new_page()
    pg.csp_errors = []
    pg.on("console", lambda m: "Content Security Policy" in m.text and pg.csp_errors.append(m.text))
    yield pg
    context.close()


def expect(locator):
    return sync_api.expect(locator)


def test_search_highlights_and_opens_a_document(sites, page):
    app, _, _ = sites
    api = page.request.get(f"{app}/api/search?q={QUERY}")
    assert api.ok
    top = api.json()["results"][0]  # what the first result's document page must show
    page.goto(app + "/")
    expect(page.locator(".stats")).to_contain_text("个段落")
    page.fill("#q", QUERY)
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    assert page.input_value("#q") == QUERY  # the query stays in the box and the URL
    expect(page.locator(".hit mark").first).to_be_visible()
    expect(page.locator(".summary")).to_contain_text("篇文档")
    title = page.locator(".hit a.title").first
    expect(page.locator(".hit").first.locator(".path")).to_have_text(top["heading_path"])
    title.click()
    page.wait_for_url(re.compile(r"/doc/"))
    current = page.locator("section.current")
    expect(current).to_have_count(1)
    expect(current).to_be_in_viewport()
    assert top["heading"], top  # the first hit of 职工之家 is a section under a heading
    expect(current.locator("h2")).to_have_text(top["heading"])
    if top["url"]:  # a page saved from the web links its original
        expect(page.locator("a.original")).to_have_attribute("href", top["url"])
    else:  # seeds saved as .txt have no original URL, and no link to one
        expect(page.locator("a.original")).to_have_count(0)
    expect(page.locator("a.download")).to_have_attribute("href", re.compile(r"/doc/[^/]+\.txt$"))
    assert page.locator(".similar-docs a").count() > 0
    assert page.csp_errors == []


def test_slash_focuses_the_search_box(sites, page):
    app, _, _ = sites
    page.goto(f"{app}/search?q={QUERY}")
    page.locator("main").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"


def test_facet_and_paging_forward_and_back(sites, page):
    app, _, _ = sites
    page.goto(f"{app}/search?q={QUERY}&per_page=3")
    total = int(page.locator(".total").text_content())
    links = page.locator(".hit a.title")
    expect(links).to_have_count(3)
    first = links.evaluate_all("els => els.map(e => e.href)")
    page.locator("a[rel=next]").click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator("ol.hits")).to_have_attribute("start", "4")
    assert not set(links.evaluate_all("els => els.map(e => e.href)")) & set(first)
    page.go_back()
    page.wait_for_url(re.compile(r"per_page=3$"))  # back to page 1 (the URL carries no page=)
    assert links.evaluate_all("els => els.map(e => e.href)") == first
    page.go_forward()
    page.wait_for_url(re.compile(r"page=2"))
    page.go_back()
    facet = page.locator(".facets a").first
    value = facet.text_content()
    facet.click()
    page.wait_for_url(re.compile(r"(year|site|org_type)="))
    expect(page.locator(".facets strong[aria-current]")).to_have_text(value)
    assert 0 < int(page.locator(".total").text_content()) <= total
    page.locator("a.clear").click()
    expect(page.locator(".facets strong[aria-current]")).to_have_count(0)


def test_phone_width_has_no_horizontal_scroll(sites, browser):
    app, _, _ = sites
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        pg = context.new_page()
        for path in ("/", f"/search?q={QUERY}", "/embed?q=" + QUERY):
            pg.goto(app + path)
            overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, overflow)
        pg.goto(f"{app}/search?q={QUERY}")
        pg.locator(".hit a.title").first.click()
        pg.wait_for_url(re.compile(r"/doc/"))
        assert pg.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    finally:
        context.close()


def test_widget_searches_from_an_allowed_origin(sites, page):
    app, allowed, _ = sites
    page.goto(allowed + "/host.html")
    box = page.locator("#union-search input[type=search]")
    expect(box).to_have_attribute("aria-label", "搜索工会文档")
    box.fill(QUERY)
    box.press("Enter")
    hits = page.locator("#union-search li.us-hit")
    expect(hits).to_have_count(3)
    expect(page.locator("#union-search .us-status")).to_contain_text("篇文档")
    expect(hits.first.locator("mark").first).to_be_visible()
    hrefs = page.locator("#union-search a.us-title").evaluate_all("els => els.map(e => e.href)")
    assert len(hrefs) == 3 and all(h.startswith(app + "/doc/") for h in hrefs), hrefs
    # Namespaced styles inside a shadow root: nothing leaks either way.
    assert page.evaluate("getComputedStyle(document.getElementById('host-title')).color") == "rgb(0, 128, 0)"
    mark_bg = hits.first.locator("mark").first.evaluate("m => getComputedStyle(m).backgroundColor")
    assert mark_bg != "rgb(255, 0, 0)"
    assert page.evaluate("document.querySelectorAll('mark').length") == 0  # all marks live in the shadow root
    # Paging inside the widget, then a result opens our document page in a new tab.
    page.locator("#union-search button.us-next").click()
    expect(page.locator("#union-search .us-pager")).to_contain_text("2 /")
    with page.context.expect_page() as new_tab:
        page.locator("#union-search a.us-title").first.click()
    doc = new_tab.value
    doc.wait_for_load_state()
    assert doc.url.startswith(app + "/doc/")
    expect(doc.locator("section.current")).to_have_count(1)


def test_widget_is_refused_from_another_origin(sites, page):
    app, _, refused = sites
    page.goto(refused + "/host.html")
    box = page.locator("#union-search input")
    box.fill(QUERY)
    box.press("Enter")
    expect(page.locator("#union-search .us-status")).to_have_text("无法连接搜索服务")
    expect(page.locator("#union-search li.us-hit")).to_have_count(0)
    error = page.evaluate(f"""fetch({json.dumps(app + '/api/search?q=x')}).then(() => 'allowed', e => e.name)""")
    assert error == "TypeError"


def test_widget_lets_only_mark_through(sites, page):
    """A hostile API answer: the snippet's markup other than <mark> becomes text; no script, no javascript: link."""
    app, allowed, _ = sites
    evil = {"ok": True, "query": "x", "total": 1, "page": 1, "per_page": 3, "pages": 1, "results": [{
        "id": "a", "doc_id": "d", "document": "<b>标题</b>", "heading_path": "<i>路径</i>",
        "snippet": '前<mark>命中</mark><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
                   '<mark onclick="window.pwned=3">再中</mark>后',
        "doc_url": "javascript:window.pwned=4", "site": "<u>s</u>", "date": "2024-01-01", "similar": 0}]}

    def fulfil(route):
        route.fulfill(status=200, content_type="application/json", body=json.dumps(evil),
                      headers={"Access-Control-Allow-Origin": allowed})

    page.route(app + "/api/search*", fulfil)
    page.goto(allowed + "/host.html")
    page.locator("#union-search input").fill("x")
    page.locator("#union-search input").press("Enter")
    hit = page.locator("#union-search li.us-hit")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark")).to_have_count(2)
    assert hit.locator("img, script, b, i, u").count() == 0
    assert hit.locator("mark").evaluate_all("ms => ms.map(m => m.attributes.length)") == [0, 0]
    expect(hit.locator(".us-title")).to_have_text("<b>标题</b>")
    assert hit.locator("a").count() == 0  # a javascript: URL never becomes a link
    hit.locator("mark").last.click()
    assert page.evaluate("window.pwned") is None


def test_iframe_mode_allowed_and_refused_by_frame_ancestors(sites, page):
    app, allowed, refused = sites
    page.goto(allowed + "/frame.html")
    frame = page.frame_locator("#f")
    expect(frame.locator(".hit mark").first).to_be_visible()
    expect(frame.locator(".hit a.title").first).to_have_attribute("href", re.compile("^" + re.escape(app) + "/doc/"))
    # The refused host: the app answers, and Chromium refuses to show the answer in the frame (it says so on the
    # console). Waiting for that refusal, not for a while, tells "refused" from "not loaded yet".
    with page.expect_response(re.compile(re.escape(app) + "/embed")) as answer, \
            page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refusal:
        page.goto(refused + "/frame.html")
    csp = answer.value.headers["content-security-policy"]
    assert answer.value.status == 200 and f"frame-ancestors 'self' {allowed}" in csp and refused not in csp, csp
    assert app in refusal.value.text and f"'self' {allowed}" in refusal.value.text, refusal.value.text
    assert page.frame(url=re.compile(re.escape(app) + "/embed")) is None  # no frame shows our page
    assert frame.locator(".hit").count() == 0


TYPED = "zgzj"  # pinyin initials of QUERY (职工之家)


def site_summary(page, app: str, q: str) -> tuple[str, str]:
    """(the count, notice) the site's results page shows for ``q``: "N 篇文档，共 M 个段落"."""
    html = page.request.get(f"{app}/search?q={q}").text()
    total = re.search(r'<strong class="total">(\d+)</strong> (篇文档，共 \d+ 个段落)', html)
    notice = re.search(r'<p class="notice">([^<]*)</p>', html)
    assert total, html[:300]
    return f"{total.group(1)} {total.group(2)}", notice.group(1) if notice else ""


def test_site_box_suggests_as_you_type_and_the_keyboard_chooses(sites, page):
    app, _, _ = sites
    page.goto(app + "/")
    box = page.locator("#q")
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially(TYPED)
    listbox = page.locator("#q-suggest")
    expect(listbox).to_be_visible()
    expect(listbox).to_have_attribute("role", "listbox")
    expect(box).to_have_attribute("aria-controls", "q-suggest")
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.locator("[role=option]")
    expect(options.first).to_have_text(QUERY)
    box.press("Escape")  # closes the list; the box keeps what was typed
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    assert page.input_value("#q") == TYPED
    box.press("ArrowDown")  # opens it again
    expect(listbox).to_be_visible()
    box.press("ArrowDown")  # highlights the first option
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    box.press("ArrowUp")  # wraps round to the last
    expect(options.last).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    assert page.input_value("#q") == QUERY
    expect(page.locator(".hit mark").first).to_be_visible()
    assert page.csp_errors == []


def test_site_suggestion_can_be_clicked(sites, page):
    app, _, _ = sites
    page.goto(f"{app}/search?q=工会")
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("zhigongzhi")
    page.locator("#q-suggest [role=option]", has_text=QUERY).first.click()
    page.wait_for_url(re.compile(r"/search\?q=%E8%81%8C%E5%B7%A5%E4%B9%8B%E5%AE%B6$"))


def test_iframe_box_suggests_and_keeps_its_page_size(sites, page):
    app, _, _ = sites
    page.goto(f"{app}/embed?per_page=3")
    box = page.locator("#q")
    box.press_sequentially(TYPED)
    expect(page.locator("#q-suggest [role=option]").first).to_have_text(QUERY)
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/embed\?q=.*per_page=3|/embed\?per_page=3&q="))
    expect(page.locator(".hit")).to_have_count(3)
    assert page.locator(".total").text_content() == site_summary(page, app, QUERY)[0].split()[0]


def test_widget_suggests_and_counts_as_the_site_does(sites, page):
    app, allowed, _ = sites
    total, _ = site_summary(page, app, QUERY)
    page.goto(allowed + "/host.html")
    box = page.locator("#union-search input[type=search]")
    expect(box).to_have_attribute("role", "combobox")
    box.press_sequentially(TYPED)
    listbox = page.locator("#union-search [role=listbox]")
    expect(listbox).to_be_visible()
    options = listbox.locator("[role=option]")
    expect(options.first).to_have_text(QUERY)
    expect(box).to_have_attribute("aria-expanded", "true")
    assert box.get_attribute("aria-controls") == listbox.get_attribute("id")
    box.press("Escape")
    expect(listbox).to_be_hidden()
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    box.press("Enter")
    expect(box).to_have_value(QUERY)
    expect(listbox).to_be_hidden()
    expect(page.locator("#union-search .us-status")).to_have_text(f"找到 {total}")
    expect(page.locator("#union-search li.us-hit")).to_have_count(3)


def test_widget_shows_did_you_mean_and_the_partial_match_notice(sites, page):
    app, allowed, _ = sites
    total, notice = site_summary(page, app, "丰富多采")
    assert notice  # the site shows one for this query: all its words are in one section only
    page.goto(allowed + "/host.html")
    box = page.locator("#union-search input[type=search]")
    box.fill("丰富多采")
    box.press("Enter")
    expect(page.locator("#union-search .us-status")).to_have_text(f"找到 {total}")
    expect(page.locator("#union-search .us-notice:not(.us-dym)")).to_have_text(notice)
    fix = page.locator("#union-search .us-dym button")
    expect(fix).to_have_text("丰富多彩")
    fix.click()
    expect(box).to_have_value("丰富多彩")
    expect(page.locator("#union-search .us-status")).to_have_text(
        f"找到 {site_summary(page, app, '丰富多彩')[0]}")
    expect(page.locator("#union-search .us-dym")).to_be_hidden()


def test_screenshots_for_review(sites, browser, tmp_path_factory):
    """Not an assertion of looks: leaves PNGs of the main pages for a human to glance at."""
    app, allowed, _ = sites
    out = tmp_path_factory.mktemp("screens")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        pg = context.new_page()
        for name, url in (("home", app + "/"), ("results", f"{app}/search?q={QUERY}"),
                          ("widget", allowed + "/host.html")):
            pg.goto(url)
            if name == "widget":
                pg.locator("#union-search input").fill(QUERY)
                pg.locator("#union-search input").press("Enter")
                expect(pg.locator("#union-search li.us-hit")).to_have_count(3)
            pg.screenshot(path=str(out / f"{name}.png"), full_page=True)
            assert (out / f"{name}.png").stat().st_size > 1000
    finally:
        context.close()
