"""search(): ranking, phrases, exclusion, synonyms, collapse, snippets and facets on the real corpus."""

from __future__ import annotations

import re

import pytest

from indexer.search import SearchOptions, highlight, search

from helpers import ODD_QUERIES


def sources(result):
    return [h.record.source for h in result.hits]


def test_phrase_finds_sections_of_000_and_002(store):
    result = search(store, '"职工之家"', SearchOptions(per_page=20))
    found = {s[:3] for s in sources(result)}
    assert {"000", "002"} <= found
    for hit in result.hits:
        assert "职工之家" in hit.record.heading + hit.record.text


def test_farmworkers_query_ranks_003_first_on_the_seeds(seeds_store):
    result = search(seeds_store, "农民工入会")
    assert sources(result)[0].startswith("003_")


def test_exclusion_removes_sections(store):
    with_coal = search(store, "劳动竞赛", SearchOptions(per_page=100))
    without = search(store, "劳动竞赛 -煤炭", SearchOptions(per_page=100))
    assert any("煤炭" in h.record.text for h in with_coal.hits)
    assert without.hits and not any("煤炭" in h.record.text + h.record.heading for h in without.hits)


def test_synonyms_find_the_long_form(store):
    short = {h.record.id for h in search(store, "职代会", SearchOptions(per_page=100)).hits}
    long = {h.record.id for h in search(store, "职工代表大会", SearchOptions(per_page=100)).hits}
    assert short <= long  # the long form also matches inside 教职工代表大会 through the bigram field
    texts = [h.record.text for h in search(store, "职代会", SearchOptions(per_page=100)).hits]
    assert any("职工代表大会" in t and "职代会" not in t for t in texts)


def test_traditional_and_full_width_queries_match(store):
    simplified = search(store, "职工之家").total
    assert simplified > 0
    assert search(store, "職工之家").total == simplified
    titles = search(store, "title:工会").total
    assert titles > 0
    # Full-width field syntax is the same field syntax.
    assert search(store, "ｔｉｔｌｅ:工会").total == search(store, "ｔｉｔｌｅ：工会").total == titles


def test_bigram_fallback_matches_a_word_cut_differently(store):
    # "会建成温暖" is not a jieba word sequence of the text, but its characters are contiguous in 000.
    result = search(store, '"会建成温暖"')
    assert result.total >= 1
    assert any("会建成温暖" in h.record.heading + h.record.text for h in result.hits)


def test_near_copies_collapse_into_one_result(store):
    result = search(store, "申报了本年度职工小家", SearchOptions(per_page=10))
    keys = [h.record.text for h in result.hits if "申报了本年度职工小家" in h.record.text]
    assert len(keys) == 1  # 000 holds five near-copies of this summary
    assert result.hits[0].similar >= 1


def _pairwise_copy_targets(hits):
    """The near-copy fold by its definition: each hit compared, with sets of grams, with every kept hit above
    it; the first it copies (Jaccard or containment) takes it."""
    from indexer.search import CONTAINED, NEAR_DUPLICATE

    sketches = [h.sketch() for h in hits]
    kept, targets, target_of = [], [], {}
    for i, hit in enumerate(hits):
        target = target_of.get(hit.duplicate_of) if hit.duplicate_of else None
        mine = sketches[i]
        if target is None and len(mine.zeros_array):
            for k in kept:
                other = sketches[k]
                inter = len(mine.grams & other.grams)
                a, b = ((len(mine.zeros_array), len(other.zeros_array)) if mine.sampled or other.sampled
                        else (len(mine.grams), len(other.grams)))
                if inter / (a + b - inter or 1) >= NEAR_DUPLICATE or inter / (min(a, b) or 1) >= CONTAINED:
                    target = k
                    break
        if target is None:
            kept.append(i)
            target = i
        targets.append(target)
        target_of[hit.id] = target
    return targets


def test_the_copy_fold_is_the_pairwise_definition(store):
    """copy_targets compares every two hits at once (a matrix product of their grams): on the corpus's
    broad queries it folds exactly as comparing them pair by pair does, and it does fold some."""
    from indexer.query import parse_query
    from indexer.search import copy_targets

    folded = 0
    for text in ("工会", "职工", "劳动竞赛", "女职工", "职工之家"):
        hits = store.search(parse_query(text, store.analyzer), 150).hits
        assert len(hits) > 10, text
        targets = copy_targets(hits)
        assert targets == _pairwise_copy_targets(hits), text
        folded += sum(t != i for i, t in enumerate(targets))
    assert folded > 0


def test_pages_do_not_overlap(store):
    first = search(store, "职工", SearchOptions(page=1, per_page=5))
    second = search(store, "职工", SearchOptions(page=2, per_page=5))
    assert first.total == second.total > 10
    assert not {h.record.id for h in first.hits} & {h.record.id for h in second.hits}


def test_partial_matches_are_announced(store):
    result = search(store, "拔河比赛 量子计算机")
    assert result.partial and result.notice and result.hits


def test_facets_count_the_matches(store):
    """Facets count matching documents (tests/test_counts.py: each value's count is what its click shows);
    a document folded away as a near-copy leaves the values its copies share."""
    result = search(store, "工会", SearchOptions(per_page=5))
    every = search(store, "工会", SearchOptions(per_page=5, collapse=False))
    assert result.facets["year"] and result.facets["org_type"]
    assert every.total > result.total and every.facets != result.facets
    for name, counts in every.facets.items():
        assert 0 < sum(counts.values()) <= every.total, name  # a document has at most one value of each facet
        assert all(result.facets.get(value, 0) <= n for value, n in counts.items()), name
    year, count = next(iter(every.facets["year"].items()))
    filtered = search(store, "工会", SearchOptions(per_page=100, collapse=False, group=True, filters=(("year", year),)))
    assert filtered.total == count == len(filtered.hits)
    assert filtered.hits and all(h.record.year == int(year) for h in filtered.hits)


def test_year_range_and_site_filters(store):
    result = search(store, "工会 year:2023..2023", SearchOptions(per_page=100))
    assert result.hits and all(h.record.year == 2023 for h in result.hits)
    site = search(store, "工会 site:zuowendang.com", SearchOptions(per_page=100))
    assert site.hits and all(h.record.site.endswith("zuowendang.com") for h in site.hits)


def test_sort_by_date_puts_newest_first(store):
    result = search(store, "工会", SearchOptions(per_page=20, sort="date"))
    dates = [h.record.date for h in result.hits if h.record.date]
    assert len(dates) > 1 and dates == sorted(dates, reverse=True)


def test_snippets_mark_whole_words_and_escape_the_rest():
    text = "<b>职工</b>之家 & 工会"
    out = highlight(text, [(3, 5)])
    assert out == "&lt;b&gt;<mark>职工</mark>&lt;/b&gt;之家 &amp; 工会"


def test_snippet_window_never_cuts_a_marked_word():
    text = "甲" * 100 + "职工之家" + "乙" * 100
    out = highlight(text, [(100, 104)], width=40)
    assert "<mark>职工之家</mark>" in out


def test_every_snippet_marks_a_query_word(store):
    result = search(store, "困难职工 慰问金", SearchOptions(per_page=10))
    assert result.hits
    for hit in result.hits:
        marked = re.findall(r"<mark>(.*?)</mark>", hit.snippet)
        assert marked, hit.snippet
        assert "<" not in re.sub(r"</?mark>", "", hit.snippet)


@pytest.mark.parametrize("text", ODD_QUERIES)
def test_odd_queries_return_a_result(store, text):
    """No exception, and a consistent first page: hits exactly when something was found, at most a page of them,
    snippets with no markup but our <mark>."""
    result = search(store, text)
    assert len(result.hits) <= min(result.total_sections, SearchOptions().per_page)
    assert bool(result.hits) == bool(result.total)
    for hit in result.hits:
        assert "<" not in re.sub(r"</?mark>", "", hit.snippet), hit.snippet


@pytest.mark.parametrize("typo,fixed", [("职工之佳", "职工之家"), ("厂务工开", "厂务公开")])
def test_did_you_mean_catches_homophones_and_one_character_typos(store, typo, fixed):
    assert search(store, typo).suggestion == fixed


def test_no_suggestion_for_a_good_query(store):
    assert search(store, "职工之家").suggestion is None


def test_grouping_folds_sections_of_one_document(store):
    flat = search(store, "职工之家", SearchOptions(per_page=50))
    grouped = search(store, "职工之家", SearchOptions(per_page=50, group=True))
    docs = [h.record.doc_id for h in grouped.hits]
    assert len(docs) == len(set(docs))
    assert len(grouped.hits) < len(flat.hits)
    assert any(h.also for h in grouped.hits)
    for hit in grouped.hits:
        assert all(a.record.doc_id == hit.record.doc_id for a in hit.also)


def test_snippet_words_are_cut_only_around_the_terms_as_the_whole_text_cuts_them(store):
    """Snippets mark the analysed words of a section that match; word_spans cuts only the stretches around
    where a term is written. On every hit of the judged queries (their words, parts and back-off words) it
    finds exactly the words the cut of the whole section finds."""
    import json

    from indexer.query import parse_query
    from indexer.search import word_spans

    from helpers import ROOT

    compared = marked = 0
    for entry in json.loads((ROOT / "bench/relevance/queries.json").read_text(encoding="utf-8")):
        terms = parse_query(entry["q"], store.analyzer).highlight_terms(True)
        for hit in search(store, entry["q"], SearchOptions(per_page=20, snippets=False)).hits:
            body = hit.record.heading + "\n" + hit.record.text
            whole = {(t.start, t.end) for t in store.analyzer.tokens(body, "index") if t.text in terms}
            assert set(word_spans(body, terms, store.analyzer)) == whole, (entry["q"], hit.record.id)
            compared += 1
            marked += len(whole)
    assert compared > 500 and marked > 1000
