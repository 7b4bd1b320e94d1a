"""Fuzzing queries (hypothesis): random unicode (lone surrogates, controls, bidi marks, syntax soup) through the
query parser, search() and every web face. No exception escapes search(); the site answers 200, the API 200 or
a 4xx JSON error, never a 500 or a traceback; results respect per_page and snippets carry only <mark>."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.query import MAX_TERMS, MAX_UNIT_CHARS, parse_query
from indexer.search import SearchOptions, search

SYNTAX = st.sampled_from(['"', "“", "”", "-", "－", " OR ", " or ", "title:", "site:", "year:", "year:2019..2023",
                          "：", ":", "(", ")", "*", "?", "\\", "AND", "NOT", "..", "%", "&", "<mark>", "</mark>",
                          "<script>", "\x00", "\u202e", "\u200b", "\ufeff", "\ud800", "\udcff", "工会", "职代会",
                          "職工之家", "ｔｉｔｌｅ：", "😀", "\n", "\t", " "])
QUERIES = st.lists(st.one_of(SYNTAX, st.text(max_size=8)), max_size=30).map("".join)
FULL_UNICODE = st.text(st.characters(codec=None, categories=None), max_size=80)
MARKUP = re.compile(r"</?mark>")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.one_of(QUERIES, FULL_UNICODE))
def test_parser_never_raises(store, text):
    pq = parse_query(text, store.analyzer, max_chars=500)
    assert len(pq.text) <= 500
    for unit in [u for c in pq.must for u in c.alternatives] + pq.exclude + pq.title:
        assert unit.terms and all(isinstance(t, str) and t for t in unit.terms)


@SETTINGS
@given(st.one_of(QUERIES, FULL_UNICODE), st.integers(1, 5), st.integers(1, 30), st.sampled_from(["relevance", "date"]),
       st.booleans())
def test_search_never_raises(store, text, page, per_page, sort, group):
    result = search(store, text, SearchOptions(page=page, per_page=per_page, sort=sort, group=group))
    assert len(result.hits) <= min(per_page, result.total if group else result.total_sections)
    assert result.total <= result.total_sections
    if page == 1:  # the first page shows something exactly when something was found
        assert bool(result.hits) == bool(result.total), (result.total, len(result.hits))
    for hit in result.hits:
        assert "<" not in MARKUP.sub("", hit.snippet)
        hit.snippet.encode("utf-8")  # no lone surrogate reaches a response


@SETTINGS
@given(st.one_of(QUERIES, FULL_UNICODE), st.dictionaries(
    st.sampled_from(["page", "per_page", "sort", "group", "year", "site", "org_type", "q2", "callback", "format",
                     "__proto__", "page[]"]),
    st.one_of(st.text(max_size=12), st.integers(-10**12, 10**12).map(str)), max_size=4))
def test_web_faces_never_500(client, text, params):
    query = "&".join(f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in params.items())
    q = quote(text, safe="", errors="surrogatepass")  # lone surrogates become invalid UTF-8 in the URL
    for path in (f"/api/search?q={q}&{query}", f"/search?q={q}&{query}", f"/embed?q={q}&{query}"):
        response = client.get(path)
        assert response.status_code in (200, 400), (path, response.status_code)
        body = response.get_data(as_text=True)
        assert "Traceback" not in body and 'File "' not in body
        if path.startswith("/api/"):
            data = response.get_json()
            assert data["ok"] is (response.status_code == 200)
            if not data["ok"]:
                assert data["status"] == 400 and "\n" not in data["error"] and len(data["error"]) < 200


@pytest.mark.parametrize("raw", ["%ff%fe", "%ed%a0%80", "%c0%af..%c0%af", "%00", "%", "%%", "%e5%b7", "%uD800"])
def test_invalid_percent_encoding(client, raw):
    for path in (f"/api/search?q={raw}", f"/search?q={raw}", f"/doc/{raw}", f"/api/documents/{raw}", f"/embed?q={raw}"):
        response = client.get(path)
        assert response.status_code in (200, 400, 404), (path, response.status_code)


def test_query_length_and_paging_are_capped(client, app):
    cfg = app.config["UNIONSEARCH"].search
    body = client.get("/api/search?q=" + "工会" * 5000).get_json()
    assert body["ok"] and len(body["query"]) == cfg.max_query_chars
    assert client.get(f"/api/search?q=工会&per_page={cfg.max_per_page + 1}").status_code == 400
    assert client.get("/api/search?q=工会&page=100000").status_code == 400
    html = client.get(f"/search?q=工会&per_page={10**9}&page={10**9}")
    assert html.status_code == 200
    assert client.get("/search?q=" + "工" * 100_000).status_code in (200, 414)


HOSTILE = {
    "many_words": " ".join(["工会", "职工", "建设", "活动", "组织", "开展", "工作", "困难", "慰问", "女工"] * 20),
    "many_or": " OR ".join(["工会", "职工"] * 80),
    "many_excluded": " ".join(f"-词{i}" for i in range(150)),
    "many_titles": " ".join(["title:工会"] * 60),
    "quotes": '"' * 500,
    "long_phrase": '"' + "工会职工建设活动组织开展工作困难慰问" * 30 + '"',
    "distinct_characters": "".join(chr(0x4E00 + i * 37) for i in range(500)),
    "many_sites": " ".join(f"site:a{i}.cn" for i in range(60)),
    "digits": " ".join(str(i) for i in range(300)),
    "year_range": "工会 year:0000..9999",
}


HOSTILE["repeated_word"] = "工会" * 250  # one word 250 times: took 100 s before MAX_TERMS and de-duplication
HOSTILE["pasted_sentence"] = "今年以来工会紧紧围绕中心工作认真履行维护职能扎实开展职工之家建设取得了新的进展" * 8


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_queries_finish(store, name):
    """Each finishes (the repeated word took 100 s before MAX_TERMS; the deadline is generous for a loaded CI
    machine: speed is measured in bench/, this only stops a pathological query) with a consistent page."""
    started = time.perf_counter()
    result = search(store, HOSTILE[name], SearchOptions(per_page=100), max_query_chars=500)
    assert len(result.hits) <= min(100, result.total_sections) and bool(result.hits) == bool(result.total), name
    assert time.perf_counter() - started < 30, name


def test_query_words_are_capped_and_deduplicated(store):
    pq = parse_query("工会 " * 100 + "职工", store.analyzer)
    assert [u.terms for c in pq.must for u in c.alternatives] == [("工会",), ("职工",)]
    pq = parse_query(" ".join(f"词{i}" for i in range(100)), store.analyzer)
    assert sum(len(u.terms) for c in pq.must for u in c.alternatives) <= MAX_TERMS
    unit = parse_query("工会" * 250, store.analyzer).must[0].alternatives[0]
    assert unit.terms == ("工会",) and len(unit.raw) <= MAX_UNIT_CHARS
    phrase = parse_query('"工会工会工会"', store.analyzer).must[0].alternatives[0]
    assert phrase.phrase and phrase.terms == ("工会", "工会", "工会")  # a phrase keeps its repeats
