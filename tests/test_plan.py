"""The query planner (indexer/query.py): each typed word carries its words, literal text, covering parts and
loose back-off words; the any-word supplement makes common words optional."""

from __future__ import annotations

import pytest

from indexer.analysis import literal_key, make_analyzer
from indexer.query import COMMON_SHARE, parse_query


@pytest.fixture(scope="module")
def analyzer(corpus_config):
    return make_analyzer(corpus_config)


def units(pq):
    return [u for c in pq.must for u in c.alternatives]


def test_a_dictionary_compound_has_its_parts_and_literal(analyzer):
    (unit,) = units(parse_query("拔河比赛", analyzer))
    assert unit.terms == ("拔河比赛",)
    assert unit.parts == (("拔河", "比赛"),)
    assert unit.literal == "拔河比赛"
    assert set(unit.loose) == {"拔河", "比赛"}


def test_a_quoted_phrase_is_matched_by_its_literal_text_only(analyzer):
    (unit,) = units(parse_query('"会建成温暖"', analyzer))
    assert unit.exact and unit.phrase
    assert unit.literal == "会建成温暖"
    assert unit.parts == ((),) * len(unit.terms) and unit.loose == ()


def test_punctuation_and_spaces_inside_a_word_are_ignored_by_its_literal():
    assert literal_key("“安康杯” 竞赛") == literal_key("安康杯竞赛") == "安康杯竞赛"
    assert literal_key("職工之家") == "职工之家"  # traditional → simplified, like the index


def test_a_traditional_query_plans_like_the_simplified_one(analyzer):
    trad, simp = units(parse_query("職工之家", analyzer))[0], units(parse_query("职工之家", analyzer))[0]
    assert (trad.terms, trad.literal, trad.parts, trad.loose) == (simp.terms, simp.literal, simp.parts, simp.loose)


@pytest.mark.parametrize("word", ["保洁员", "快递员"])
def test_a_word_longer_than_the_pages_use_backs_off_to_its_head(analyzer, word):
    (unit,) = units(parse_query(word, analyzer))
    assert unit.loose == (word[:-1],)


def test_an_unknown_word_backs_off_and_the_page_says_so(store):
    from indexer.search import search

    result = search(store, "保洁员")  # scraped/ writes 保洁 (城市保洁, 保洁精神), never 保洁员
    assert result.hits and result.partial
    assert "保洁" in result.notice
    assert all("保洁" in h.record.document + h.record.heading + h.record.text for h in result.hits)
    assert any("<mark>保洁</mark>" in h.snippet for h in result.hits)


def test_the_supplement_makes_common_words_optional(analyzer):
    pq = parse_query("离退休 活动", analyzer)
    share = {"活动": 0.5, "离退休": 0.01}.get
    relaxed = pq.relaxed(lambda t: share(t, 0.0))
    assert [u.raw for c in relaxed.any_of for u in c.alternatives] == ["离退休"]
    assert [u.raw for c in relaxed.optional for u in c.alternatives] == ["活动"]
    # Only common words: none is made optional (something must match).
    everything = pq.relaxed(lambda t: 1.0)
    assert len(everything.any_of) == 2 and not everything.optional
    assert COMMON_SHARE < 1.0


def test_loose_words_that_are_common_are_dropped(analyzer):
    pq = parse_query("工会干部培训", analyzer)
    relaxed = pq.relaxed(lambda t: 0.9 if t == "工会干部" else 0.01)
    assert relaxed.loose[units(pq)[0].raw] == ("培训",)


def test_highlight_terms_hold_words_parts_and_loose_words_on_request(analyzer):
    pq = parse_query("拔河比赛 保洁员", analyzer)
    assert {"拔河比赛", "拔河", "比赛", "保洁员"} <= pq.highlight_terms()
    assert "保洁" not in pq.highlight_terms()
    assert "保洁" in pq.highlight_terms(loose=True)
    assert pq.literals() == ["拔河比赛", "保洁员"]
