"""The sphinx backend as a cluster: node layout and configs, a node killed mid-query (partial results, no
error), a mirror taking over, incremental updates routed to the right shard, a full rebuild that keeps
search up, and a node that missed writes caught up by the next index run."""

from __future__ import annotations

import shutil
import threading

import pytest

from indexer.backends.sphinx import cluster
from indexer.backends.sphinx.rows import shard_of
from indexer.backends.sphinx.store import ClusterUnavailable
from indexer.query import parse_query
from indexer.search import SearchOptions, search

from helpers import SEEDS, index_sphinx, make_config, new_sphinx_store, start_cluster, wait_for


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    var = tmp_path_factory.mktemp("faults")
    spec = start_cluster(var)
    yield spec
    cluster.stop(var)


@pytest.fixture
def corpus(tmp_path):
    source = tmp_path / "pages"
    source.mkdir()
    for p in SEEDS:
        shutil.copy(p, source / p.name)
    return source


@pytest.fixture
def sstore(spec, corpus, tmp_path):
    config = make_config(tmp_path, corpus)
    store = new_sphinx_store(config, spec, tmp_path / "state")
    index_sphinx(config, store, full=True)
    store.config = config
    yield store
    for node in spec.nodes:  # every test leaves the cluster whole
        cluster.start_node(node)
    store.close()


def raw(store, text="工会"):
    return store.search(parse_query(text, store.analyzer), 500)


def test_layout_and_configs(spec):
    assert cluster.layout(3, 2) == [[0], [1], [0]]
    assert cluster.layout(1, 2) == [[0, 1]]
    assert cluster.layout(4, 2) == [[0], [1], [0], [1]]
    conf = spec.node("n1").config_path.read_text()
    n0, n2 = spec.node("n0"), spec.node("n2")
    assert f"agent = {n0.host}:{n0.api_port}|{n2.host}:{n2.api_port}:us_a_s0" in conf
    assert "local = us_a_s1" in conf and "U+3400..U+9FFF" in conf and "ngram" not in conf
    assert [row["up"] for row in cluster.status(spec)] == [True, True, True]


def test_pages_are_sharded_by_source(sstore, spec):
    counts = {row["node"]: row["indexes"] for row in cluster.status(spec)}
    s0, s1 = counts["n0"]["us_a_s0"], counts["n1"]["us_a_s1"]
    assert s0 and s1 and counts["n2"]["us_a_s0"] == s0
    assert s0 + s1 == sstore.stats()["sections"]


def test_a_killed_node_mid_query_gives_partial_results_not_errors(sstore, spec):
    full = raw(sstore)
    assert not full.incomplete
    errors, flags, stop = [], [], threading.Event()

    def client():
        while not stop.is_set():
            try:
                result = search(sstore, "工会", SearchOptions(per_page=20))
                flags.append(result.total)
            except Exception as e:  # the point of the test: none may escape
                errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(flags) >= 8 or errors, timeout=60, what="searches before the kill")
        cluster.stop_node(spec.node("n1"), hard=True)  # shard 1 has no mirror, queries are in flight
        count = len(flags)
        wait_for(lambda: len(flags) >= count + 8 or errors, timeout=60, what="searches after the kill")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    partial = raw(sstore)
    assert partial.incomplete and partial.warnings and 0 < partial.total < full.total
    assert {h.record.source for h in partial.hits} <= {s for s in sstore.sources()}


def test_a_mirror_takes_over(sstore, spec):
    full = raw(sstore)
    cluster.stop_node(spec.node("n0"), hard=True)  # shard 0 is mirrored on n2

    def answers_in_full() -> list[tuple[int, bool]]:
        out = []
        for start in range(3):
            sstore._local.start = start  # whichever node the query goes to
            result = raw(sstore)
            out.append((result.total, result.incomplete))
        return out

    # searchd's HA pings (every 0.5 s) mark the dead mirror; queries then avoid it.
    wait_for(lambda: answers_in_full() == [(full.total, False)] * 3, timeout=30, every=0.2,
             what="queries to avoid the dead mirror")
    assert answers_in_full() == [(full.total, False)] * 3


def test_no_node_answers_is_one_clear_error(sstore, spec):
    for node in spec.nodes:
        cluster.stop_node(node, hard=True)
    with pytest.raises(ClusterUnavailable, match="no sphinx node answers"):
        raw(sstore)


def _page_in_shard(corpus, shard):
    return next(p for p in sorted(corpus.iterdir()) if shard_of(p.name, 2) == shard)


def add_words(page, words="蓝莓采摘联谊"):
    """Change a page: put ``words`` in the middle of its longest line (the body, which the cleaner keeps)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = max(range(len(lines)), key=lambda k: len(lines[k]))
    half = len(lines[i]) // 2
    lines[i] = lines[i][:half] + words + lines[i][half:]
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_incremental_update_after_a_page_changes(sstore, corpus):
    page = _page_in_shard(corpus, 1)
    before = sstore.sources()
    add_words(page)
    gone = _page_in_shard(corpus, 0)
    gone.unlink()
    report = index_sphinx(sstore.config, sstore)
    assert (report.mode, report.changed, report.deleted) == ("incremental", 1, 1)
    hits = search(sstore, "蓝莓采摘").hits
    assert hits and all(h.record.source == page.name for h in hits)
    after = sstore.sources()
    assert gone.name not in after and set(after) == set(before) - {gone.name}
    assert sstore.stats()["sections"] == sum(after.values())
    assert dict(sstore.vocabulary()).get("蓝莓")


def test_direct_update_api(sstore):
    record = raw(sstore).hits[0].record
    records = sstore.document(record.doc_id)
    assert sstore.update([], [record.source]) == 0
    assert record.source not in sstore.sources()
    assert sstore.update(records, []) == len(records)
    assert sstore.document(record.doc_id) == records


def test_full_rebuild_keeps_search_up(sstore):
    before_gen = sstore.current_generation()
    totals, stop = [], threading.Event()

    def client():
        while not stop.is_set():
            totals.append(search(sstore, "工会").total)

    t = threading.Thread(target=client)
    t.start()
    try:
        index_sphinx(sstore.config, sstore, full=True)
    finally:
        stop.set()
        t.join()
    assert totals and min(totals) > 0
    assert sstore.current_generation() != before_gen


def test_a_node_that_missed_writes_is_caught_up_by_the_next_index(sstore, spec, corpus):
    n0, n2 = spec.node("n0"), spec.node("n2")
    cluster.stop_node(n2, hard=True)  # the mirror of shard 0 misses the update
    page = _page_in_shard(corpus, 0)
    add_words(page)
    index_sphinx(sstore.config, sstore)
    assert sstore.stats()["stale_replicas"] == [{"gen": sstore.current_generation().name[-1], "node": "n2",
                                                  "shard": 0}]
    cluster.start_node(n2)
    report = index_sphinx(sstore.config, sstore)  # nothing changed in the corpus: only the catch-up
    assert report.mode == "unchanged" and sstore.stats()["stale_replicas"] == []
    counts = {row["node"]: row["indexes"] for row in cluster.status(spec)}
    gen = sstore.current_generation().name[-1]
    assert counts["n2"][f"us_{gen}_s0"] == counts["n0"][f"us_{gen}_s0"]
    cluster.stop_node(n0, hard=True)  # now only the caught-up mirror serves shard 0
    # Once searchd's HA pings see it, the whole answer comes from the mirror.
    result = wait_for(lambda: (r := search(sstore, "蓝莓采摘")).hits and not r.incomplete and r, timeout=30,
                      every=0.2, what="the caught-up mirror to answer for shard 0")
    assert result.hits[0].record.source == page.name
