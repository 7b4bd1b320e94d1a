"""Open the configured index for searching (shared by the CLI and the web app)."""

from __future__ import annotations

from indexer.build import make_analyzer
from indexer.config import Config
from indexer.store import Store


def open_store(config: Config) -> Store:
    """A Store over ``config.index_dir`` with the configured analyser (jieba initialised once)."""
    return Store(config.index_path, make_analyzer(config))
