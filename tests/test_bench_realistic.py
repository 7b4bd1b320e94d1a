"""bench/make_mutated_corpus.py: copies of scraped/ pages, made the same way every time, that the real cleaner reads
as the sources' kind of page and that the engine's own near-copy measure never folds together (speed is judged
in bench/REALISTIC.md, never here)."""

from __future__ import annotations

import sys

import pytest

from helpers import ROOT, SCRAPED

BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

PAGES = 30


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from make_mutated_corpus import make_corpus

    folder = tmp_path_factory.mktemp("mutated") / "a"
    return folder, make_corpus(PAGES, folder)


@pytest.fixture(scope="module")
def records(corpus):
    from make_mutated_corpus import folder_records, source_records

    return folder_records(corpus[0]), source_records()


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_ones(corpus, tmp_path):
    from make_mutated_corpus import make_corpus

    folder, pages = corpus
    again = make_corpus(PAGES, tmp_path / "b")
    assert [p.relative_to(folder) for p in pages] == [p.relative_to(tmp_path / "b") for p in again]
    assert [p.read_bytes() for p in pages] == [p.read_bytes() for p in again]
    other = make_corpus(3, tmp_path / "c", seed=8)
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(pages, other, strict=False))


def test_copies_keep_their_sources_formats_and_encodings(corpus):
    from indexer.load import load_page

    folder, pages = corpus
    loaded = [load_page(p, folder) for p in pages]
    assert {p.suffix for p in pages} == {".html", ".txt"}
    assert sum(p.encoding == "gb18030" for p in loaded) >= 2  # the GBK pages stay GBK (each source is used)
    assert all(b"\xef\xbf\xbd" not in p.read_bytes() for p in pages)  # nothing lost to U+FFFD on the way
    urls = [p.url for p in loaded if p.url]
    assert len(urls) >= 10 and len(set(urls)) == len(urls)  # every copy has its own address


def test_copies_clean_to_numbered_documents(records):
    copies, sources = records
    pages = {page for page, _, _ in copies}
    assert len(pages) == PAGES  # no page fails to load or clean
    assert len(copies) >= 0.8 * PAGES / 17 * len(sources)  # about as many sections as the sources have


def test_no_copy_is_a_near_copy_of_another_or_of_its_source(records):
    from make_mutated_corpus import near_copies

    copies, sources = records
    result = near_copies(copies + sources)
    assert result["compared"] > 500
    assert result["copy_copy"]["near"] == 0, result["copy_copy"]
    assert result["copy_source"]["near"] == 0, result["copy_source"]
    assert result["copy_copy"]["max_jaccard"] < 0.5 and result["copy_source"]["max_jaccard"] < 0.5


def test_the_measure_finds_copies_when_there_are_some(records):
    from make_mutated_corpus import near_copies

    copies, sources = records
    twice = copies + [(f"again:{page}", False, text) for page, _, text in copies[:40]]
    assert near_copies(twice)["copy_copy"]["near"] >= 30
    as_copies = [(f"copy:{page}", False, text) for page, _, text in sources]
    assert near_copies(as_copies + sources)["copy_source"]["near"] >= 30


def test_too_few_changes_would_be_caught(monkeypatch, tmp_path):
    import make_mutated_corpus as m

    monkeypatch.setattr(m, "RATE", 0.01)
    folder = tmp_path / "light"
    m.make_corpus(17, folder)
    result = m.near_copies(m.folder_records(folder) + m.source_records(SCRAPED))
    assert result["copy_source"]["near"] > 0
