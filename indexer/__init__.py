"""unionsearch indexer: saved page → load → clean → analyse → index → search.

Every step is a module with a small typed interface (see ``indexer.model``).
``indexer`` never imports ``webapp``; only ``indexer.store`` imports Whoosh.
"""

__version__ = "0.1.0"
