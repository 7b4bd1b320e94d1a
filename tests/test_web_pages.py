"""The HTML site through Flask's test client: home, results, document, .txt, iframe mode, OpenSearch, health."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

QUERY = "职工之家"


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


class Links(HTMLParser):
    """Collects <a href>, <script>, <link> and <mark> occurrences of a page."""

    def __init__(self):
        super().__init__()
        self.anchors: list[tuple[dict, str]] = []
        self.scripts: list[dict] = []
        self.links: list[dict] = []
        self._a: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self._a, self._text = attrs, []
        elif tag == "script":
            self.scripts.append(attrs)
        elif tag == "link":
            self.links.append(attrs)

    def handle_data(self, data):
        if self._a is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._a is not None:
            self.anchors.append((self._a, "".join(self._text).strip()))
            self._a = None


def parse(html: str) -> Links:
    p = Links()
    p.feed(html)
    return p


def hit_links(html: str) -> list[str]:
    return [a["href"] for a, _ in parse(html).anchors if a.get("class") == "title"]


def test_home_shows_corpus_size_and_index_time(client, store):
    html = text(client.get("/"))
    stats = store.stats()
    assert f"收录 {stats['pages']} 个页面" in html
    assert f"{stats['sections']} 个段落" in html
    assert re.search(r"索引更新于 <time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>", html)
    assert '<label for="q"' in html and 'id="q"' in html


def test_every_page_links_opensearch_and_only_our_own_scripts(client):
    for path in ("/", f"/search?q={QUERY}", "/embed?q=工会"):
        page = parse(text(client.get(path)))
        scripts = page.scripts
        assert scripts or path.startswith("/embed"), path  # the site pages load app.js; the iframe mode no script
        assert all(s.get("src", "").startswith("/static/") for s in scripts), scripts  # no inline JS, no CDN
        assert any(link.get("rel") == "stylesheet" for link in page.links), path
        assert all(not link.get("href", "").startswith(("http:", "https:", "//")) for link in page.links)
    home = parse(text(client.get("/")))
    assert any(link.get("rel") == "search" and link.get("type") == "application/opensearchdescription+xml"
               for link in home.links)


def test_results_page_shows_total_time_marks_paths_and_meta(client):
    html = text(client.get(f"/search?q={QUERY}"))
    assert re.search(r"找到 <strong class=\"total\">\d+</strong> 篇文档，共 \d+ 个段落（用时 \d+ 毫秒）", html)
    assert f"<mark>{QUERY}</mark>" in html
    assert 'class="path"' in html and 'class="site"' in html and "<time>" in html
    assert f'value="{QUERY}"' in html  # the query stays in the box (and the URL)
    links = hit_links(html)
    assert links and all(href.startswith("/doc/") and "s=" in href for href in links)


def test_results_paginate_without_overlap(client):
    first = text(client.get(f"/search?q={QUERY}&per_page=3"))
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = text(client.get(f"/search?q={QUERY}&per_page=3&page=2"))
    assert 'rel="prev"' in second and 'start="4"' in second
    assert not set(hit_links(first)) & set(hit_links(second))


def test_facet_link_filters_and_can_be_cleared(client):
    html = text(client.get(f"/search?q={QUERY}"))
    facet = next(a for a, _ in parse(html).anchors if "year=" in a["href"])
    year = parse_qs(urlsplit(facet["href"]).query)["year"][0]
    filtered = text(client.get(facet["href"]))
    assert f'<strong aria-current="true">{year}</strong>' in filtered
    assert "清除全部筛选" in filtered
    total = int(re.search(r'class="total">(\d+)<', filtered).group(1))
    assert 0 < total <= int(re.search(r'class="total">(\d+)<', html).group(1))


def test_sort_by_date_is_a_link_and_is_kept_in_paging(client):
    html = text(client.get(f"/search?q={QUERY}&sort=date&per_page=2"))
    assert "<strong>日期</strong>" in html
    assert "sort=date" in next(a["href"] for a, _ in parse(html).anchors if a.get("rel") == "next")


def test_empty_state_offers_broader_queries(client):
    """A quoted phrase with a word no page has finds nothing, whatever the ranking: the page says so and offers the
    query without its quotes and each of its words; the known word's link finds results."""
    html = text(client.get("/search?q=" + "“职工之家 zzqxv”"))
    assert "没有找到与““职工之家 zzqxv””相关的段落" in html and 'class="hit"' not in html
    broader = {label: a["href"] for a, label in parse(html).anchors if a.get("class") == "broader"}
    assert {"职工之家 zzqxv", "职工之家", "zzqxv"} <= set(broader), broader
    found = text(client.get(broader["职工之家"]))
    assert 'class="hit"' in found and "没有找到" not in found


def test_empty_state_for_an_unknown_word(client):
    html = text(client.get("/search?q=zzqxvw"))
    assert "没有找到与“zzqxvw”相关的段落" in html
    assert 'class="hit"' not in html


def test_blank_query_shows_the_home_page(client):
    html = text(client.get("/search?q=+++"))
    assert "收录" in html and 'class="summary"' not in html  # the home page of an index, not a results page


def test_document_page_outline_highlight_original_similar_and_download(client):
    html = text(client.get(f"/search?q={QUERY}&per_page=30"))
    api = client.get(f"/api/search?q={QUERY}&per_page=30").get_json()["results"]
    with_url = next(r for r in api if r["url"])  # a page saved from the web, so it has an original link
    href = next(h for h in hit_links(html) if f"s={with_url['id']}" in h.replace("%23", "#"))
    section = parse_qs(urlsplit(href).query)["s"][0]
    doc_id = urlsplit(href).path.rsplit("/", 1)[1]
    page = text(client.get(href))
    assert f'<section id="{section}" class="current" aria-current="true">' in page
    assert '<nav class="toc" aria-label="目录">' in page
    anchors = parse(page).anchors
    assert any(a.get("class") == "original" and a["href"].startswith("http") for a, _ in anchors)
    similar = [a["href"] for a, _ in anchors if a["href"].startswith("/doc/") and not a["href"].endswith(".txt")]
    assert similar and f"/doc/{doc_id}" not in similar  # similar documents, never the document itself
    assert "返回“职工之家”的搜索结果" in page
    download = client.get(f"/doc/{doc_id}.txt")
    assert download.status_code == 200
    assert download.mimetype == "text/plain" and download.mimetype_params["charset"] == "utf-8"
    assert "attachment" in download.headers["Content-Disposition"]
    body = download.get_data(as_text=True)
    api = client.get(f"/api/documents/{doc_id}").get_json()
    assert body.startswith(api["title"] + "\n")
    assert api["sections"] and all(s["text"] in body for s in api["sections"])


@pytest.mark.parametrize("path", ["/doc/nope", "/doc/nope.txt", "/doc/" + "x" * 500, "/nowhere"])
def test_missing_pages_are_html_404s(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "返回首页" in response.get_data(as_text=True)


BAD_PARAMS = ["per_page=1000", "per_page=0", "per_page=abc", "page=-1", "page=999999", "page=abc", "sort=bogus",
              "year=abc", "year=2020", "site=" + "s" * 300, "org_type=<b>", "unknown=1", "q=" + "职" * 600,
              "q=" + "a%22b:c-" * 80, "q=%00%01", "q=title:", "q=year:1..9999", "q=OR+OR", "q=-"]


@pytest.mark.parametrize("params", BAD_PARAMS)
@pytest.mark.parametrize("path", ["/search", "/embed"])
def test_odd_parameters_never_break_the_pages(client, path, params):
    query = params if params.startswith("q=") else f"q={QUERY}&{params}"
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200, (path, params)


def test_iframe_mode_is_compact_and_links_out(client):
    html = text(client.get(f"/embed?q={QUERY}&per_page=3"))
    assert 'class="embed"' in html and '<header' not in html
    links = hit_links(html)
    assert 0 < len(links) <= 3
    assert all(h.startswith("http://localhost/doc/") for h in links)
    assert all(a.get("target") == "_blank" for a, _ in parse(html).anchors if a.get("class") == "title")
    assert "<mark>" in html
    assert text(client.get("/embed")).count('class="hit"') == 0


def test_opensearch_description(client):
    response = client.get("/opensearch.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    body = response.get_data(as_text=True)
    assert 'template="http://localhost/search?q={searchTerms}"' in body
    assert "<ShortName>工会文档搜索</ShortName>" in body


@pytest.mark.parametrize("path", ["/healthz", "/api/healthz"])
def test_healthz(client, path):
    response = client.get(path)
    assert response.status_code == 200
    data = response.get_json()
    assert data["ok"] is True and data["index"]["exists"] is True and data["index"]["sections"] > 0


def test_healthz_without_an_index_is_503(tmp_path):
    from webapp import create_app

    from helpers import make_config

    client = create_app(make_config(tmp_path)).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["ok"] is False
    assert client.get("/").status_code == 200  # the home page says the index is missing
    assert client.get(f"/search?q={QUERY}").status_code == 503
    assert client.get(f"/api/search?q={QUERY}").get_json()["status"] == 503


def test_embed_js_is_served_as_javascript(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.get_data(as_text=True)
    response.close()
    assert "attachShadow" in body and "innerHTML" not in body  # DOM built with textContent only


def test_static_assets_are_small(client):
    for name in ("style.css", "app.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert len(response.data) < 20_000
        response.close()
