"""The Whoosh backend: store (generations, searchers, search), schema, writers, query rendering, the compact
codec and the numpy query path. The only package that imports whoosh."""

from indexer.backends.whoosh.store import WhooshStore

__all__ = ["WhooshStore"]
