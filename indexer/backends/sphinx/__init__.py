"""The Sphinx backend: a searchd cluster (cluster.py: nodes, shards, mirrors) holding rows (rows.py) that
queries rendered from the plan (render.py) search; store.py is the ``Backend``."""

from indexer.backends.sphinx.store import ClusterUnavailable, SphinxStore, open_sphinx_store

__all__ = ["ClusterUnavailable", "SphinxStore", "open_sphinx_store"]
