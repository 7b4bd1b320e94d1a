"""Shared by the sphinx benches: open a SphinxStore for a config and index a corpus into it with the real
index step (indexer.build.index_corpus), until the lead's engine switch makes that the default path."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from indexer.build import make_analyzer
from indexer.sphinx_store import SphinxStore


def sphinx_store(config, nodes_file: str | Path, state_dir: str | Path | None = None) -> SphinxStore:
    state = Path(state_dir) if state_dir else config.index_path / "sphinx"
    return SphinxStore(state, make_analyzer(config), nodes_file)


@contextmanager
def routed_to(store):
    """Make indexer.build write through ``store`` (the engine/build hooks the lead wires replace this)."""
    import indexer.engine
    import indexer.store

    saved_sink, saved_open = indexer.store.Store.__dict__["sink"], indexer.engine.open_store
    indexer.store.Store.sink = staticmethod(lambda gen, limitmb=128: store.sink(gen, limitmb))
    indexer.engine.open_store = lambda config: store
    try:
        yield store
    finally:
        indexer.store.Store.sink = saved_sink
        indexer.engine.open_store = saved_open


def index(config, store, full: bool = False, workers: int = 1):
    from indexer.build import index_corpus

    with routed_to(store):
        return index_corpus(config, store, full=full, workers=workers, progress=False)
