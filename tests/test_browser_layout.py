"""In a real browser (Playwright driving Debian's Chromium, headless): matched words marked in result titles and
headings on the site and in the widget, and on the document page a result opens (issue 18, item 3); the phone
layout at 390×844 with the facets folded behind 筛选 (item 6); the Word/PDF label beside a result (issue 19).

The index holds the pages of scraped/, with seed 000's heading 二、急职工所急… made hostile (<script>, &), and
dev03/dev05 written as a .docx and a .pdf instead of their saved pages. The app runs under waitress in a thread;
a static "intranet" page embeds embed.js from an origin listed in server.cors_origins. Skipped only when
/usr/bin/chromium is missing (.ci/run installs it; UNIONSEARCH_STRICT=1 turns a skip into a failure).
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from indexer.backends import open_store
from indexer.build import build_index
from indexer.clean import clean_page
from indexer.load import load_page

from helpers import ROOT, SCRAPED, make_config, seed

sys.path.insert(0, str(ROOT / "bench"))
from office_speed import make_docx, make_pdf  # noqa: E402  (the writers tests/test_office_files.py uses too)

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 30_000  # ms; generous for a loaded machine: a wait ends as soon as its condition holds
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
HEADING = "二、急职工所急,想职工所想,把工会建成温暖的职工之家。"
HOSTILE = "二、急职工所急 <script>x=1</script> & 建成温暖的职工之家。"
OFFICE = {"dev03.html": (make_docx, ".docx"), "dev05.html": (make_pdf, ".pdf")}
WORD_QUERY, PDF_QUERY = "红星街道", "长沙机务段"  # in the titles of dev03 (now Word) and dev05 (now PDF)
HOST_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>内网首页</title></head><body>
<div id="union-search"></div>
<script src="{app}/embed.js" data-target="#union-search" data-per-page="5"></script>
</body></html>
"""
# For each element: its text and the texts of its <mark>s; and whether any other element is inside.
MARKS_JS = """els => els.map(e => ({text: e.textContent, marks: Array.from(e.querySelectorAll('mark'))
    .map(m => m.textContent), others: e.querySelectorAll(':scope *:not(mark)').length}))"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def make_corpus(folder: Path) -> None:
    folder.mkdir()
    for page in sorted(SCRAPED.iterdir()):
        if page.name in OFFICE:
            write, suffix = OFFICE[page.name]
            write(clean_page(load_page(page, SCRAPED)).to_json(), folder / (page.stem + suffix))
        elif page == seed("000"):
            text = page.read_text(encoding="utf-8")
            assert HEADING in text
            (folder / page.name).write_text(text.replace(HEADING, HOSTILE), encoding="utf-8")
        elif page.is_file():
            shutil.copy(page, folder)


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """(app base URL, host page URL) with both servers running over the corpus above."""
    import waitress

    from webapp import create_app

    tmp = tmp_path_factory.mktemp("layout")
    make_corpus(tmp / "src")
    config = make_config(tmp, tmp / "src")
    report = build_index(config, open_store(config), progress=False, workers=1)
    assert report.indexed == report.pages, report.summary()
    host_dir = tmp / "host"
    host_dir.mkdir()
    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(host_dir)))
    host_url = f"http://127.0.0.1:{host.server_address[1]}"
    app = create_app(config.replace(server=config.server.__class__(cors_origins=[host_url])))
    wsgi = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, ident="unionsearch")
    app_url = f"http://127.0.0.1:{wsgi.effective_port}"
    (host_dir / "host.html").write_text(HOST_PAGE.format(app=app_url), encoding="utf-8")
    threads = [threading.Thread(target=s, daemon=True) for s in (host.serve_forever, wsgi.run)]
    for thread in threads:
        thread.start()
    yield app_url, host_url + "/host.html"
    host.shutdown()
    host.server_close()
    wsgi.close()
    for thread in threads:
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def new_page(browser, **options):
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(TIMEOUT)
    return context.new_page()


@pytest.fixture
def page(browser):
    pg = new_page(browser)
    yield pg
    pg.context.close()


@pytest.fixture
def phone(browser):
    pg = new_page(browser, **PHONE)
    yield pg
    pg.context.close()


def expect(locator):
    return sync_api.expect(locator)


def all_marked(found: list[dict], word: str) -> bool:
    """Every occurrence of ``word`` in these elements' texts stands inside one of their <mark>s."""
    return all(e["text"].count(word) == "|".join(e["marks"]).count(word) for e in found)


def widget_search(page, host: str, q: str):
    page.goto(host)
    box = page.locator("#union-search input[type=search]")
    box.fill(q)
    box.press("Enter")
    hits = page.locator("#union-search li.us-hit")
    expect(hits.first).to_be_visible()
    return hits


def test_site_marks_titles_and_headings_and_the_document_page(sites, page):
    app, _ = sites
    page.goto(f"{app}/search?q=职代会")
    expect(page.locator(".hit .path mark", has_text="职代会").first).to_be_visible()
    paths = page.locator(".hit .path").evaluate_all(MARKS_JS)
    assert any("职代会" in p["text"] for p in paths) and all_marked(paths, "职代会"), paths
    assert all(p["others"] == 0 for p in paths)
    mark = page.locator(".hit .path mark").first
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") == "rgb(255, 229, 143)"
    page.goto(f"{app}/search?q=工作总结")
    titles = page.locator(".hit a.title").evaluate_all(MARKS_JS)
    assert sum("工作总结" in t["text"] for t in titles) >= 3 and all_marked(titles, "工作总结"), titles
    expect(page.locator(".hit a.title mark").first).to_be_visible()
    # A result opens its document with the query's words marked in every section.
    page.goto(f"{app}/search?q=职代会")
    page.locator(".hit a.title").first.click()
    page.wait_for_url(re.compile(r"/doc/.*[?&]q=%E8%81%8C%E4%BB%A3%E4%BC%9A"))
    sections = page.locator("article section").evaluate_all(MARKS_JS)
    assert sum(s["text"].count("职代会") for s in sections) >= 2 and all_marked(sections, "职代会"), sections
    expect(page.locator("section.current mark").first).to_be_in_viewport()


def test_a_hostile_heading_is_text_on_the_site_and_in_the_widget(sites, page):
    app, host = sites
    page.goto(f"{app}/search?q=温暖的职工之家")
    path = page.locator(".hit .path", has_text="<script>x=1</script>").first
    expect(path).to_have_text(HOSTILE)
    found = path.evaluate_all(MARKS_JS)
    assert found[0]["others"] == 0 and all_marked(found, "职工之家"), found
    assert page.evaluate("typeof window.x") == "undefined"
    widget_search(page, host, "温暖的职工之家")
    path = page.locator("#union-search .us-path", has_text="<script>x=1</script>").first
    expect(path).to_have_text(HOSTILE)
    found = path.evaluate_all(MARKS_JS)
    assert found[0]["others"] == 0 and found[0]["marks"] and all_marked(found, "职工之家"), found
    assert page.evaluate("typeof window.x") == "undefined"


def test_widget_marks_titles_and_headings_and_links_with_the_query(sites, page):
    _, host = sites
    hits = widget_search(page, host, "职代会")
    expect(hits.locator(".us-path mark", has_text="职代会").first).to_be_visible()
    paths = page.locator("#union-search .us-path").evaluate_all(MARKS_JS)
    assert any("职代会" in p["text"] for p in paths) and all_marked(paths, "职代会"), paths
    hrefs = page.locator("#union-search a.us-title").evaluate_all("els => els.map(e => e.href)")
    assert hrefs and all(parse_qs(urlsplit(h).query)["q"] == ["职代会"] for h in hrefs), hrefs
    widget_search(page, host, "工作总结")
    titles = page.locator("#union-search a.us-title").evaluate_all(MARKS_JS)
    assert sum("工作总结" in t["text"] for t in titles) >= 3 and all_marked(titles, "工作总结"), titles
    with page.context.expect_page() as new_tab:
        page.locator("#union-search a.us-title").first.click()
    doc = new_tab.value
    doc.wait_for_load_state()
    expect(doc.locator("article mark", has_text="工作总结").first).to_be_visible()


def test_phone_shows_the_first_result_and_folds_the_facets(sites, phone):
    app, _ = sites
    phone.goto(f"{app}/search?q=工会")
    toggle = phone.locator("button.facets-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_text(re.compile("^筛选"))
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(phone.locator("#facets")).to_be_hidden()
    assert toggle.get_attribute("aria-controls") == "facets"
    first = phone.locator(".hit").first
    title = first.locator("a.title").bounding_box()
    assert title and title["y"] + title["height"] <= 844, title  # the first result's title on the first screen
    folded = first.bounding_box()["y"]
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    expect(phone.locator(".kbd-hint")).to_be_hidden()  # no keyboard likely: no "/" hint
    toggle.tap()
    expect(phone.locator("#facets")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert first.bounding_box()["y"] > folded  # the facets open above the results
    facet = phone.locator("#facets a").first
    value = facet.text_content()
    facet.tap()
    phone.wait_for_url(re.compile(r"(year|site|org_type)="))
    expect(phone.locator("button.facets-toggle")).to_have_text(re.compile(r"^筛选（1）"))
    expect(phone.locator("#facets")).to_be_hidden()  # folded again on the filtered page
    expect(phone.locator(".chip")).to_have_text(value)
    phone.locator("button.facets-toggle").focus()  # a keyboard opens and closes it too
    phone.keyboard.press("Enter")
    expect(phone.locator("#facets strong[aria-current]")).to_have_text(value)
    phone.keyboard.press("Space")
    expect(phone.locator("#facets")).to_be_hidden()
    expect(phone.locator("button.facets-toggle")).to_have_attribute("aria-expanded", "false")


def test_desktop_shows_the_facets_and_the_keyboard_hint(sites, page):
    app, _ = sites
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(f"{app}/search?q=工会")
    expect(page.locator("#facets")).to_be_visible()
    expect(page.locator("button.facets-toggle")).to_be_hidden()
    expect(page.locator(".kbd-hint")).to_be_visible()
    expect(page.locator(".kbd-hint")).to_contain_text("/")


@pytest.mark.parametrize(("query", "label"), [(WORD_QUERY, "Word"), (PDF_QUERY, "PDF")])
def test_word_and_pdf_results_are_labelled(sites, page, query, label):
    app, host = sites
    for url in (f"{app}/search?q={query}", f"{app}/embed?q={query}"):
        page.goto(url)
        first = page.locator(".hit").first
        expect(first.locator(".filetype")).to_have_text(label)
        assert first.locator(".filetype").bounding_box()["y"] <= first.locator("a.title").bounding_box()["y"] + 10
    hits = widget_search(page, host, query)
    expect(hits.first.locator(".us-type")).to_have_text(label)
    # Saved web pages and text files show no label.
    page.goto(f"{app}/search?q=职代会&per_page=20")
    labels = page.locator(".hit").evaluate_all("hs => hs.map(h => (h.querySelector('.filetype') || {}).textContent)")
    sources = page.locator(".hit .source").all_text_contents()
    assert labels == [{".docx": "Word", ".pdf": "PDF"}.get(Path(s).suffix) for s in sources], (labels, sources)
    assert None in labels
