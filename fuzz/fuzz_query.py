"""Fuzz target: bytes → query text (UTF-8 with surrogateescape, so invalid bytes become lone surrogates) →
parse_query → search() over an index of scraped/ built once into a temporary folder.

Nothing may escape search(); results must respect per_page and snippets may hold only <mark>.
See fuzz/README.md."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from _harness import ROOT, run

from indexer.backends import open_store
from indexer.build import build_index
from indexer.config import load_config
from indexer.search import SearchOptions, search

MARK = re.compile(r"</?mark>")
_store = None


def store():
    global _store
    if _store is None:
        tmp = Path(tempfile.mkdtemp(prefix="fuzz-query-"))
        config = load_config(ROOT / "config.yaml", {"source_dir": str(ROOT / "scraped"),
                                                    "index_dir": str(tmp / "index"), "cache_dir": str(tmp / "cache")})
        _store = open_store(config)
        build_index(config, _store, progress=False, workers=1)
        print(f"fuzzing queries over {tmp / 'index'}", file=sys.stderr)
    return _store


def one_input(data: bytes) -> None:
    flags = data[0] if data else 0
    text = data[1:].decode("utf-8", errors="surrogateescape")
    options = SearchOptions(page=1 + (flags & 3), per_page=1 + (flags >> 2 & 15), group=bool(flags & 64),
                            sort="date" if flags & 128 else "relevance")
    result = search(store(), text, options)
    if result.total < 0 or len(result.hits) > options.per_page:
        raise AssertionError(f"bad result for {text!r}: total {result.total}, {len(result.hits)} hits")
    for hit in result.hits:
        if "<" in MARK.sub("", hit.snippet):
            raise AssertionError(f"markup in a snippet for {text!r}: {hit.snippet!r}")


if __name__ == "__main__":
    store()
    run(one_input)
