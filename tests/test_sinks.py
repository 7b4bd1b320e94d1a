"""Hostile page content in every sink: markup, event handlers, javascript: URLs, entities and terminal escapes in
titles, headings, text and the source URL render as inert text on the results page, the document page (its
original-URL link is never a javascript: href), the .txt download, /embed, the JSON API and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest

from indexer.backends import open_store
from indexer.build import build_index
from webapp import create_app

from helpers import ROOT, make_config

BIN = Path(sys.executable).parent / "unionsearch"
BODY = ("今年以来，工会紧紧围绕中心工作，认真履行维护职能，扎实开展职工之家建设，取得了新的进展。"
        "全年慰问困难职工83人次，发放慰问金12.6万元，职工满意度明显提升。")
# Entities in the HTML are text once parsed: the page *says* <script>, it does not contain a script element.
EVIL_HTML = f"""<!-- saved from url=(0019)javascript:alert(1) -->
<html><head><meta charset="utf-8">
<title>&lt;script&gt;alert("t")&lt;/script&gt;职工之家工作总结 &amp;amp; 计划</title>
<link rel="canonical" href="javascript:alert(5)"></head>
<body><h1>&lt;script&gt;alert("t")&lt;/script&gt;职工之家工作总结 &amp;amp; 计划</h1>
<p>{BODY}&lt;img src=x onerror=alert(2)&gt;</p>
<p><strong>一、&lt;img src=x onerror=alert(3)&gt;加强职工之家建设</strong></p>
<p>{BODY}链接 <a href="javascript:alert(4)">javascript:alert(4)</a> 写在文中，&#27;[31m红色&#27;[0m，
<a href="#" onclick="alert(6)">点我</a>，<iframe src="javascript:alert(7)"></iframe>
&lt;/textarea&gt;&lt;svg onload=alert(8)&gt;</p>
<p><strong>二、下一步打算</strong></p>
<p>继续建设职工之家，完善职工之家的管理制度，&amp;lt;b&amp;gt;双重转义&amp;lt;/b&amp;gt;，{BODY}</p>
</body></html>
"""
# A text save: raw markup, a javascript: "本文链接", terminal escapes (CSI, OSC title, C1 CSI) in title and text.
EVIL_TEXT = (f"本文链接：javascript:alert(1)\n<script>alert('t')</script>职工之家工作计划\x1b]0;pwned\x07\n\n"
             f"一、\x1b[31m<img src=x onerror=alert(2)>加强职工之家建设\x1b[0m\n{BODY}\x1b[2J\u009b31m 尾巴。\n"
             f"二、下一步打算\n继续建设职工之家，{BODY}\n")
# A real http URL that tries to break out of the href attribute.
BREAKOUT_HTML = (f'<!-- saved from url=(0060)http://union.example/a"><script>alert(9)</script> -->\n'
                 f"<html><head><title>职工之家建设通报</title></head><body><h1>职工之家建设通报</h1>"
                 f"<p>{BODY}</p><p>{BODY}</p></body></html>")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BAD_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data):", re.I)


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sinks")
    source = tmp / "pages"
    source.mkdir()
    (source / "evil.html").write_text(EVIL_HTML, encoding="utf-8")
    (source / "evil_text.txt").write_text(EVIL_TEXT, encoding="utf-8")
    (source / "breakout.html").write_text(BREAKOUT_HTML, encoding="utf-8")
    config = make_config(tmp, source)
    report = build_index(config, open_store(config), progress=False, workers=1)
    assert report.indexed == 3, report.summary()
    return config, create_app(config).test_client()


def assert_inert(markup: str, where: str) -> None:
    """No script we did not write, no event handler, no script URL, no control character."""
    root = lxml.html.document_fromstring(markup)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "script":
            assert (el.get("src") or "").startswith("/static/"), f"{where}: inline or foreign <script>"
        assert el.tag not in ("iframe", "svg", "object", "embed"), f"{where}: <{el.tag}> from page content"
        if el.tag == "img":
            assert not (el.get("src") or "").startswith("x"), f"{where}: <img> from page content"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: {name}= attribute"
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href"):
                assert not BAD_SCHEME.match(value), f"{where}: {name}={value!r}"
    assert not CONTROL.search(markup), f"{where}: control character"


def search_json(client, q="职工之家", at_least=3):
    body = client.get(f"/api/search?q={q}&per_page=50&group=section").get_json()
    assert body["ok"] and body["total_sections"] >= at_least, body
    return body


def test_cleaner_keeps_no_script_url_and_no_control_characters(evil):
    _, client = evil
    for r in search_json(client)["results"]:
        assert r["url"] is None or r["url"].startswith("http://union.example/a"), r["url"]
        for key in ("document", "page_title", "heading", "heading_path", "text"):
            assert not CONTROL.search(r[key] or ""), (key, r[key])


def test_results_page_and_embed(evil):
    _, client = evil
    for path in ("/search?q=职工之家", "/search?q=职工之家&group=section", "/search?q=script",
                 "/search?q=onerror", "/search?q=javascript", "/embed?q=职工之家", "/embed?q=alert"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert_inert(html, path)
        assert "<script>alert" not in html and "<img src=x" not in html, path
    html = client.get("/search?q=职工之家&group=section").get_data(as_text=True)
    assert "&lt;/script&gt;<mark>职工之家</mark>工作总结" in html  # the title marked, its markup as text
    text = html.replace("<mark>", "").replace("</mark>", "").replace("&quot;", "&#34;")  # one quote escape
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;职工之家工作总结 &amp;amp; 计划" in text  # title as text
    assert "&lt;img src=x onerror=alert(3)&gt;加强职工之家建设" in text  # heading as text


def test_document_page(evil):
    _, client = evil
    for r in search_json(client)["results"]:
        response = client.get(f"/doc/{r['doc_id']}?s={r['id']}&q=<script>")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_inert(html, f"/doc/{r['doc_id']}")
        root = lxml.html.document_fromstring(html)
        originals = root.cssselect("a.original")
        if r["source"] == "breakout.html":  # the URL is cut at the quote, the link stays one attribute
            assert [a.get("href") for a in originals] == ["http://union.example/a"]
        else:
            assert originals == []  # no http(s) URL, no "原文链接"
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert "<" not in title and (r["source"] == "breakout.html" or "&lt;script&gt;" in title)
    html = client.get("/doc/" + next(r["doc_id"] for r in search_json(client)["results"]
                                     if r["source"] == "evil.html")).get_data(as_text=True)
    assert "&lt;/textarea&gt;&lt;svg onload=alert(8)&gt;" in html and "&amp;lt;b&amp;gt;双重转义" in html


def test_text_download_is_plain_text(evil):
    _, client = evil
    for doc_id in {r["doc_id"] for r in search_json(client)["results"]}:
        response = client.get(f"/doc/{doc_id}.txt")
        assert response.status_code == 200
        assert response.mimetype == "text/plain" and response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("attachment")
        text = response.get_data(as_text=True)
        assert not CONTROL.search(text.replace("\n", ""))
        assert "javascript:" not in text.split("\n\n", 1)[0]  # no javascript: 来源 line in the header


def test_api_gives_plain_text_and_escaped_snippets(evil):
    _, client = evil
    body = search_json(client)
    texts = " ".join(r["document"] + r["heading"] + r["text"] for r in body["results"])
    assert '<script>alert("t")</script>职工之家工作总结 &amp; 计划' in texts  # plain text, exactly as the page says
    assert "<img src=x onerror=alert(3)>加强职工之家建设" in texts
    for r in body["results"] + [a for hit in body["results"] for a in hit["also"]]:
        assert "<" not in re.sub(r"</?mark>", "", r["snippet"]), r["snippet"]
        assert r["doc_url"].startswith("http://localhost/doc/")
    # "onload" stands only in the HTML page's text (onerror is also in a heading, whose section may rank first).
    onload = search_json(client, "onload", 1)["results"]
    assert any("&lt;svg <mark>onload</mark>=alert(8)&gt;" in r["snippet"] for r in onload)
    for r in body["results"]:
        doc = client.get(f"/api/documents/{r['doc_id']}").get_json()
        assert doc["url"] is None or doc["url"] == "http://union.example/a"
        assert doc["sections"] and all(not CONTROL.search(s["text"] + s["heading"]) for s in doc["sections"])


def test_cli_output_has_no_terminal_escapes(evil):
    config, _ = evil
    pages = config.source_path
    for args in (["search", "职工之家", "--limit", "20"], ["search", "职工之家", "--json"],
                 ["clean", str(pages / "evil_text.txt")], ["clean", str(pages / "evil.html")]):
        extra = ["--index", str(config.index_path)] if args[0] == "search" else []
        proc = subprocess.run([str(BIN), *args, *extra], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert not CONTROL.search(proc.stdout.replace("\n", "")), (args, proc.stdout)
        if "--json" in args:
            results = json.loads(proc.stdout)["results"]
            assert results and all(r["url"] != "javascript:alert(1)" for r in results)
        else:
            assert "javascript:alert(1)" not in proc.stdout.split("\n", 2)[1]  # the url: line
