"""The Whoosh backend's posting pool (indexer/backends/whoosh/pool.py) hands the codec exactly the postings, in
exactly the order, Whoosh's own PostingPool does: on the sections of scraped/, in memory and spilled to runs."""

from __future__ import annotations

import pytest
from whoosh.filedb.filestore import RamStorage
from whoosh.writing import PostingPool

from indexer.backends import open_store
from indexer.backends.whoosh import pool as pool_module
from indexer.backends.whoosh import writers
from indexer.backends.whoosh.pool import GroupedPool
from indexer.build import build_index

from helpers import make_config


@pytest.fixture(scope="module")
def scraped_postings(tmp_path_factory):
    """Every posting Whoosh's pool receives while one process indexes scraped/, in the order it arrives."""
    seen: list[tuple] = []

    class Recording(GroupedPool):
        def add(self, item):  # merges add postings one by one
            seen.append(item)
            super().add(item)

        def add_terms(self, fieldname, docnum, items, boost, scorable):  # the writer adds a field at a time
            items = list(items)
            seen.extend((fieldname, tbytes, docnum, weight * boost, value) for tbytes, _, weight, value in items)
            return super().add_terms(fieldname, docnum, items, boost, scorable)

    tmp = tmp_path_factory.mktemp("pool")
    config = make_config(tmp)
    saved = writers.GroupedPool
    writers.GroupedPool = Recording
    try:
        build_index(config, open_store(config), progress=False, workers=1)
    finally:
        writers.GroupedPool = saved
    return seen


def _drain(pool) -> list[tuple]:
    out = list(pool.iter_postings())
    pool.cleanup()
    return out


@pytest.mark.parametrize("spill_every", [None, 30_000, 2_000])
def test_same_postings_as_whoosh(scraped_postings, spill_every, monkeypatch):
    assert len(scraped_postings) > 90_000  # the whole of scraped/: words, sub-words and bigrams
    ours = GroupedPool(RamStorage(), limitmb=1024)
    if spill_every:  # a limit this small makes the pool write many runs and merge them
        monkeypatch.setattr(pool_module, "_POSTING_BYTES", 1024 * 1024 // spill_every)
        ours = GroupedPool(RamStorage(), limitmb=1)
    whoosh = PostingPool(RamStorage(), None, limitmb=1024)
    for item in scraped_postings:
        ours.add(item)
        whoosh.add(item)
    if spill_every:
        assert len(ours._runs) >= len(scraped_postings) // spill_every - 1
    assert ours.fieldnames == whoosh.fieldnames
    assert _drain(ours) == _drain(whoosh)


def test_out_of_order_documents_are_sorted():
    """Postings of a term added out of document order (a merge could) come out sorted, values alongside."""
    pool = GroupedPool(RamStorage())
    for docnum in (5, 2, 9, 2):
        pool.add(("text", b"term", docnum, 1.0, bytes([docnum])))
    pool.add(("text", b"a", 7, 2.0, b""))
    assert _drain(pool) == [("text", b"a", 7, 2.0, b""), ("text", b"term", 2, 1.0, b"\x02"),
                            ("text", b"term", 2, 1.0, b"\x02"), ("text", b"term", 5, 1.0, b"\x05"),
                            ("text", b"term", 9, 1.0, b"\t")]


def test_written_segments_equal_whoosh_field_writer(tmp_path, monkeypatch):
    """Our writer adds a field's postings at once (add_terms) and writes each term's in one call (pool.write_to,
    codec add_many); Whoosh's adds and writes them one by one through its PostingPool. The postings and term
    files of scraped/ come out byte for byte the same (blocks, statistics, inlined terms)."""
    from whoosh.writing import SegmentWriter

    def files(folder):
        gen = open_store(make_config(folder)).current_generation()
        return {p.suffix: p.read_bytes() for p in sorted(gen.iterdir()) if p.suffix in (".pst", ".trm")}

    build_index(make_config(tmp_path / "ours"), open_store(make_config(tmp_path / "ours")), progress=False,
                workers=1)
    # Whoosh's own writer path: its add_document, its PostingPool, its field writer's add_postings
    monkeypatch.setattr(writers._Writer, "_flush_segment", SegmentWriter._flush_segment)
    monkeypatch.setattr(writers._Writer, "add_document", SegmentWriter.add_document)
    monkeypatch.setattr(writers, "GroupedPool", lambda store, limitmb: PostingPool(store, None, limitmb=limitmb))
    build_index(make_config(tmp_path / "whoosh"), open_store(make_config(tmp_path / "whoosh")), progress=False,
                workers=1)
    ours, theirs = files(tmp_path / "ours"), files(tmp_path / "whoosh")
    assert set(ours) == {".pst", ".trm"} and all(len(v) > 10_000 for v in ours.values())
    assert ours == theirs
