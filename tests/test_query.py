"""Query syntax: never an exception; odd syntax falls back to plain words."""

from __future__ import annotations

import pytest

from indexer.analysis import make_analyzer
from indexer.query import parse_query

from helpers import ODD_QUERIES


@pytest.fixture(scope="module")
def analyzer(corpus_config):
    return make_analyzer(corpus_config)


@pytest.mark.parametrize("text", ODD_QUERIES)
def test_odd_queries_parse(text, analyzer):
    """Odd syntax parses to plain words: every term is text the analyser made (no syntax character leaks
    into a term), and a year range is either absent or ordered."""
    q = parse_query(text, analyzer)
    words = [t for c in q.must for u in c.alternatives for t in u.terms] + [t for u in q.title for t in u.terms]
    assert all(t and not set(t) & set('"*?()[]{}\\:') for t in words), words
    assert q.year_from is None or q.year_to is None or q.year_from <= q.year_to
    if any(ch.isalnum() for ch in text) and not any(f in text.lower() for f in ("title", "site", "year", "ｔｉｔｌｅ")):
        assert not q.is_empty or text.strip("-").upper() in ("AND", "OR", "NOT", ""), text


def test_syntax(analyzer):
    q = parse_query('职代会 "送温暖基金" -煤炭 女工 OR 女职工 title:总结 site:zuowendang.com year:2019..2023', analyzer)
    assert [u.raw for c in q.must for u in c.alternatives] == ["职代会", "送温暖基金", "女工", "女职工"]
    assert q.must[1].alternatives[0].exact
    assert len(q.must[2].alternatives) == 2  # the OR group is one clause
    assert [u.raw for u in q.exclude] == ["煤炭"]
    assert [u.raw for u in q.title] == ["总结"]
    assert q.sites == ["zuowendang.com"]
    assert (q.year_from, q.year_to) == (2019, 2023)


def test_quoted_words_form_a_phrase(analyzer):
    unit = parse_query('"召开职工大会"', analyzer).must[0].alternatives[0]
    assert unit.phrase and unit.exact and len(unit.terms) > 1


def test_single_year_and_unknown_field(analyzer):
    q = parse_query("year:2023 foo:职工之家", analyzer)
    assert (q.year_from, q.year_to) == (2023, 2023)
    assert "职工之家" in [t for c in q.must for u in c.alternatives for t in u.terms]


def test_length_is_capped(analyzer):
    assert len(parse_query("工会" * 1000, analyzer, max_chars=500).text) == 500
