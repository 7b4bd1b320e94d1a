"""Suggestions as you type (indexer/suggest.py, GET /api/suggest) on the real sample corpus: Chinese prefix, full
pinyin, pinyin initials and traditional input; the table kept in the index generation and updated with it (an
update reads only its pages and gives the table a full build gives); the same table from both backends; odd input;
the documented JSON shape; the search boxes that use it; and /embed showing what the site's results page shows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from openapi_schema_validator import OAS31Validator

import indexer.suggest as suggest
from indexer.backends import open_store
from indexer.backends.sphinx import cluster
from indexer.build import index_corpus
from indexer.query import parse_query
from indexer.search import SearchOptions, search
from indexer.suggest import (
    STATE_FILE,
    SUGGEST_FILE,
    build_suggestions,
    clauses,
    complete,
    estimate,
    pinyin_keys,
    suggester,
)

from helpers import (
    ODD_QUERIES,
    ROOT,
    SCRAPED,
    corpus_of,
    index_sphinx,
    new_sphinx_store,
    start_cluster,
    wait_for,
)

PHRASE = "职工之家"  # in headings of scraped/: 把工会建成温暖的职工之家; (2)抓好职工之家建设
PAGES = ["dev01.html", "dev02.html", "dev05.html"]
ADDED = "dev03.html"
ADDED_TITLE = "红星街道总工会2023年上半年工作总结"


def texts(found) -> list[str]:
    return [s.text for s in found]


def table_of(store) -> dict:
    return json.loads(store.read_file(SUGGEST_FILE))


# ---- matching ----------------------------------------------------------------------------------------------------

def test_one_pass_over_the_store_reads_what_reading_page_by_page_does(store):
    """A full build's suggestions read every page's documents in one pass (Backend.documents); they are the
    documents, sections and headings that reading each document by its id gives."""
    pages = store.sources()
    by_pass = {source: [[(h.document, h.heading, h.duplicate_of) for h in doc] for doc in docs]
               for source, docs in suggest.every_page_documents(store, pages)}
    by_id = {source: [[(r.document, r.heading, r.duplicate_of) for r in doc]
                      for doc in suggest.page_documents(store, source, n)] for source, n in pages.items()}
    assert by_pass == by_id
    assert sum(len(doc) for docs in by_pass.values() for doc in docs) == sum(pages.values())
    assert len({d[0].doc_id for d in store.documents()}) == sum(len(docs) for docs in by_id.values())


def test_the_phrase_is_in_headings_of_the_corpus(store):
    headings = [s.heading for source, n in store.sources().items()
                for doc in suggest.page_documents(store, source, n) for s in doc]
    assert [h for h in headings if PHRASE in h], "pick a phrase that the corpus's headings hold"


@pytest.mark.parametrize("typed, match", [("zgzj", "initials"), ("zhigongzhijia", "pinyin"),
                                          ("zhigongzhi", "pinyin"), ("zhi gong zhi jia", "pinyin"),
                                          ("ZGZJ", "initials"), ("职工之", "prefix"), ("職工之家", "prefix"),
                                          ("职工zhij", "pinyin")])
def test_pinyin_initials_prefix_and_traditional_input_find_the_phrase(store, typed, match):
    found = complete(store, typed)
    assert found and found[0].text == PHRASE and found[0].match == match, [(s.text, s.match) for s in found]


def test_prefix_matches_start_with_the_input_best_first(store):
    found = complete(store, "职工", limit=20)
    assert len(found) == 20 and found[0].text == "职工"
    assert all(s.text.startswith("职工") and s.match == "prefix" for s in found)
    assert [s.weight for s in found] == sorted((s.weight for s in found), reverse=True)
    assert PHRASE in texts(found)


def test_initials_match_each_syllable_in_order(store):
    found = complete(store, "gh", limit=10)
    assert found and all(pinyin_keys(re.sub(r"\W", "", s.text))[1].startswith("gh") for s in found)
    assert "工会" in texts(found)


def test_limit_and_nothing_found(store):
    assert len(complete(store, "g", limit=3)) == 3
    assert len(complete(store, "g", limit=500)) == suggest.MAX_LIMIT
    assert complete(store, "zzqxvw") == [] and complete(store, "  ") == [] and complete(store, "。，") == []


@pytest.mark.parametrize("text", [*ODD_QUERIES, "\u200b", "a" * 10_000, "职工" * 5000, "\ud800", "%", "zgzj" * 50])
def test_odd_input_never_raises(store, text):
    found = complete(store, text)
    assert isinstance(found, list) and len(found) <= suggest.DEFAULT_LIMIT


def test_pinyin_keys_follow_the_words():
    assert pinyin_keys("职工之家") == ("zhigongzhijia", "zgzj")
    assert pinyin_keys("工会会计")[0] == "gonghuikuaiji"  # 会 read by its word: hui in 工会, kuai in 会计
    assert pinyin_keys("女职工") == ("nvzhigong", "nzg")  # ü typed as v


def test_clauses_drop_numbering_and_template_blanks():
    assert clauses("二、急职工所急,想职工所想,把工会建成温暖的职工之家。") == [
        "急职工所急", "想职工所想", "把工会建成温暖的职工之家"]
    assert clauses("(2)抓好职工之家建设,增强基层工会活力") == ["抓好职工之家建设", "增强基层工会活力"]
    assert clauses("201*年工会工作总结") == ["工会工作总结"]
    assert clauses("20xx年工作要点") == ["工作要点"]
    assert clauses("机关工会年度工作总结篇十二") == ["机关工会年度工作总结"]
    assert clauses("第一章 总则") == ["总则"] and clauses("1.") == [] and clauses("") == []


# ---- the table and its weights -----------------------------------------------------------------------------------

def test_the_index_keeps_the_table_in_its_generation(store):
    gen = store.current_generation()
    assert (gen / SUGGEST_FILE).is_file() and (gen / STATE_FILE).is_file()
    data = table_of(store)
    entries = data["entries"]
    assert data["format"] == suggest.FORMAT and data["sections"] == store.check() and len(entries) > 500
    weights = [e[1] for e in entries]
    assert weights == sorted(weights, reverse=True)
    assert {e[2] for e in entries} == set(suggest.KINDS)  # titles, headings and phrases all contribute
    for text, _, _, full, initials in entries[:200]:
        assert (full, initials) == pinyin_keys(re.sub(r"[^\w]", "", text).lower()), text
    assert len({e[0] for e in entries}) == len(entries)


def test_weights_estimate_the_sections_a_search_finds(store):
    """A one-word suggestion's weight is the number of sections whose text has the word: no more than the sections
    a search for it finds (which also looks in titles and headings); a phrase weighs no more than its rarest word."""
    by_text = {e[0]: e[1] for e in table_of(store)["entries"]}
    df = dict(store.vocabulary("text"))
    for word in ("职工", "工会", PHRASE, "困难职工"):
        found = store.search(parse_query(word, store.analyzer), 10, facets=False).total
        assert by_text[word] == df[word] <= found, (word, by_text[word], found)
    words = store.analyzer.terms("工会组织建设")
    assert len(words) > 1 and by_text["工会组织建设"] <= min(df[w] for w in words)
    assert estimate("职工 之家", 3, {"职工": 100, "之家": 10}, 400) == 5  # 10 × √(100/400)
    assert estimate("罕见", 3, {}, 400) == 3  # at least the documents whose headings hold it


def test_the_table_is_read_once_per_generation(store):
    first = suggester(store)
    assert suggester(store) is first and len(first) == len(table_of(store)["entries"])


# ---- kept with the index: updates, a missing file, both backends ------------------------------------------------

@pytest.fixture
def corpus(tmp_path):
    config, src = corpus_of(tmp_path, PAGES)
    return config, open_store(config), src


@pytest.fixture
def pages_read(monkeypatch):
    """The pages whose documents the suggestion builder reads."""
    read: list[str] = []
    original, every = suggest.page_documents, suggest.every_page_documents

    def recording(store, source, sections):
        read.append(source)
        return original(store, source, sections)

    def recording_every(store, pages):
        for source, documents in every(store, pages):
            read.append(source)
            yield source, documents

    monkeypatch.setattr(suggest, "page_documents", recording)
    monkeypatch.setattr(suggest, "every_page_documents", recording_every)
    return read


def run(config, store, **kw):
    return index_corpus(config, store, workers=1, progress=False, **kw)


def test_an_update_reads_only_its_pages_and_gives_the_full_table(corpus, pages_read):
    config, store, src = corpus
    run(config, store)
    assert sorted(pages_read) == PAGES
    assert complete(store, "红星街道") == []
    shutil.copy(SCRAPED / ADDED, src)
    pages_read.clear()
    assert run(config, store).mode == "incremental"
    assert pages_read == [ADDED]  # the other pages' phrases come from SUGGEST-STATE.json
    assert texts(complete(store, "hongxing")) == [ADDED_TITLE]  # the new page's title, served at once
    assert table_of(store)["entries"] == build_suggestions(store)["entries"]  # as a full build would make it
    (src / ADDED).unlink()
    pages_read.clear()
    run(config, store)
    assert pages_read == [] and complete(store, "红星街道") == []
    assert table_of(store)["entries"] == build_suggestions(store)["entries"]


def test_a_state_from_another_run_is_not_trusted(corpus, pages_read):
    config, store, src = corpus
    run(config, store)
    state = json.loads(store.read_file(STATE_FILE))
    store.write_files({STATE_FILE: json.dumps({**state, "stamp": "another run"})})
    shutil.copy(SCRAPED / ADDED, src)
    pages_read.clear()
    run(config, store)
    assert sorted(pages_read) == sorted([*PAGES, ADDED])  # read everything again


def test_an_index_without_the_table_gets_it(corpus):
    """An index made before suggestions existed: the server's warm-up makes the table from the store, and the
    next `unionsearch index` (even with nothing to do) writes it."""
    config, store, _ = corpus
    run(config, store)
    made = table_of(store)["entries"]
    (store.current_generation() / SUGGEST_FILE).unlink()
    table = suggester(store, wait=True)
    assert texts(table.complete("gh")) == [e[0] for e in made if e[4].startswith("gh")][:suggest.DEFAULT_LIMIT]
    assert run(config, store).mode == "unchanged"
    assert table_of(store)["entries"] == made


def test_a_request_never_waits_for_a_missing_table(corpus):
    """Without SUGGEST.json a request gets the previous table (or none) at once. A new generation is left to the
    index run that is writing its table; an older one gets its table made in a background thread."""
    config, store, _ = corpus
    run(config, store)
    before = texts(complete(store, "gh"))
    gen = store.current_generation()
    (gen / SUGGEST_FILE).unlink()
    assert texts(complete(store, "gh")) == before  # the previous table, while the index run writes the new one
    assert not suggest._making
    old = time.time() - 2 * suggest.GRACE_SECONDS
    os.utime(gen / "META.json", (old, old))
    suggest._tables.clear()
    assert complete(store, "gh") == []  # nothing yet: it is being made
    wait_for(lambda: texts(complete(store, "gh")) == before, what="the table made in the background")


def test_a_rebuild_swaps_the_table_with_the_index(corpus):
    config, store, src = corpus
    run(config, store)
    old_gen, old_table = store.current_generation(), suggester(store)
    shutil.copy(SCRAPED / ADDED, src)
    run(config, store, full=True)
    assert store.current_generation() != old_gen and (store.current_generation() / SUGGEST_FILE).is_file()
    assert suggester(store) is not old_table and texts(complete(store, "hxjd")) == [ADDED_TITLE]


@pytest.fixture(scope="module")
def sphinx_cluster(tmp_path_factory):
    var = tmp_path_factory.mktemp("suggest-cluster")
    spec = start_cluster(var, nodes=1, shards=2)
    yield spec
    cluster.stop(var)


def test_both_backends_make_the_same_table(corpus, sphinx_cluster, tmp_path):
    config, store, _ = corpus
    run(config, store)
    sphinx = new_sphinx_store(config, sphinx_cluster, tmp_path / "sphinx-state")
    index_sphinx(config, sphinx, full=True)
    try:
        assert (sphinx.current_generation() / SUGGEST_FILE).is_file()
        assert table_of(sphinx)["entries"] == table_of(store)["entries"]
        assert texts(complete(sphinx, "zgzj")) == texts(complete(store, "zgzj")) == [PHRASE]
    finally:
        sphinx.close()


# ---- GET /api/suggest --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def check(spec: dict, status: int, body: dict) -> None:
    ref = spec["paths"]["/api/suggest"]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]
    OAS31Validator({**ref, "components": spec["components"]}).validate(body)


def test_api_answers_in_the_documented_shape(client, spec):
    response = client.get("/api/suggest?q=zgzj")
    assert response.status_code == 200 and response.headers["Cache-Control"].startswith("public")
    body = response.get_json()
    check(spec, 200, body)
    assert body["query"] == "zgzj" and body["suggestions"][0] == {
        "text": PHRASE, "weight": body["suggestions"][0]["weight"], "kind": "phrase", "match": "initials"}
    assert len(client.get("/api/suggest?q=g&limit=3").get_json()["suggestions"]) == 3
    params = {p["name"]: p for p in spec["paths"]["/api/suggest"]["get"]["parameters"]}
    assert params["q"]["required"] and params["limit"]["schema"]["maximum"] == suggest.MAX_LIMIT


@pytest.mark.parametrize("query, message", [("", "missing query parameter q"), ("?q=", "missing query parameter q"),
                                            ("?q=%20", "missing query parameter q"),
                                            ("?q=gh&limit=0", "limit must be between 1 and 20, got 0"),
                                            ("?q=gh&limit=21", "limit must be between 1 and 20, got 21"),
                                            ("?q=gh&limit=x", "limit must be an integer, got 'x'")])
def test_api_errors_in_the_api_shape(client, spec, query, message):
    response = client.get("/api/suggest" + query)
    assert response.status_code == 400
    body = response.get_json()
    check(spec, 400, body)
    assert body == {"ok": False, "status": 400, "error": message, "errors": [message]}


@pytest.mark.parametrize("text", ODD_QUERIES + ["\x00", "职" * 5000])
def test_api_takes_odd_input(client, spec, text):
    response = client.get("/api/suggest", query_string={"q": text})
    assert response.status_code in (200, 400), text
    check(spec, response.status_code, response.get_json())
    if response.status_code == 200:
        assert len(response.get_json()["query"]) <= suggest.MAX_QUERY_CHARS


def test_api_escapes_nothing_it_need_not_and_the_pages_escape_it(client):
    """Suggestions are JSON text; the scripts put them in the page with textContent only."""
    body = client.get("/api/suggest", query_string={"q": "<script>"}).get_json()
    assert body["query"] == "<script>" and body["suggestions"] == []


# ---- the search boxes and /embed -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/search?q=工会", "/embed", "/embed?q=工会"])
def test_every_search_box_asks_for_suggestions(client, path):
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'<input id="q"[^>]* data-suggest="/api/suggest"', html), path
    assert '<script src="/static/app.js"></script>' in html


def summary(html: str) -> tuple[str, str | None, str | None]:
    """(total, notice, did-you-mean) as a results page shows them."""
    total = re.search(r'<strong class="total">(\d+)</strong>', html)
    notice = re.search(r'<p class="notice">([^<]*)</p>', html)
    fix = re.search(r'<p class="notice suggestion">您是不是要找：<a href="[^"]*">([^<]*)</a>', html)
    assert total, html[:500]
    return total.group(1), notice and notice.group(1), fix and fix.group(1)


@pytest.mark.parametrize("query", ["农民工入会", "丰富多采", "职工之佳", PHRASE, "工会"])
def test_embed_shows_the_count_notice_and_did_you_mean_of_the_site(client, store, query):
    site = summary(client.get("/search", query_string={"q": query}).get_data(as_text=True))
    embed = summary(client.get("/embed", query_string={"q": query}).get_data(as_text=True))
    assert embed == site
    expected = search(store, query, SearchOptions(group=True))
    assert site[0] == str(expected.total)
    if query == "丰富多采":
        assert site[2] == "丰富多彩" and site[1]  # did-you-mean and the partial-match notice


def test_embed_did_you_mean_keeps_the_page_size(client):
    html = client.get("/embed", query_string={"q": "丰富多采", "per_page": 3}).get_data(as_text=True)
    assert re.search(r'您是不是要找：<a href="/embed\?q=%E4%B8%B0[^"]*per_page=3"', html), html


def test_the_benchmark_runs_on_a_tiny_corpus(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from make_corpus import make_corpus

    make_corpus(12, tmp_path / "corpus")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "suggest_speed.py"), "--pages", "12", "--corpus",
                           str(tmp_path / "corpus"), "--work", str(tmp_path / "work"), "--queries", "50", "--no-write"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "## 12 pages" in proc.stdout and "| function: **all** | 50 |" in proc.stdout, proc.stdout
