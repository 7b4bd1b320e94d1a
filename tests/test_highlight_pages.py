"""Matched words marked in titles and headings (results, /embed, API) and on the document page (issue 18, item 3),
with everything else escaped; the file type beside a result from a Word or PDF file (issue 19). Flask's test
client over real pages of scraped/: the whole sample index (conftest) and a small index of a few pages, one of
them with a hostile heading (<script> and &), two of them written as a .docx and a .pdf here."""

from __future__ import annotations

import re
import sys
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from indexer.backends import open_store
from indexer.build import build_index
from indexer.clean import clean_page
from indexer.load import load_page

from helpers import ROOT, SCRAPED, make_config, seed

sys.path.insert(0, str(ROOT / "bench"))
from office_speed import make_docx, make_pdf  # noqa: E402  (the writers tests/test_office_files.py uses too)

# A heading of seed 000 (in each of its articles) made hostile: markup and an ampersand a saved page could hold as
# text.
HEADING = "二、急职工所急,想职工所想,把工会建成温暖的职工之家。"
HOSTILE = "二、急职工所急 <script>x=1</script> & 建成温暖的职工之家。"
WORD_PAGE, PDF_PAGE = "dev03.html", "dev05.html"  # written as dev03.docx and dev05.pdf
WORD_QUERY, PDF_QUERY = "红星街道", "长沙机务段"  # words of those two documents' titles


class Marked(HTMLParser):
    """The elements of a page with a class (``wanted`` ".name") or a tag ("name"): for each, its attributes,
    the tags inside it, its text and the ranges of that text inside <mark>."""

    def __init__(self, wanted: str):
        super().__init__(convert_charrefs=True)
        self.wanted = wanted
        self.found: list[dict] = []
        self._open: dict | None = None
        self._depth = 0
        self._mark_start: int | None = None

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if self._open is None:
            if self.wanted.lstrip(".") in classes if self.wanted.startswith(".") else tag == self.wanted:
                self._open, self._depth = {"tag": tag, "attrs": dict(attrs), "inner": [], "text": "", "marks": []}, 1
            return
        self._open["inner"].append(tag)
        if tag == self._open["tag"]:
            self._depth += 1
        if tag == "mark":
            self._mark_start = len(self._open["text"])

    def handle_endtag(self, tag):
        if self._open is None:
            return
        if tag == "mark" and self._mark_start is not None:
            self._open["marks"].append((self._mark_start, len(self._open["text"])))
            self._mark_start = None
        if tag == self._open["tag"]:
            self._depth -= 1
            if not self._depth:
                self.found.append(self._open)
                self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data


def elements(html: str, wanted: str) -> list[dict]:
    parser = Marked(wanted)
    parser.feed(html)
    return parser.found


def marked_words(element: dict) -> list[str]:
    return [element["text"][a:b] for a, b in element["marks"]]


def unmarked_occurrences(element: dict, word: str) -> list[int]:
    """Where ``word`` stands in the element's text outside every <mark>."""
    return [m.start() for m in re.finditer(re.escape(word), element["text"])
            if not any(a <= m.start() and m.end() <= b for a, b in element["marks"])]


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def small_client(tmp_path_factory):
    """An app over seed 000 (a heading made hostile), dev01.html, and dev03/dev05 written as .docx/.pdf."""
    tmp = tmp_path_factory.mktemp("highlight")
    src = tmp / "src"
    src.mkdir()
    original = seed("000")
    text = original.read_text(encoding="utf-8")
    assert HEADING in text
    (src / original.name).write_text(text.replace(HEADING, HOSTILE), encoding="utf-8")
    (src / "dev01.html").write_bytes((SCRAPED / "dev01.html").read_bytes())
    for name, write, suffix in ((WORD_PAGE, make_docx, ".docx"), (PDF_PAGE, make_pdf, ".pdf")):
        cleaned = clean_page(load_page(SCRAPED / name, SCRAPED)).to_json()
        write(cleaned, src / (name.removesuffix(".html") + suffix))
    config = make_config(tmp, src)
    report = build_index(config, open_store(config), progress=False, workers=1)
    assert report.indexed == report.pages == 4, report.summary()
    from webapp import create_app

    app = create_app(config)
    app.config["TESTING"] = True
    return app.test_client()


def test_file_type_comes_from_the_source_suffix():
    from webapp.views import file_type

    assert [file_type(s) for s in ("a/b.docx", "B.DOC", "x.wps", "y.pdf", "z.RTF")] == \
        ["Word", "Word", "WPS", "PDF", "RTF"]
    assert [file_type(s) for s in ("dev01.html", "000.txt", "page.mhtml", "pdf", "docx/")] == [None] * 5


@pytest.mark.parametrize("face", ["/search", "/embed"])
def test_a_hostile_heading_is_text_with_only_our_marks(small_client, face):
    html = page(small_client, f"{face}?q=温暖的职工之家&per_page=20")
    paths = [p for p in elements(html, ".path") if "<script>" in p["text"]]
    assert paths, [p["text"] for p in elements(html, ".path")]
    for path in paths:
        assert path["text"] == HOSTILE  # the heading as it is, markup and & as text
        assert set(path["inner"]) == {"mark"}  # the only element inside is our <mark>
        assert path["marks"] and not unmarked_occurrences(path, "职工之家")
    assert "&lt;script&gt;x=1&lt;/script&gt; &amp; " in html
    assert "<script>x=1" not in html and "x=1</script>" not in html


def test_api_gives_marked_titles_and_headings_escaped(small_client):
    body = small_client.get("/api/search?q=温暖的职工之家&per_page=20&group=document").get_json()
    results = body["results"] + [a for r in body["results"] for a in r["also"]]
    hit = next(r for r in results if "<script>" in r["heading"])
    assert hit["heading"] == HOSTILE
    for key in ("heading_html", "heading_path_html"):
        assert "&lt;script&gt;x=1&lt;/script&gt; &amp; " in hit[key] and "职工之家</mark>" in hit[key], key
        assert re.sub(r"</?mark>", "", hit[key]).count("<") == 0  # no tag but ours
    for r in results:  # every *_html is its field escaped and marked: without the marks it is the field again
        for key in ("document", "heading", "heading_path"):
            plain = re.sub(r"</?mark>", "", r[key + "_html"])
            assert plain == r[key].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
                .replace('"', "&quot;").replace("'", "&#x27;"), (key, r[key])


def test_document_page_with_q_marks_every_section_and_escapes(small_client):
    results = small_client.get("/api/search?q=温暖的职工之家&per_page=20").get_json()["results"]
    doc_id = next(r["doc_id"] for r in results if "<script>" in r["heading"])
    marked = page(small_client, f"/doc/{doc_id}?q=职工之家")
    heading = next(h for h in elements(marked, "h2") if "<script>" in h["text"])
    assert heading["text"] == HOSTILE and set(heading["inner"]) == {"mark"} and "职工之家" in marked_words(heading)
    assert "&lt;script&gt;x=1&lt;/script&gt; &amp; " in marked and "<script>x=1" not in marked
    sections = elements(marked, "section")
    assert sum(s["text"].count("职工之家") for s in sections) >= 2
    for element in sections:
        assert set(element["inner"]) <= {"mark", "p", "h2"}, element["inner"]
        assert not unmarked_occurrences(element, "职工之家"), element["text"]
    toc = elements(marked, "ol")[0]  # the outline: the headings, marked too
    assert set(toc["inner"]) == {"li", "a", "mark"} and not unmarked_occurrences(toc, "职工之家")
    plain = page(small_client, f"/doc/{doc_id}")  # without q: the same text, nothing marked
    assert "<mark>" not in plain
    assert [s["text"] for s in elements(plain, "section")] == [s["text"] for s in sections]


@pytest.mark.parametrize(("query", "label"), [(WORD_QUERY, "Word"), (PDF_QUERY, "PDF"), ("职代会", None)])
def test_results_from_word_and_pdf_files_show_their_type(small_client, query, label):
    """The label beside each result is its source file's type; saved web pages and text files have none."""
    for face, per_page in (("/search", 10), ("/embed", 5)):
        results = small_client.get(f"/api/search?q={query}&group=document&per_page={per_page}").get_json()["results"]
        html = page(small_client, f"{face}?q={query}")
        assert len(elements(html, ".hit")) == len(results) > 0, face
        kinds = [k["text"] for k in elements(html, ".filetype")]
        assert kinds == [r["file_type"] for r in results if r["file_type"]], face
        assert results[0]["file_type"] == label
        assert {r["file_type"] for r in results if r["source"].endswith((".html", ".txt"))} <= {None}
    if label is None:  # a query whose first result is a web page finds the Word file too: both kinds shown
        assert set(kinds) == {"Word"} and len(kinds) < len(results)


# ---- the whole sample index --------------------------------------------------------------------------------------

def test_results_mark_titles_and_headings(client):
    html = page(client, "/search?q=职代会&per_page=30")
    paths = elements(html, ".path")
    with_word = [p for p in paths if "职代会" in p["text"]]
    assert with_word
    for element in paths + elements(html, ".title"):
        assert not unmarked_occurrences(element, "职代会"), element["text"]
        assert set(element["inner"]) <= {"mark"}
    titles = elements(page(client, "/search?q=工作总结&per_page=30"), ".title")
    assert sum("工作总结" in t["text"] for t in titles) >= 3
    for title in titles:
        assert not unmarked_occurrences(title, "工作总结"), title["text"]


def test_result_links_carry_the_query_shown(client):
    for face in ("/search", "/embed"):
        html = page(client, f"{face}?q=职代会")
        hrefs = [a["attrs"]["href"] for a in elements(html, ".title")]
        also = [unescape(h) for ul in re.findall(r'<ul class="also".*?</ul>', html, re.S)
                for h in re.findall(r'href="([^"]+)"', ul)]
        assert also or face == "/embed"  # the site lists a document's other matching sections under it
        assert hrefs and all(parse_qs(urlsplit(h).query)["q"] == ["职代会"] for h in hrefs + also), (face, hrefs)
    # A corrected query's results link with the correction, whose words are the ones on the page.
    html = page(client, "/search?q=职工之佳")
    assert "以下为“职工之家”的结果" in html
    hrefs = [a["attrs"]["href"] for a in elements(html, ".title")]
    assert hrefs and all(parse_qs(urlsplit(h).query)["q"] == ["职工之家"] for h in hrefs)
    assert any("职工之家" in marked_words(p) for p in elements(html, ".path"))


def test_document_page_marks_the_query_in_every_paragraph(client, store):
    html = page(client, "/search?q=职代会")
    href = elements(html, ".title")[0]["attrs"]["href"]
    doc = page(client, href)
    doc_id = urlsplit(href).path.rsplit("/", 1)[1]
    sections = store.document(doc_id)
    occurrences = sum((s.heading + "\n" + s.text).count("职代会") for s in sections)
    assert occurrences >= 2
    blocks = elements(doc, "section")
    assert sum(b["text"].count("职代会") for b in blocks) == occurrences
    for element in blocks + elements(doc, "h1"):
        assert not unmarked_occurrences(element, "职代会"), element["text"]
    outline = elements(doc, "ol")[0]  # the headings beside the text
    assert not unmarked_occurrences(outline, "职代会")
    assert "<mark>" not in page(client, urlsplit(href).path)  # no q: nothing marked


def test_document_page_marks_back_off_words_when_the_word_is_absent(client):
    html = page(client, "/search?q=保洁员")
    assert "以下为包含“保洁”的结果" in html
    href = elements(html, ".title")[0]["attrs"]["href"]
    assert parse_qs(urlsplit(href).query)["q"] == ["保洁员"]
    doc = page(client, href)
    text = "".join(s["text"] for s in elements(doc, "section"))
    assert "保洁员" not in text and "保洁" in text
    for element in elements(doc, "section"):
        assert not unmarked_occurrences(element, "保洁"), element["text"]


def test_a_section_id_redirect_keeps_the_query(client):
    section = client.get("/api/search?q=职代会").get_json()["results"][0]
    response = client.get(f"/doc/{section['id']}?q=职代会")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert parse_qs(target.query) == {"s": [section["id"]], "q": ["职代会"]}
    assert target.fragment == section["id"]
    assert "q=" not in client.get(f"/doc/{section['id']}").headers["Location"]
