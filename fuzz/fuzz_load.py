"""Fuzz target: bytes → a saved page (suffix picked by the first byte) → load_page → clean_page.

Only LoadError and CleanError may escape; the file is never changed. See fuzz/README.md."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _harness import run

from indexer.clean import CleanError, clean_page
from indexer.load import LoadError, load_page

SUFFIXES = (".html", ".htm", ".xhtml", ".mhtml", ".txt")
DIR = Path(tempfile.mkdtemp(prefix="fuzz-load-"))
MAX_BYTES = 1_000_000


def one_input(data: bytes) -> None:
    suffix = SUFFIXES[data[0] % len(SUFFIXES)] if data else ".html"
    path = DIR / f"page{os.getpid()}{suffix}"
    path.write_bytes(data[1:])
    try:
        clean_page(load_page(path, DIR, MAX_BYTES))
    except (LoadError, CleanError) as e:
        if not e.reason or "\n" in str(e):
            raise AssertionError(f"error without a reason or on several lines: {e!r}") from None
    if path.read_bytes() != data[1:]:
        raise AssertionError("the loader changed the file")


if __name__ == "__main__":
    run(one_input)
