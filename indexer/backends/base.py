"""What every search backend is and shares: the ``Backend`` interface, the hit types it returns, its errors,
and the generation files (lock, atomic writes, files kept beside the live index).

A backend renders the query plan (``indexer.query.ParsedQuery``) into its engine's query language, writes
section records, and keeps generations so that a full rebuild goes live in one atomic step. Callers —
``indexer.build``, ``indexer.search``, the CLI and the web app — use only what ``Backend`` declares.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Hashable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from indexer.analysis import Analyzer
from indexer.model import SectionRecord, page_key
from indexer.query import ParsedQuery
from indexer.sketch import Sketch, make_sketch

COUNT_EXACT = 1000  # totals and facet counts are exact up to this many matches; estimated beyond
FACETS = ("year", "site", "org_type")
# Field weights, shared so both engines rank alike: a heading's words count double, a page title's less.
FIELD_BOOSTS = {"text": 1.0, "heading": 2.0, "document": 1.2, "page_title": 0.6}
PARTS_SLOP = 8  # a long word's parts count where they stand in order, at most this many words apart


class IndexMissing(Exception):
    """No index at the configured place; run `unionsearch index` first."""


class IndexIncompatible(Exception):
    """The index was built by another version of unionsearch; rebuild it."""


class LockBusy(Exception):
    """Another process holds the index's write lock."""


class RawHit:
    """One match as a backend returns it. The keys that collapse and grouping need come first and cheaply;
    the stored record (the section's whole text) is read only for the hits that are shown."""

    __slots__ = ("id", "doc_id", "duplicate_of", "score", "terms", "_sketch", "_record", "_load", "_facets")

    def __init__(self, id: str, doc_id: str, duplicate_of: str | None, score: float, terms: Iterable[str] = (),
                 sketch: bytes | None = None, record: SectionRecord | None = None, load=None, facets=None):
        self.id, self.doc_id, self.duplicate_of = id, doc_id, duplicate_of
        self.score, self.terms = score, set(terms)
        self._sketch, self._record, self._load = sketch, record, load
        self._facets = facets  # () -> {facet: value}, cheaper than the record (counting needs it of a few hits)

    @classmethod
    def of(cls, record: SectionRecord, score: float, terms: Iterable[str] = ()) -> RawHit:
        """A hit whose record is already at hand (the sketch is then made from its text when needed)."""
        return cls(record.id, record.doc_id, record.duplicate_of, score, terms, record=record)

    @property
    def record(self) -> SectionRecord:
        if self._record is None:
            self._record = self._load()
        return self._record

    def facet_values(self) -> dict[str, str]:
        """The section's value of each facet (FACETS; "" when it has none), read once."""
        if not isinstance(self._facets, dict):
            if self._facets is not None:
                self._facets = self._facets()
            else:
                r = self.record
                self._facets = {"year": str(r.year or ""), "site": r.site or "", "org_type": r.org_type or ""}
        return self._facets

    def sketch(self) -> Sketch:
        if self._sketch is None:
            self._sketch = make_sketch(self.record.text)
        return Sketch.from_bytes(self._sketch)


@dataclass
class RawResult:
    total: int  # matching sections
    hits: list[RawHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # documents per value (what a click shows)
    incomplete: bool = False  # some shard did not answer (distributed backends only)
    estimated: bool = False  # total (and facets) estimated from the first COUNT_EXACT matches
    # any-word searches: (typed word, its back-off words) for each word that matched nothing by itself
    backed_off: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    documents: int = -1  # the documents those sections belong to (-1: not counted)


class Sink(Protocol):
    """Writes sections into a new part of a generation; several may run at once in worker processes."""

    count: int

    def add(self, records: Iterable[SectionRecord]) -> None: ...

    def finish(self) -> object:
        """Close the part; returns a picklable handle for commit_generation/commit_update (or None)."""
        ...

    def cancel(self) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """A search engine holding section records in generations. Writers hold ``lock()``; a full build writes
    ``new_generation()`` through sinks and goes live with ``commit_generation()``; an update is one
    ``commit_update()`` on the live generation. Readers never see a half-written index."""

    analyzer: Analyzer
    format_version: str  # part of the settings fingerprint: a change means a full rebuild

    # ---- state -----------------------------------------------------------------------------------
    def exists(self) -> bool: ...

    def check(self) -> int:
        """The number of sections searchable now; raises IndexMissing/IndexIncompatible when it cannot search."""
        ...

    def current_generation(self) -> Path | None: ...

    def live_generation(self) -> Path:
        """The live generation, checked for format (raises IndexMissing / IndexIncompatible)."""
        ...

    def version(self) -> Hashable | None:
        """What identifies the index's content now (equal versions give equal answers), or None if unknown."""
        ...

    def stats(self) -> dict: ...

    def close(self) -> None: ...

    # ---- writing (callers hold lock()) ----------------------------------------------------------
    def lock(self) -> AbstractContextManager[None]: ...

    def remove_unfinished(self) -> list[str]: ...

    def new_generation(self) -> Path: ...

    def sink(self, gen: str | Path, limitmb: int = 128) -> Sink: ...

    def commit_generation(self, gen: Path, parts: list, files: dict[str, str] | None = None) -> None: ...

    def discard_generation(self, gen: Path) -> None: ...

    def commit_update(self, parts: list, delete_sources: Iterable[str], files: dict[str, str] | None = None,
                      add: Iterable[SectionRecord] = ()) -> int: ...

    def update(self, add: Iterable[SectionRecord], delete_sources: Iterable[str]) -> int: ...

    def build(self, records: Iterable[SectionRecord], meta: dict | None = None) -> int: ...

    def read_file(self, name: str) -> str | None: ...

    def write_files(self, files: dict[str, str]) -> None: ...

    # ---- reading --------------------------------------------------------------------------------
    def search(self, pq: ParsedQuery, limit: int, *, any_match: bool = False, sort: str = "relevance",
               facets: bool = True, filters: dict[str, str] | None = None) -> RawResult: ...

    def document(self, doc_id: str) -> list[SectionRecord]: ...

    def section(self, section_id: str) -> SectionRecord | None: ...

    def sources(self) -> dict[str, int]: ...

    def documents(self) -> Iterator[list[SectionRecord]]:
        """Every document's sections, in one pass (what a full build's suggestions read); a document's sections
        come together, in order."""
        ...

    def vocabulary(self, fieldname: str = "text") -> Iterator[tuple[str, int]]: ...


def page_documents(store: Backend, source: str, sections: int) -> Iterator[list[SectionRecord]]:
    """The documents of one indexed page, as their sections (Backend.document over the ids records.py gives:
    <page key>-<document index>, numbered from 0), until ``sections`` sections are found."""

    key = page_key(source)
    found = index = misses = 0
    while found < sections and misses < 3:
        docs = store.document(f"{key}-{index}")
        index += 1
        misses = 0 if docs else misses + 1
        found += len(docs)
        if docs:
            yield docs


def site_keys(site: str | None) -> str:
    """www.a.gov.cn → 'www.a.gov.cn a.gov.cn gov.cn' so site:a.gov.cn matches its hosts."""
    if not site:
        return ""
    parts = site.lower().split(".")
    return " ".join(".".join(parts[i:]) for i in range(len(parts) - 1))


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step: readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class GenerationFiles:
    """What both backends do the same way with their generation folders under ``self.dir`` (a backend
    supplies lock(), new_generation(), sink(), commit_generation(), discard_generation(), live_generation()
    and current_generation())."""

    dir: Path

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time across processes. The lock is an fcntl lock on ``build.lock``: the kernel
        drops it when its process dies (even by kill -9), so a killed run never leaves a stale lock."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "build.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockBusy(f"another `unionsearch index` is writing {self.dir}; try again when it ends") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def write_files(self, files: dict[str, str]) -> None:
        """Replace files kept beside the live index (each atomically)."""
        gen = self.live_generation()
        for name, text in files.items():
            write_atomic(gen / name, text)

    def read_file(self, name: str) -> str | None:
        """A file kept beside the live index (e.g. the manifest), or None."""
        gen = self.current_generation()
        try:
            return (gen / name).read_text(encoding="utf-8") if gen else None
        except OSError:
            return None

    def build(self, records: Iterable[SectionRecord], meta: dict | None = None) -> int:
        """Write a complete new generation from ``records`` and make it live. Returns sections written."""
        with self.lock():
            gen = self.new_generation()
            try:
                sink = self.sink(gen, limitmb=256)
                sink.add(records)
                files = {"META.json": json.dumps(meta, ensure_ascii=False, indent=1)} if meta is not None else {}
                self.commit_generation(gen, [sink.finish()], files)
            except BaseException:
                self.discard_generation(gen)
                raise
        return sink.count

    # supplied by the backend
    def lock(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def current_generation(self) -> Path | None:
        raise NotImplementedError

    def live_generation(self) -> Path:
        raise NotImplementedError

    def new_generation(self) -> Path:
        raise NotImplementedError

    def sink(self, gen: str | Path, limitmb: int = 128) -> Sink:
        raise NotImplementedError

    def commit_generation(self, gen: Path, parts: list, files: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def discard_generation(self, gen: Path) -> None:
        raise NotImplementedError
