"""Shared by the sphinx benches: open a SphinxStore for a config and index a corpus into it with the real
index step (indexer.build.index_corpus)."""

from __future__ import annotations

from pathlib import Path

from indexer.analysis import make_analyzer
from indexer.backends.sphinx.store import SphinxStore
from indexer.build import index_corpus


def sphinx_store(config, nodes_file: str | Path, state_dir: str | Path | None = None) -> SphinxStore:
    state = Path(state_dir) if state_dir else config.index_path / "sphinx"
    return SphinxStore(state, make_analyzer(config), nodes_file)


def index(config, store, full: bool = False, workers: int = 1):
    return index_corpus(config, store, full=full, workers=workers, progress=False)
