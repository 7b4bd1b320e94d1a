"""The analyser: word positions, stacked sub-words, offsets into the original text, normalisation."""

from __future__ import annotations

import pytest

from indexer.analysis import Analyzer, cover_subwords, grams, literal_key, make_analyzer, normalise
from indexer.config import load_config


@pytest.fixture(scope="module")
def analyzer(corpus_config) -> Analyzer:
    return make_analyzer(corpus_config)


def tuples(tokens):
    return [(t.text, t.pos, t.start, t.end) for t in tokens]


def test_positions_follow_word_order_and_subwords_stack_on_their_word(analyzer):
    toks = tuples(analyzer.tokens("中华人民共和国工会法", "index"))
    words = [t for t in toks if t[0] in ("中华人民共和国", "工会法")]
    assert words == [("中华人民共和国", 0, 0, 7), ("工会法", 1, 7, 10)]
    # Sub-words share the position of their long word, with their own offsets.
    assert ("人民", 0, 2, 4) in toks
    assert ("工会", 1, 7, 9) in toks


def test_query_mode_is_the_coarse_cut(analyzer):
    assert analyzer.terms("中华人民共和国工会法", "query") == ["中华人民共和国", "工会法"]


def test_union_dictionary_keeps_domain_words_whole(analyzer):
    for word in ("职代会", "职工之家", "厂务公开", "送温暖", "工资集体协商", "困难职工", "女职工"):
        assert analyzer.terms(word, "query") == [analyzer.canonical(word)], word


def test_traditional_and_full_width_normalise_but_offsets_stay_on_the_original(analyzer):
    text = "建設溫暖的職工之家ＡＢＣ１２３"
    toks = analyzer.tokens(text, "index")
    by_text = {t.text: t for t in toks}
    home = by_text["职工之家"]
    assert text[home.start:home.end] == "職工之家"
    abc = by_text["abc123"]
    assert text[abc.start:abc.end] == "ＡＢＣ１２３"
    assert normalise("工會") == "工会"


def test_synonyms_map_both_ways_to_one_term(analyzer):
    assert analyzer.terms("职工代表大会", "query") == analyzer.terms("职代会", "query")
    assert analyzer.terms("劳动模范", "query") == analyzer.terms("劳模", "query")


def test_stopwords_and_punctuation_take_no_position(analyzer):
    toks = analyzer.tokens("工会的，职工", "index")
    assert [(t.text, t.pos) for t in toks] == [("工会", 0), ("职工", 1)]


def test_literal_keys_and_their_bigrams():
    assert literal_key("“工会法” A，") == "工会法a"
    assert grams(literal_key("工会工会")) == ["工会", "会工"]  # distinct, in order


def test_cover_subwords_splits_compounds_end_to_end(analyzer):
    assert cover_subwords("拔河比赛") == ["拔河", "比赛"]
    assert cover_subwords("职工") == []


def test_user_dictionary_from_config_is_loaded(tmp_path):
    words = tmp_path / "mine.txt"
    words.write_text("蓝领驿站 10 n\n", encoding="utf-8")
    config = load_config(None, {"cache_dir": str(tmp_path / "cache"), "analysis": {"user_dict": str(words)}})
    assert make_analyzer(config).terms("建设蓝领驿站", "query")[-1] == "蓝领驿站"
