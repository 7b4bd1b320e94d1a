"""The Whoosh backend's numpy evaluator (indexer/whoosh_arrays.py) against Whoosh's own search, on an index of
scraped/ with several segments and deleted sections: the same hits, scores, totals and facet counts."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from whoosh import query as wq

from indexer.backends import open_store
from indexer.backends.whoosh import arrays as whoosh_arrays
from indexer.backends.whoosh import render, schema
from indexer.backends.whoosh.store import WhooshStore
from indexer.build import index_corpus
from indexer.cache import LRU
from indexer.query import parse_query
from indexer.search import SearchOptions, search

from helpers import SCRAPED, make_config

# The query language's shapes: words, several words, OR, exclusion, title:, site:, a year range.
SHAPES = ["工会", "职代会", "困难职工 慰问", "女职工 OR 女工", "劳动竞赛 -煤炭", "title:总结 职工",
          "site:ruiwen.com 工会", "工会 year:2020..2024", "职工之家建设", "厂务公开 民主管理", "送温暖 活动 春节",
          "不存在的词汇组合"]


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """scraped/ indexed by two workers (two segments), then one page changed (its old sections deleted from a
    segment, its new ones in another)."""
    tmp = tmp_path_factory.mktemp("arrays")
    src = tmp / "src"
    shutil.copytree(SCRAPED, src)
    config = make_config(tmp, src)
    store = open_store(config)
    index_corpus(config, store, workers=2, progress=False)
    page = src / "dev03.html"
    page.write_bytes(page.read_bytes().replace("工会".encode(), "协会".encode(), 3))
    report = index_corpus(config, store, workers=1, progress=False)
    assert report.mode == "incremental" and report.changed == 1
    with store.searcher() as s:
        leaves = s.reader().leaf_readers()
        assert len(leaves) >= 3 and any(r.has_deletions() for r, _ in leaves)
    return store


def _vocabulary_queries(store, n: int = 60) -> list[str]:
    words = sorted(w for w, df in store.vocabulary("text") if len(w) >= 2 and not w.isascii() and df >= 2)
    step = max(1, len(words) // n)
    picked = words[::step][:n]
    return picked + [f"{a} {b}" for a, b in zip(picked[::3], picked[1::3], strict=False)]


def _whoosh_only(monkeypatch):
    monkeypatch.setattr(WhooshStore, "_search_arrays", staticmethod(lambda *a: None))


def _same_ranking(a, b) -> bool:
    """Same hits in the same order, scores equal to float precision (hits with equal scores may swap)."""
    if len(a) != len(b):
        return False
    def close(x, y):
        return math.isclose(x, y, rel_tol=1e-5)

    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if not close(x[1], y[1]):
            return False
        tied = (i and close(a[i - 1][1], x[1])) or (i + 1 < len(a) and close(a[i + 1][1], x[1]))
        if x[0] != y[0] and not tied:
            return False
    return True


def test_same_hits_scores_totals_and_facets_as_whoosh(segmented, monkeypatch):
    queries = SHAPES + _vocabulary_queries(segmented)
    arrays = {q: segmented.search(parse_query(q, segmented.analyzer), 150) for q in queries}
    _whoosh_only(monkeypatch)
    differ = []
    for q in queries:
        mine, theirs = arrays[q], segmented.search(parse_query(q, segmented.analyzer), 150)
        assert not theirs.estimated  # the corpus is small enough for Whoosh to count exactly
        if (mine.total, mine.facets) != (theirs.total, theirs.facets) or not _same_ranking(
                [(h.id, h.score) for h in mine.hits], [(h.id, h.score) for h in theirs.hits]):
            differ.append(q)
    assert not differ, differ
    assert sum(arrays[q].total for q in queries) > 1000  # the comparison covered real matches


def test_any_word_relaxation_matches_the_same_sections(segmented, monkeypatch):
    """With any word allowed, the matches and the total are Whoosh's; the scores differ on purpose (the
    coordination bonus counts the query's terms, not the terms each segment happens to have)."""
    queries = ["困难职工 慰问 煤炭", "职工之家 拔河", "女职工 劳动竞赛 职代会"]
    mine = {q: segmented.search(parse_query(q, segmented.analyzer), 1000, any_match=True) for q in queries}
    _whoosh_only(monkeypatch)
    for q in queries:
        theirs = segmented.search(parse_query(q, segmented.analyzer), 1000, any_match=True)
        assert mine[q].total == theirs.total > 0
        assert {h.id for h in mine[q].hits} == {h.id for h in theirs.hits}


def test_coordination_ranks_sections_with_more_of_the_words_higher(segmented):
    result = search(segmented, "困难职工 慰问 煤炭", SearchOptions(snippets=False, per_page=50, collapse=False))
    assert result.partial and result.hits
    text = [h.record.text + h.record.heading for h in result.hits]
    covered = [sum(w in t for w in ("困难职工", "慰问", "煤炭")) for t in text]
    assert covered[0] >= max(covered[len(covered) // 2:])


def test_deleted_sections_are_not_found(segmented):
    with segmented.searcher() as s:
        deleted = {offset + d for r, offset in s.reader().leaf_readers() if r.has_deletions()
                   for d in r.deleted_docs_set}
        assert deleted
        for q in ("工会", "职工", "协会 OR 工会"):
            matches, _ = whoosh_arrays.match(s, render.to_whoosh(parse_query(q, segmented.analyzer)))
            assert len(matches.docnums) and not deleted & set(matches.docnums.tolist())


def test_title_phrases_fall_back_to_whoosh(segmented):
    # A quoted phrase in the text is a literal (evaluated here); one in a title is a Whoosh phrase.
    pq = parse_query('title:"工会 工作"', segmented.analyzer)
    with segmented.searcher() as s, pytest.raises(whoosh_arrays.Unsupported):
        whoosh_arrays.match(s, render.to_whoosh(pq))
    assert segmented.search(pq, 10).total > 0


@pytest.mark.parametrize("text", ['"工会 工作"', '"会建成温暖"', "劳动竞赛", "拔河比赛", "职工之家", "教职工疗休养"])
def test_literal_and_parts_alternatives_score_as_whoosh(segmented, monkeypatch, text):
    """The literal text and a long word's parts near each other: the same matches and scores as Whoosh's own
    matchers (LiteralQuery.matcher, Phrase), with deleted sections left out."""
    pq = parse_query(text, segmented.analyzer)
    with segmented.searcher() as s:
        whoosh_arrays.match(s, render.to_whoosh(pq))  # evaluated here, no Unsupported
    mine = segmented.search(pq, 200)
    _whoosh_only(monkeypatch)
    theirs = segmented.search(pq, 200)
    assert mine.total == theirs.total > 0
    assert _same_ranking([(h.id, h.score) for h in mine.hits], [(h.id, h.score) for h in theirs.hits])


def test_postings_cache_stays_within_its_budget():
    cache = LRU(1000)
    for i in range(50):
        cache.put(i, (np.zeros(10),), 100)
    assert cache.used <= 1000 and cache.get(0) is None and cache.get(49) is not None
    cache.put("huge", (np.zeros(10),), 5000)  # larger than the whole budget: not kept
    assert cache.get("huge") is None


def test_proximity_scores_equal_whooshs_phrase_matcher(segmented):
    """The proximity boost (a Phrase with slop) scored from positions read for the candidates only, against
    Whoosh's own span matcher, on every section holding both words of frequent pairs."""
    words = [w for w, df in segmented.vocabulary("text") if len(w) >= 2 and df >= 20][:24]
    pairs = [(a, b) for a, b in zip(words[::2], words[1::2], strict=False)] + [("工会", "工作"), ("职工", "工会")]
    compared = near = 0
    with segmented.searcher() as s:
        for a, b in pairs:
            for slop in (1, render.PROXIMITY_SLOP):
                q = wq.Phrase("text", [a, b], slop=slop, boost=0.25)
                both = whoosh_arrays.match(s, wq.And([wq.Term("text", a),
                                                                   wq.Term("text", b)]))[0].docnums
                mine = whoosh_arrays._phrase_scores(s, q, both)
                theirs = whoosh_arrays._matcher_scores(s, q, both)
                assert np.allclose(mine, theirs, rtol=1e-6), (a, b, slop)
                compared += len(both)
                near += int((theirs > 0).sum())
    assert compared > 500 and 0 < near < compared


def test_words_near_each_other_in_order():
    near = whoosh_arrays._near_in_order
    assert near([[3], [4]], 1) and near([[3], [11]], 8) and not near([[3], [12]], 8)
    assert not near([[5], [3]], 8) and not near([[3], [3]], 8)  # in order, and not the same position
    assert near([[1, 40], [2, 44], [50]], 8) and not near([[1], [2], [20]], 8)


def test_proximity_of_words_found_in_one_section(segmented):
    """Posting lists of one posting (the words of a single section) and their neighbours: positions read from
    the one block give Whoosh's result."""
    checked = 0
    with segmented.searcher() as s:
        for word in [w for w, df in segmented.vocabulary("text") if df == 1 and len(w) >= 2][:40]:
            docs = whoosh_arrays.match(s, wq.Term("text", word))[0].docnums
            if not len(docs):
                continue
            terms = segmented.analyzer.terms(schema.load_record(s, int(docs[0])).text)
            if word not in terms:
                continue
            i = terms.index(word)
            for other in terms[i + 1: i + 3]:
                q = wq.Phrase("text", [word, other], slop=render.PROXIMITY_SLOP, boost=0.25)
                theirs = whoosh_arrays._matcher_scores(s, q, docs)
                assert np.allclose(whoosh_arrays._phrase_scores(s, q, docs), theirs)
                checked += int((theirs > 0).sum())
    assert checked >= 10


def test_columns_read_whole_equal_whooshs_per_document_readers(segmented):
    """Field lengths, facet labels and numbers, read in one go per segment, are what Whoosh's column readers
    give document by document (including sections without a year, and segments with deletions)."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN
    from whoosh.util.numeric import byte_to_length

    with segmented.searcher() as s:
        for leaf, _ in s.reader().leaf_readers():
            n = leaf.doc_count_all()
            for field in ("text", "heading", "document", "page_title"):
                column = leaf._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
                expected = [byte_to_length(b) or 1.0 for b in column] if column is not None else [1.0] * n
                assert whoosh_arrays._lengths(leaf, field).tolist() == expected
            for field in ("year_key", "site", "org_type", "date"):
                labels, codes = whoosh_arrays.column_codes(leaf, field)
                expected = [v.decode("utf-8") if isinstance(v, bytes) else str(v or "")
                            for v in leaf.column_reader(field)]
                assert [labels[c] for c in codes] == expected
            for field in ("year", "section_index"):
                assert whoosh_arrays.column_numbers(leaf, field).tolist() == list(leaf.column_reader(field))
        years = [whoosh_arrays.column_numbers(leaf, "year") for leaf, _ in s.reader().leaf_readers()]
        assert any((y == whoosh_arrays._NO_NUMBER).any() for y in years)  # some section has no year


def test_vocabulary_summed_by_segment_equals_whooshs_merged_reader(segmented):
    vocabulary = list(segmented.vocabulary("text"))
    assert [t for t, _ in vocabulary] == sorted(t for t, _ in vocabulary)
    with segmented.searcher() as s:
        merged = {t.decode("utf-8"): info.doc_frequency() for t, info in s.reader().iter_field("text")}
    assert dict(vocabulary) == merged and len(merged) > 1000


@pytest.mark.parametrize("chunk", [None, 7, 300])
@pytest.mark.parametrize("fieldname", ["text", "heading", "grams", "source"])
def test_term_frequencies_are_whooshs(segmented, fieldname, chunk, monkeypatch):
    """The vocabulary read straight from the term files: every segment's terms and document frequencies as
    Whoosh's iter_field gives them (inlined and block postings, text and ID fields), whatever the size of the
    chunks the file is read in (smaller than one item, a few items, the default)."""
    if chunk is not None:
        monkeypatch.setattr(whoosh_arrays, "_TERMS_CHUNK", chunk)
    store = segmented
    with store.searcher() as s:
        leaves = s.reader().leaf_readers()
        assert len(leaves) > 1
        for leaf, _ in leaves:
            expected = [(term, info.doc_frequency()) for term, info in leaf.iter_field(fieldname)]
            assert expected and list(whoosh_arrays.term_frequencies(leaf, fieldname)) == expected


def test_a_capped_phrase_check_keeps_the_best_and_says_the_total_is_estimated(segmented, monkeypatch):
    """A long word's parts near each other are checked for the PHRASE_VERIFY best scored sections of a segment
    only (at 100,000 pages two common parts share tens of thousands): the best hits stay, the total can only
    shrink, and it says it is estimated. On scraped/ the default never caps."""
    store = segmented
    import indexer.search as search_module

    def run():
        search_module._RESULTS.clear()
        return search(store, "工会组织建设", SearchOptions(per_page=100, snippets=False))

    full = run()
    assert not full.total_estimated
    monkeypatch.setattr(whoosh_arrays, "PHRASE_VERIFY", 1)
    capped = run()
    assert capped.total_estimated and capped.total_sections < full.total_sections
    assert capped.hits[0].record.id == full.hits[0].record.id
    assert {h.record.id for h in capped.hits} < {h.record.id for h in full.hits}


def test_a_words_alternatives_are_evaluated_once_per_segment(segmented, monkeypatch):
    """The all-word search, the check for words to back off and the any-word supplement evaluate the same
    typed words in turn: each word's alternatives are evaluated once per segment, and the answer is the one
    evaluating them every time gives."""
    import indexer.search as search_module

    store = segmented
    queries = ["拔河比赛 量子计算机", "职工之家 困难职工", "工会组织建设"]

    def answers():
        out = []
        for text in queries:
            search_module._RESULTS.clear()
            r = search(store, text, SearchOptions(per_page=20, snippets=False))
            out.append((r.total, r.total_sections, r.notice, [(h.record.id, round(h.score, 9)) for h in r.hits]))
        return out

    monkeypatch.setattr(whoosh_arrays, "_EVALUATED", LRU(0))  # keeps nothing
    expected = answers()
    monkeypatch.setattr(whoosh_arrays, "_EVALUATED", LRU(32 * 1024 * 1024))
    evaluated = []
    original = whoosh_arrays._Leaf._evaluate

    def counting(self, q, known):
        if isinstance(q, wq.DisjunctionMax) and known is None:
            evaluated.append((whoosh_arrays._segment_key(self.reader), q))
        return original(self, q, known)

    monkeypatch.setattr(whoosh_arrays._Leaf, "_evaluate", counting)
    assert answers() == expected
    assert evaluated and len(evaluated) == len(set(evaluated))
    assert answers() == expected and len(evaluated) == len(set(evaluated))  # the second time, nothing again


def _counts_by_definition(searcher, docnums, fields):
    """count_matches by its definition: distinct documents, and distinct (document, value) pairs per value."""
    documents, tallies = 0, {name: {} for name in fields}
    for sub, offset, lo, hi in whoosh_arrays._segments(searcher, docnums):
        local = docnums[lo:hi] - offset
        docs = whoosh_arrays.column_documents(sub.reader())[local]
        documents += len(set(docs.tolist()))
        for name, fieldname in fields.items():
            labels, codes = whoosh_arrays.column_codes(sub.reader(), fieldname)
            for _doc, code in set(zip(docs.tolist(), codes[local].tolist(), strict=True)):
                if labels[code]:
                    tallies[name][labels[code]] = tallies[name].get(labels[code], 0) + 1
    return documents, tallies


@pytest.mark.parametrize("varying", [False, True])
def test_match_counts_are_distinct_documents_per_value(segmented, varying, monkeypatch):
    """Documents and documents per facet value, counted from runs of the (ordered) document numbers, equal
    the distinct pairs; also when a value varies inside a document (then pairs are hashed)."""
    from indexer.backends.whoosh.store import FACET_FIELDS

    if varying:  # a made-up column whose value changes from section to section
        real = whoosh_arrays.column_codes

        def alternating(leaf, fieldname):
            labels, codes = real(leaf, fieldname)
            return labels, ((codes + np.arange(len(codes))) % len(labels)).astype(codes.dtype)

        monkeypatch.setattr(whoosh_arrays, "column_codes", alternating)
    with segmented.searcher() as s:
        for text in ("工会", "职工", "女职工"):
            q = render.to_whoosh(parse_query(text, segmented.analyzer), False, lambda t: 0.01)
            docnums = whoosh_arrays.match(s, q)[0].docnums
            assert len(docnums) > 10, text
            documents, tallies = whoosh_arrays.count_matches(s, docnums, FACET_FIELDS)
            expected_documents, expected = _counts_by_definition(s, docnums, FACET_FIELDS)
            assert documents == expected_documents
            assert tallies == {name: dict(sorted(t.items(), key=lambda kv: -kv[1])) for name, t in expected.items()}
