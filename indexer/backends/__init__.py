"""Search backends behind one interface (``Backend``, in base.py): Whoosh (embedded, the default) and a Sphinx
searchd cluster. Only ``backends/whoosh`` imports whoosh; only ``backends/sphinx`` talks to searchd."""

from __future__ import annotations

from indexer.analysis import Analyzer, make_analyzer
from indexer.backends.base import Backend
from indexer.config import Config


def open_store(config: Config, analyzer: Analyzer | None = None) -> Backend:
    """The configured backend with the configured analyser (or ``analyzer``): a WhooshStore over
    ``config.index_dir`` (default) or a SphinxStore over the searchd cluster in ``config.sphinx.nodes_file``."""
    analyzer = analyzer if analyzer is not None else make_analyzer(config)
    # Only the configured engine is imported: a Whoosh user never loads the MySQL client, nor a Sphinx one Whoosh.
    if config.backend == "sphinx":
        from indexer.backends.sphinx import open_sphinx_store

        return open_sphinx_store(config, analyzer)
    from indexer.backends.whoosh import WhooshStore

    return WhooshStore(config.index_path, analyzer)
