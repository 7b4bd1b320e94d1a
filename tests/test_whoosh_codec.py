"""The compact postings of the Whoosh backend (indexer/whoosh_codec.py): what is written is read back, through
Whoosh's own matchers, on the real index of scraped/."""

from __future__ import annotations

import shutil

from hypothesis import given
from hypothesis import strategies as st
from whoosh import formats
from whoosh.codec.whoosh3 import W3Codec

from indexer.backends import open_store
from indexer.backends.whoosh import schema, writers
from indexer.backends.whoosh.codec import VarintPositions, decode_varints, encode_varints
from indexer.build import build_index

from helpers import SCRAPED, make_config


@given(st.lists(st.integers(min_value=0, max_value=2**40)))
def test_varints_round_trip(numbers):
    assert decode_varints(encode_varints(numbers)) == numbers


@given(st.sets(st.integers(min_value=0, max_value=2**31), min_size=1), st.floats(min_value=0.1, max_value=4))
def test_positions_round_trip(positions, boost):
    fmt = VarintPositions(field_boost=boost)
    poslist = sorted(positions)
    value = fmt.encode(poslist)
    assert fmt.decode_positions(value) == poslist
    assert fmt.decode_frequency(value) == len(poslist)
    assert fmt.decode_weight(value) == len(poslist) * boost
    assert [p for p, _ in fmt.decode_position_boosts(value)] == poslist


def _check_positions(store, limit: int | None = None) -> int:
    """Every word of the indexed sections: Whoosh's matcher gives the positions and frequency the analyser
    gave. Returns the number of postings checked."""
    analyzer = schema.make_schema(store.analyzer)["text"].analyzer
    checked = 0
    with store.searcher() as s:
        reader = s.reader()
        for docnum in list(reader.all_doc_ids())[:limit]:
            record = schema.load_record(s, docnum)
            for word, expected in analyzer.positions_of(record.text).items():
                m = reader.postings("text", word)
                m.skip_to(docnum)
                assert m.id() == docnum, word
                assert m.value_as("positions") == expected, word
                assert m.weight() == len(expected), word
                checked += 1
    return checked


def test_postings_read_back_as_analysed(store):
    assert _check_positions(store, limit=120) > 5000


def test_blocks_are_packed(store):
    """Posting blocks keep their values as one string (the layout that makes the index small)."""
    with store.searcher() as s:
        leaf = s.reader().leaf_readers()[0][0] if hasattr(s.reader(), "leaf_readers") else s.reader()
        word = max(store.vocabulary("text"), key=lambda kv: kv[1])[0]
        m = leaf.postings("text", word.encode("utf-8"))
        m = getattr(m, "child", m)
        m._read_data()
        assert isinstance(m._data[2], list)


def test_long_postings_fall_back_to_whoosh_layout(tmp_path):
    """A word repeated so often in one section that its value outgrows a length byte: the block is written in
    Whoosh's own layout, and reads back the same."""
    source = tmp_path / "pages"
    source.mkdir()
    shutil.copy(SCRAPED / next(p.name for p in sorted(SCRAPED.glob("0*.txt"))), source)
    body = "。".join(f"第{i}次职工代表大会审议通过了劳动竞赛方案" for i in range(400))
    (source / "long.txt").write_text("关于劳动竞赛的总结\n\n一、劳动竞赛\n" + body + "。\n", encoding="utf-8")
    config = make_config(tmp_path, source)
    store = open_store(config)
    report = build_index(config, store, progress=False, workers=1)
    assert report.indexed == 2, report.summary()
    with store.searcher() as s:
        m = s.reader().postings("text", "劳动竞赛")
        freqs = []
        while m.is_active():
            freqs.append(len(m.value_as("positions")))
            m.next()
    assert max(freqs) >= 400
    assert _check_positions(store) > 100


def test_incremental_runs_merge_segments(tmp_path):
    """Small incremental runs make small segments, which Whoosh merges (reading every term back, inlined
    ones included, and writing it again): the merged index has the postings a fresh build gives."""
    from indexer.build import index_corpus

    source = tmp_path / "pages"
    source.mkdir()
    for page in sorted(SCRAPED.glob("0*.txt"))[:2]:
        shutil.copy(page, source)
    config = make_config(tmp_path, source)
    store = open_store(config)
    build_index(config, store, progress=False, workers=1)
    segments = []
    for i in range(8):
        notice = f"第{i}次职工代表大会通知\n\n各基层工会：定于{i + 1}月召开第{i}次职工代表大会，请做好准备。\n"
        (source / f"note{i}.txt").write_text(notice, encoding="utf-8")
        report = index_corpus(config, store, progress=False, workers=1)
        assert report.mode == "incremental" and report.indexed == 1, report.summary()
        with store.searcher() as s:
            segments.append(len(s.reader().leaf_readers()))
    assert any(b < a for a, b in zip(segments, segments[1:], strict=False)), segments  # a merge happened
    assert _check_positions(store) > 1000
    fresh_config = make_config(tmp_path / "fresh", source)
    fresh = open_store(fresh_config)
    build_index(fresh_config, fresh, progress=False, workers=1)
    assert dict(store.vocabulary("text")) == dict(fresh.vocabulary("text"))
    assert store.sources() == fresh.sources()


def _postings_bytes(store) -> int:
    gen = store.current_generation()
    return sum(p.stat().st_size for p in gen.iterdir() if p.suffix in (".pst", ".trm"))


def test_postings_are_smaller_than_whoosh_layout(tmp_path, monkeypatch, store):
    """The same sections in Whoosh's own codec and Positions format take more postings bytes: 1.33x here, where
    the 6,500 terms of 17 pages cost their entries more than their positions; 2.3x at 1,000 pages
    (bench/RESULTS.md measures the whole index against the text)."""
    monkeypatch.setattr(writers, "CompactCodec", W3Codec)
    monkeypatch.setattr(schema, "VarintPositions", formats.Positions)
    config = make_config(tmp_path)
    stock = open_store(config)
    build_index(config, stock, progress=False, workers=1)
    with stock.searcher() as s:
        leaf = s.reader().leaf_readers()[0][0] if hasattr(s.reader(), "leaf_readers") else s.reader()
        assert type(leaf.postings("text", "工会".encode()).format) is formats.Positions
    assert stock.stats()["sections"] == store.stats()["sections"]
    assert _postings_bytes(store) <= 0.8 * _postings_bytes(stock)


def test_trailer_holds_what_the_blocks_hold(store):
    """A posting list of more than one block ends with a trailer (numbers, weights, block offsets and first
    postings as arrays): on every such term of scraped/, in every field, it equals what Whoosh's matcher reads
    block by block, and arrays.py reads it."""
    import numpy as np

    from indexer.backends.whoosh import arrays
    from indexer.backends.whoosh.codec import read_trailer

    checked = with_values = 0
    with store.searcher() as s:
        for leaf, _ in s.reader().leaf_readers():
            for fieldname in ("page_title", "heading", "text", "grams", "site_keys"):
                for term, info in leaf.iter_field(fieldname):
                    if info.is_inlined():
                        continue
                    m = arrays._raw_matcher(leaf, fieldname, term)
                    trailer = read_trailer(m._postfile, *info.extent())
                    if info.doc_frequency() <= 128:  # one block: no trailer
                        assert trailer is None, term
                        continue
                    ids, weights, starts, firsts, values_at, bounds = trailer
                    id_blocks, weight_blocks, block_starts = arrays._read_blocks(m)
                    assert ids.tolist() == np.concatenate(id_blocks).tolist(), term
                    assert weights.tolist() == np.concatenate(weight_blocks).tolist(), term
                    assert starts.tolist() == block_starts, term
                    assert firsts.tolist() == np.cumsum([0] + [len(b) for b in id_blocks[:-1]]).tolist()
                    whoosh = leaf.postings(fieldname, term)
                    assert ids.tolist() == list(whoosh.all_ids()), term
                    got = arrays._postings(leaf, fieldname, term)
                    assert got[0].tolist() == ids.tolist() and got[2] is not None
                    if leaf.schema[fieldname].format.supports("positions"):
                        # every posting's value, where the trailer says, is the one in its block
                        whoosh = leaf.postings(fieldname, term)
                        values = []
                        while whoosh.is_active():
                            values.append(whoosh.value())
                            whoosh.next()
                        assert bounds is not None and len(bounds) == len(ids) + 1, term
                        stored = m._postfile.get(values_at, int(bounds[-1]))
                        assert [stored[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)] == values, term
                        with_values += 1
                    else:
                        assert bounds is None and values_at is None, term
                    checked += 1
    assert checked >= 10, checked  # 16 on scraped/
    assert with_values >= 5, with_values


def test_positions_read_where_they_stand_equal_the_blocks(store):
    """arrays._positions reads a common word's positions through the trailer's bounds: for every document of
    every word of more than one block, the same positions as Whoosh's matcher decodes from its blocks."""
    import numpy as np

    from indexer.backends.whoosh import arrays

    checked = 0
    with store.searcher() as s:
        for leaf, _ in s.reader().leaf_readers():
            decode = leaf.schema["text"].format.decoder("positions")
            for term, info in leaf.iter_field("text"):
                if info.is_inlined() or info.doc_frequency() <= 128:
                    continue
                assert arrays._postings(leaf, "text", term)[5] is not None, term
                whoosh = leaf.postings("text", term)
                expected = {}
                while whoosh.is_active():
                    expected[whoosh.id()] = decode(whoosh.value())
                    whoosh.next()
                docs = np.array(sorted(expected), dtype=np.int64)
                assert arrays._positions(leaf, "text", term, docs) == expected, term
                every_third = docs[::3]
                assert arrays._positions(leaf, "text", term, every_third) == {
                    d: expected[d] for d in every_third.tolist()}, term
                checked += 1
    assert checked >= 5, checked


@given(st.lists(st.lists(st.tuples(st.integers(min_value=1, max_value=2**20),
                                   st.one_of(st.integers(min_value=1, max_value=70000).map(float),
                                             st.floats(min_value=0.25, max_value=8, width=32))),
                         min_size=1, max_size=5), min_size=2, max_size=4))
def test_trailer_round_trip(blocks):
    """Any ascending numbers and weights (integral ones stored narrow, others as float32) read back exactly."""
    import io

    import numpy as np

    from indexer.backends.whoosh.codec import encode_trailer, read_trailer

    class File(io.BytesIO):
        def get(self, at, n):
            return self.getvalue()[at:at + n]

    gaps = [np.array([g for g, _ in b], dtype=np.int64) for b in blocks]
    ids = np.cumsum(np.concatenate(gaps))
    sizes = [len(b) for b in blocks]
    id_blocks = np.split(ids, np.cumsum(sizes)[:-1])
    weight_blocks = [np.array([w for _, w in b], dtype=np.float32) for b in blocks]
    offsets = [4 + 100 * i for i in range(len(blocks))]
    for with_values in (False, True):
        value_list = [bytes([k % 256]) * (1 + k % 300) for k in range(len(ids))]  # some longer than 255
        values = None
        if with_values:
            joined = [b"".join(value_list[a:a + n]) for a, n in zip(np.cumsum([0, *sizes[:-1]]), sizes, strict=True)]
            values = (joined, [np.array([len(v) for v in value_list[a:a + n]]) for a, n in
                               zip(np.cumsum([0, *sizes[:-1]]), sizes, strict=True)])
        data = b"x" * 50 + encode_trailer(id_blocks, weight_blocks, offsets, values)
        got = read_trailer(File(data), 0, len(data))
        assert got.ids.tolist() == ids.tolist()
        assert got.weights.tolist() == np.concatenate(weight_blocks).tolist()
        assert got.starts.tolist() == offsets
        assert got.firsts.tolist() == [0, *np.cumsum(sizes)[:-1].tolist()]
        if with_values:
            assert got.values_at == 50
            assert [data[got.values_at + a:got.values_at + b] for a, b in
                    zip(got.bounds[:-1], got.bounds[1:], strict=True)] == value_list
        else:
            assert got.values_at is None and got.bounds is None
