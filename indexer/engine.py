"""Open the configured index for searching (shared by the CLI and the web app)."""

from __future__ import annotations

from indexer.build import make_analyzer
from indexer.config import Config
from indexer.store import Store


def open_store(config: Config) -> Store:
    """The configured backend: a Whoosh Store over ``config.index_dir`` (default) or a SphinxStore over the
    searchd cluster in ``config.sphinx.nodes_file``, both with the configured analyser."""
    if config.backend == "sphinx":
        from indexer.sphinx_store import open_sphinx_store

        return open_sphinx_store(config)
    return Store(config.index_path, make_analyzer(config))
