"""What search reads per hit: near-copy sketches made at index time, records read only for shown hits, and
bounded counting of broad queries (an estimated total, flagged)."""

from __future__ import annotations

import pytest

from indexer.backends.base import RawHit
from indexer.backends.whoosh import store as whoosh_store
from indexer.query import parse_query
from indexer.search import _RESULTS, SearchOptions, collapse, search
from indexer.sketch import Sketch, gram_hashes, make_sketch


def test_sketch_is_stable_and_round_trips():
    text = "区总工会以“职工之家”建设为抓手，扎实开展困难职工帮扶工作。" * 3
    assert make_sketch(text) == make_sketch(text)
    sk = Sketch.from_bytes(make_sketch(text))
    assert sk.grams == frozenset((gram_hashes(text) & 0xFFFF).tolist()) and not sk.sampled
    assert sk.zeros == frozenset(g for g in sk.grams if g % 4 == 0)
    # Punctuation and spacing do not change the sketch; other words do.
    assert make_sketch(text.replace("，", " ")) == make_sketch(text)
    assert make_sketch(text.replace("帮扶", "慰问")) != make_sketch(text)
    assert Sketch.from_bytes(make_sketch("")).grams == frozenset()


def test_long_sections_are_sampled():
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000))
    sk = Sketch.of(text)
    assert sk.sampled and sk.grams == sk.zeros and all(g % 4 == 0 for g in sk.grams)
    assert 0.15 < len(sk.grams) / len(gram_hashes(text)) < 0.35


def test_stored_sketch_equals_the_text_sketch(store):
    raw = store.search(parse_query("工会", store.analyzer), 50)
    assert raw.hits
    for hit in raw.hits:
        from_text = RawHit.of(hit.record, hit.score)
        assert hit.sketch() == from_text.sketch()
        assert (hit.id, hit.doc_id, hit.duplicate_of) == (hit.record.id, hit.record.doc_id, hit.record.duplicate_of)


def test_only_shown_hits_read_their_record(store, monkeypatch):
    loads = []
    real = whoosh_store.load_record
    monkeypatch.setattr(whoosh_store, "load_record", lambda s, d: loads.append(d) or real(s, d))
    result = search(store, "工会", SearchOptions(per_page=5))
    assert len(result.hits) == 5 and result.total_sections > 50
    assert len(loads) <= 5 + 3 * 5  # the shown hits (and their grouped sections), not the whole window


def test_collapse_from_records_and_from_keys_agree(store):
    raw = store.search(parse_query("职工之家", store.analyzer), 300)
    by_keys = [(h.id, n) for h, n in collapse(raw.hits)]
    by_text = [(h.id, n) for h, n in collapse([RawHit.of(h.record, h.score) for h in raw.hits])]
    assert by_keys == by_text
    assert any(n for _, n in by_keys)  # the corpus has near-copies of these sections


@pytest.mark.parametrize("cap", [5, 10])
def test_broad_queries_estimate_their_total(store, monkeypatch, cap):
    # Sorted by date, a query is evaluated by Whoosh itself, which counts matches one by one (and stops at
    # COUNT_EXACT).
    by_date = SearchOptions(collapse=False, snippets=False, sort="date")
    q = "工会 工作"
    exact = search(store, q, by_date)
    assert exact.total > 3 * cap and not exact.total_estimated
    monkeypatch.setattr(whoosh_store, "COUNT_EXACT", cap)
    _RESULTS.clear()  # the same request again, under another limit
    estimated = search(store, q, by_date)
    assert estimated.total_estimated
    assert 0.5 * exact.total <= estimated.total <= 2 * exact.total
    assert [h.record.id for h in estimated.hits] == [h.record.id for h in exact.hits]
    # A narrow query is still counted exactly.
    narrow = search(store, "两癌筛查", by_date)
    assert not narrow.total_estimated and 0 < narrow.total < cap
    # Words alone are matched on whole posting lists: their total and facets are exact however broad.
    broad = search(store, "工会", SearchOptions(collapse=False, snippets=False))
    assert not broad.total_estimated and broad.total > 3 * cap
    assert sum(broad.facets["site"].values()) <= broad.total


def test_api_snippets_switch(client):
    on = client.get("/api/search?q=职工之家").get_json()
    off = client.get("/api/search?q=职工之家&snippets=false").get_json()
    assert any("<mark>" in r["snippet"] for r in on["results"])
    assert off["results"] and all(r["snippet"] == "" for r in off["results"])
    assert [r["id"] for r in on["results"]] == [r["id"] for r in off["results"]]
    bad = client.get("/api/search?q=职工之家&snippets=maybe")
    assert bad.status_code == 400 and "snippets" in bad.get_json()["error"]


def test_total_is_the_same_for_every_page_and_page_size(store):
    totals = {search(store, "工会", SearchOptions(page=p, per_page=n, snippets=False)).total
              for n in (5, 10, 50, 100) for p in (1, 2, 4)}
    assert len(totals) == 1
