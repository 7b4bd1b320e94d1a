"""Security: page text is escaped except our <mark>, headers (CSP, nosniff, framing), hostile ids."""

from __future__ import annotations

import pytest

from indexer.backends import open_store
from indexer.build import build_index
from webapp import create_app

from helpers import make_config

EVIL = '<script>alert("x")</script>'
EVIL_PAGE = f"""职工之家建设情况通报 {EVIL}

一、基本情况
今年我们推进模范职工之家建设，有职工在意见箱里写下 {EVIL} 和 <img src=x onerror=alert(1)> 这样的字样，
工会把它原样记录下来，也把“职工之家”的各项制度向全体职工公开，接受监督。职工之家的活动室全天开放。

二、下一步打算
继续建设职工之家，完善职工之家的管理制度，让每一名职工都能在职工之家感受到组织的温暖与关怀。
"""


@pytest.fixture(scope="module")
def evil_client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evil")
    source = tmp / "pages"
    source.mkdir()
    (source / "evil.txt").write_text(EVIL_PAGE, encoding="utf-8")
    config = make_config(tmp, source)
    report = build_index(config, open_store(config), progress=False, workers=1)
    assert report.indexed == 1, report.summary()
    return create_app(config).test_client()


def test_script_in_page_text_is_shown_as_text(evil_client):
    for path in ("/search?q=职工之家", "/search?q=script", "/embed?q=职工之家"):
        html = evil_client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        assert "<mark>" in html, path
    api = evil_client.get("/api/search?q=script").get_json()
    assert api["total"] >= 1
    doc_id = api["results"][0]["doc_id"]
    snippet = api["results"][0]["snippet"]
    assert "<script" not in snippet and "&lt;<mark>script</mark>&gt;" in snippet
    page = evil_client.get(f"/doc/{doc_id}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    # The .txt download is the text as written, served as plain text that browsers won't sniff as HTML.
    download = evil_client.get(f"/doc/{doc_id}.txt")
    assert EVIL in download.get_data(as_text=True)
    assert download.mimetype == "text/plain" and download.headers["X-Content-Type-Options"] == "nosniff"


def test_query_text_is_escaped(client):
    html = client.get("/search?q=" + "<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


@pytest.mark.parametrize("path", ["/", "/search?q=工会", "/doc/nope", "/api/search?q=工会", "/embed?q=工会",
                                  "/api/openapi.json", "/healthz", "/embed.js", "/static/style.css"])
def test_security_headers_everywhere(client, path):
    response = client.get(path)
    assert response.status_code == (404 if path == "/doc/nope" else 200), path  # answers and errors alike
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if path.startswith("/embed?"):
        assert "frame-ancestors 'self'" in csp
    else:
        assert csp.endswith("frame-ancestors 'self'")
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    response.close()


def test_frame_ancestors_for_the_iframe_mode_come_from_config(corpus_config):
    server = corpus_config.server.__class__(frame_ancestors=["https://intranet.example"])
    client = create_app(corpus_config.replace(server=server)).test_client()
    embed = client.get("/embed?q=工会")
    assert embed.headers["Content-Security-Policy"].endswith("frame-ancestors 'self' https://intranet.example")
    assert "X-Frame-Options" not in embed.headers
    other = client.get("/search?q=工会")  # only the iframe mode may be framed by others
    assert other.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")


def test_document_ids_never_reach_the_file_system(client):
    for doc_id in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "scraped", "000_db0a1bc01128f550.txt"):
        assert client.get(f"/doc/{doc_id}").status_code == 404
        assert client.get(f"/api/documents/{doc_id}").status_code == 404
