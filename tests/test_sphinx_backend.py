"""The same contract on both backends: the sample corpus indexed into Whoosh and into a three-node sphinx
cluster (two shards, one mirror) gives the same matches, totals, facets, records and JSON.

The cluster is started on free 127.0.0.1 ports for the session and stopped at the end; without `searchd`
(apt-get install sphinxsearch) the sphinx cases are skipped."""

from __future__ import annotations

import json

import pytest

from indexer.backends.sphinx import cluster
from indexer.backends.sphinx.render import to_match
from indexer.backends.sphinx.rows import escape_match, sphinx_word
from indexer.query import parse_query
from indexer.search import SearchOptions, result_to_json, search

from helpers import ODD_QUERIES, index_sphinx, new_sphinx_store, start_cluster


@pytest.fixture(scope="session")
def sphinx_cluster(tmp_path_factory):
    var = tmp_path_factory.mktemp("cluster")
    spec = start_cluster(var)
    yield spec
    cluster.stop(var)


@pytest.fixture(scope="session")
def sphinx_store(sphinx_cluster, corpus_config, tmp_path_factory):
    store = new_sphinx_store(corpus_config, sphinx_cluster, tmp_path_factory.mktemp("sphinx") / "state")
    report = index_sphinx(corpus_config, store, full=True)
    assert report.indexed == report.pages, report.summary()
    return store


@pytest.fixture(params=["whoosh", "sphinx"])
def backend(request):
    return request.getfixturevalue("store" if request.param == "whoosh" else "sphinx_store")


ALL = SearchOptions(per_page=100, collapse=False)
QUERIES = ["职工之家", '"职工之家"', "职代会", "職工之家", "女职工拔河比赛", "劳动竞赛 -煤炭", "工会 OR 协会",
           "title:工会", "year:2020..2023 工会", "春节 困难职工 慰问金", '"会建成温暖"', "site:gov.cn -工会",
           "中华人民共和国", "c++ 3.5", "职工 -职工", "1' OR '1'='1", "<script>alert(1)</script>"]


@pytest.mark.parametrize("text", QUERIES)
def test_same_matches_totals_and_facets(text, store, sphinx_store):
    whoosh, sphinx = search(store, text, ALL), search(sphinx_store, text, ALL)
    assert (sphinx.total, sphinx.facets, sphinx.partial) == (whoosh.total, whoosh.facets, whoosh.partial)
    assert sphinx.total_sections == whoosh.total_sections
    if whoosh.total_sections <= ALL.per_page:  # beyond one page the order (ranking) decides which ids are fetched
        assert {h.record.id for h in sphinx.hits} == {h.record.id for h in whoosh.hits}


@pytest.mark.parametrize("text", ODD_QUERIES)
def test_hostile_queries_match_the_same(text, store, sphinx_store):
    whoosh, sphinx = search(store, text, ALL), search(sphinx_store, text, ALL)
    assert sphinx.total == whoosh.total


def test_search_json_has_the_same_shape(backend, store):
    data = result_to_json(search(backend, "职工之家", SearchOptions(per_page=5)))
    reference = result_to_json(search(store, "职工之家", SearchOptions(per_page=5)))
    assert data.keys() == reference.keys()
    # Folded near-copies can take a whole document away or not, depending on which copy ranks first, so the
    # document totals are compared without folding (test_same_matches_totals_and_facets); the sections here.
    assert data["total_sections"] == reference["total_sections"] and len(data["results"]) == 5
    assert [r.keys() for r in data["results"]] == [r.keys() for r in reference["results"]]
    json.dumps(data, ensure_ascii=False)
    ours = {r["id"]: r["snippet"] for r in data["results"]}
    theirs = {r["id"]: r["snippet"] for r in reference["results"]}
    shared = ours.keys() & theirs.keys()
    assert shared and all(ours[i] == theirs[i] for i in shared)  # snippets come from our own code


def test_top_results_mostly_agree(store, sphinx_store):
    for text in ("职工之家", "农民工入会", "劳模座谈会", "女职工 体检"):
        top_w = [h.record.id for h in search(store, text).hits[:5]]
        top_s = [h.record.id for h in search(sphinx_store, text).hits[:5]]
        assert len(set(top_w) & set(top_s)) >= 3, text


def test_phrase_hits_contain_the_phrase(backend):
    result = search(backend, '"职工之家"', SearchOptions(per_page=50))
    assert result.hits
    assert all("职工之家" in h.record.heading + h.record.text for h in result.hits)


def test_synonyms_find_the_long_form(backend):
    short = {h.record.id for h in search(backend, "职代会", ALL).hits}
    long = {h.record.id for h in search(backend, "职工代表大会", ALL).hits}
    assert short and short <= long


def test_traditional_input_matches_simplified(backend):
    assert search(backend, "職工之家").total == search(backend, "职工之家").total > 0


def test_exclusion(backend):
    result = search(backend, "劳动竞赛 -煤炭", ALL)
    assert result.hits and not any("煤炭" in h.record.text + h.record.heading for h in result.hits)


def test_facet_filter_narrows(backend):
    result = search(backend, "工会", ALL)
    site, count = next(iter(result.facets["site"].items()))
    narrowed = search(backend, "工会", SearchOptions(per_page=100, collapse=False, filters=(("site", site),)))
    assert narrowed.total == count and all(h.record.site == site for h in narrowed.hits)
    year = next(iter(result.facets["year"]))
    by_year = search(backend, "工会", SearchOptions(per_page=100, collapse=False, filters=(("year", year),)))
    assert by_year.total == result.facets["year"][year]


def test_collapse_folds_near_copies(backend):
    collapsed = search(backend, "申报了本年度职工小家", SearchOptions(per_page=10))
    plain = search(backend, "申报了本年度职工小家", SearchOptions(per_page=10, collapse=False))
    assert collapsed.total < plain.total
    assert any(h.similar for h in collapsed.hits)


def test_pagination_is_disjoint_and_ordered(backend):
    first = search(backend, "工会", SearchOptions(per_page=10, page=1))
    second = search(backend, "工会", SearchOptions(per_page=10, page=2))
    both = search(backend, "工会", SearchOptions(per_page=20, page=1))
    ids = [h.record.id for h in first.hits + second.hits]
    assert len(set(ids)) == 20 and ids == [h.record.id for h in both.hits]


def test_sort_by_date(backend):
    result = search(backend, "工会", SearchOptions(per_page=50, sort="date"))
    dates = [h.record.date or "" for h in result.hits]
    assert dates == sorted(dates, reverse=True)


def test_site_and_year_filters(backend, store):
    site = next(iter(search(store, "工会", ALL).facets["site"]))
    parts = site.split(".")
    suffix = ".".join(parts[1:]) if len(parts) > 2 else site  # site: matches a domain and its subdomains
    result = search(backend, f"site:{suffix} 工会", ALL)
    assert result.total and all(h.record.site.endswith(suffix) for h in result.hits)
    years = search(backend, "year:2020..2021 工会", ALL)
    assert years.hits and all(h.record.year in (2020, 2021) for h in years.hits)


def test_records_are_identical(store, sphinx_store):
    hit = search(store, "职工之家").hits[0].record
    assert sphinx_store.section(hit.id) == store.section(hit.id) == hit
    assert sphinx_store.document(hit.doc_id) == store.document(hit.doc_id)
    assert sphinx_store.section("nope#0.0") is None and sphinx_store.document("nope-0") == []
    assert sphinx_store.sources() == store.sources()


def test_vocabulary_and_did_you_mean_agree(store, sphinx_store):
    assert dict(sphinx_store.vocabulary("text")) == dict(store.vocabulary("text"))
    assert search(sphinx_store, "职工之佳").suggestion == search(store, "职工之佳").suggestion


def test_stats(store, sphinx_store):
    w, s = store.stats(), sphinx_store.stats()
    assert (s["pages"], s["documents"], s["sections"]) == (w["pages"], w["documents"], w["sections"])
    assert s["backend"] == "sphinx" and len(s["nodes"]) == 3 and all(n["up"] for n in s["nodes"])
    assert not s["stale_replicas"]
    assert sphinx_store.check() == w["sections"]  # what /healthz asks


def test_match_text_is_escaped(sphinx_store):
    assert sphinx_word("职工") == "职工" and sphinx_word("c++").startswith("zq")
    assert sphinx_word("c++") != sphinx_word("c#")
    assert escape_match('a-(b)|"c"@d') == 'a\\-\\(b\\)\\|\\"c\\"\\@d'
    matches = [to_match(parse_query(text, sphinx_store.analyzer)) for text in ODD_QUERIES + [
        'maybe near sentence paragraph', 'MAYBE NEAR/3 SENTENCE', '@text 工会', 'a^2 b$']]
    matches = [m for m in matches if m]  # queries of nothing but syntax send no MATCH() at all
    assert len(matches) >= 10, matches
    for match in matches:  # only our own operators and word characters reach searchd
        assert set(match) <= set('()|-@" ,_~') | {c for c in match if c.isalnum()}, match


# ---- the plan's literal tier: the bigrams of every section's literal key, on both backends ---------------------

@pytest.fixture(scope="session")
def bigram_pair(store, sphinx_store):
    """(Whoosh store, sphinx store) over scraped/: the literal queries below compare the two."""
    return store, sphinx_store


def test_every_section_has_its_bigrams(bigram_pair):
    _, sphinx = bigram_pair
    dist = sphinx.spec.dist_index(sphinx._live())
    rows = sphinx._read(lambda cur: _count(cur, f"SELECT COUNT(*) FROM {dist} WHERE MATCH('@bigrams 职工')"))
    assert rows > 0
    match = to_match(parse_query('"会建成温暖" 职工', sphinx.analyzer))
    assert '@bigrams "会建 建成 成温 温暖"' in match


# Phrases that start or end inside a jieba word, alone and with other words, OR, exclusions and filters; a word
# the index does not know; phrases of whole words (no fallback needed; bigrams used to find more: 工会工作) and one
# found nowhere.
LITERAL_QUERIES = ['"会建成温暖"', '"建成温暖的职工"', '"会建成温暖" 职工', '"会建成温暖" -职工之家',
                   '"会建成温暖" -煤炭', '"会建成温暖" OR "本年度职工小"', '"年度职工小"',
                   '"会建成温暖" year:1990..2030', '会建成温暖', '"职工之家"', '"建成温暖的职工之家"',
                   '"温暖的职工之家建设"', '"成温暖"', '"暖的"', '"工会工作"', '"职工代表"', '"会员代表"',
                   '"工会组织"']


@pytest.mark.parametrize("text", LITERAL_QUERIES)
def test_literal_phrases_match_the_same(bigram_pair, text):
    whoosh_store, sphinx = bigram_pair
    whoosh = search(whoosh_store, text, ALL)
    ours = search(sphinx, text, ALL)
    assert (ours.total, ours.partial) == (whoosh.total, whoosh.partial)
    if whoosh.total <= ALL.per_page:
        assert {h.record.id for h in ours.hits} == {h.record.id for h in whoosh.hits}
    phrases = text.split('"')[1::2]

    def literal(result):  # every hit has one of the quoted phrases as written
        return all(any(p in h.record.heading + h.record.text for p in phrases) for h in result.hits)

    assert literal(ours) == literal(whoosh)


def _count(cur, sql: str) -> int:
    cur.execute(sql)
    return int(cur.fetchall()[0][0])


def _judged_ndcg(backend_store) -> float:
    """nDCG@10 on the judged set (bench/relevance/queries.json), with ../shared/tools/eval_search.py's scoring."""
    import importlib.util

    from helpers import ROOT, SHARED

    spec = importlib.util.spec_from_file_location("eval_search", SHARED / "tools" / "eval_search.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    queries = [q for q in json.loads((ROOT / "bench" / "relevance" / "queries.json").read_text(encoding="utf-8"))
               if q["rel"]]
    total = 0.0
    for q in queries:
        hits = [{"source": h.record.source, "heading": h.record.heading, "text": h.record.text}
                for h in search(backend_store, q["q"], SearchOptions(per_page=10, snippets=False)).hits]
        gains, _ = ev.judge(hits, q["rel"])
        total += ev.dcg(gains) / ev.dcg(sorted((j["g"] for j in q["rel"]), reverse=True))
    return total / len(queries)


def test_both_backends_rank_the_judged_set_alike(store, sphinx_store):
    """Both backends render the same plan (indexer/query.py): their relevance on the judged set is within 0.02."""
    whoosh, sphinx = _judged_ndcg(store), _judged_ndcg(sphinx_store)
    assert abs(whoosh - sphinx) <= 0.02, (whoosh, sphinx)
