"""The Whoosh backend's store: generations, commits and searching. The schema is in schema.py, segment writers
in writers.py, query rendering in render.py, compact postings in codec.py and the numpy query evaluator in
arrays.py; only this package imports Whoosh.

Layout on disk (``index_dir``)::

    CURRENT          name of the live generation (replaced atomically with os.replace)
    gen-<stamp>/     one complete Whoosh index per generation
    build.lock       held while a writer runs

A full build writes a new generation beside the live one and then flips CURRENT, so searches never see a
half-built index. Each thread keeps one searcher and refreshes it when the index changed.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from whoosh import index as wi
from whoosh import query as wq
from whoosh import scoring, sorting

from indexer import analysis
from indexer.backends.base import (
    COUNT_EXACT,
    FIELD_BOOSTS,
    GenerationFiles,
    IndexIncompatible,
    IndexMissing,
    RawHit,
    RawResult,
    write_atomic,
)
from indexer.backends.whoosh import arrays, render
from indexer.backends.whoosh.schema import (
    FORMAT_VERSION,
    bind,
    fields_of,
    load_record,
    make_schema,
    record_of,
    unpack_hit_key,
)
from indexer.backends.whoosh.writers import MultiSegmentWriter, SegmentSink
from indexer.model import SectionRecord
from indexer.query import ParsedQuery, Unit

FACET_FIELDS = {"year": "year_key", "site": "site", "org_type": "org_type"}


def _hit_keys(searcher):
    """The hit_key column reader of a searcher, made once: making one reads the column's whole offset table
    (≈ 1.7 ms a query at 1,000 pages). Searchers live per thread and per generation, so the reader does too."""
    keys = getattr(searcher, "_unionsearch_hit_keys", None)
    if keys is None:
        keys = searcher._unionsearch_hit_keys = searcher.reader().column_reader("hit_key")
    return keys


def _facet_values(searcher, docnum: int) -> dict[str, str]:
    """A section's facet values from the cached column arrays (not its stored record)."""
    return arrays.facet_values(searcher, docnum, FACET_FIELDS)


class WhooshStore(GenerationFiles):
    """An index folder: build, update and search it (the ``Backend`` of indexer/backends/base.py)."""

    format_version = FORMAT_VERSION

    def __init__(self, index_dir: str | Path, analyzer: analysis.Analyzer):
        self.dir = Path(index_dir)
        self.analyzer = analyzer
        self._local = threading.local()

    # ---- generations -------------------------------------------------------------------------
    def current_generation(self) -> Path | None:
        try:
            name = (self.dir / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        gen = self.dir / name
        return gen if name and gen.is_dir() else None

    def exists(self) -> bool:
        return self.current_generation() is not None

    def _open(self) -> wi.Index:
        gen = self.current_generation()
        if gen is None:
            raise IndexMissing(f"no index in {self.dir}; run `unionsearch index` first")
        version = (gen / "FORMAT").read_text().strip() if (gen / "FORMAT").exists() else ""
        if version != FORMAT_VERSION:
            raise IndexIncompatible(f"the index in {self.dir} has an old format; run `unionsearch index --full`")
        try:
            ix = wi.open_dir(str(gen))
        except Exception as e:  # Whoosh raises many types on a damaged or foreign index
            raise IndexIncompatible(f"cannot open the index in {gen}: {e}; run `unionsearch index --full`") from None
        bind(ix.schema, self.analyzer)
        return ix

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time across processes (see GenerationFiles.write_lock)."""
        with self.write_lock():
            yield

    # ---- writing (callers hold lock()) -------------------------------------------------------
    def new_generation(self) -> Path:
        """An empty index folder beside the live one; nothing reads it until commit_generation()."""
        self.dir.mkdir(parents=True, exist_ok=True)
        gen = self.dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        gen.mkdir()
        wi.create_in(str(gen), make_schema(self.analyzer))
        (gen / "FORMAT").write_text(FORMAT_VERSION)
        return gen

    def live_generation(self) -> Path:
        """The live generation, checked for format (raises IndexMissing / IndexIncompatible)."""
        self._open()
        gen = self.current_generation()
        if gen is None:  # removed between the two reads
            raise IndexMissing(f"no index in {self.dir}")
        return gen

    def sink(self, gen: str | Path, limitmb: int = 128) -> SegmentSink:
        """A writer of one new segment in ``gen``; safe to use in a worker process, several at once."""
        return SegmentSink(gen, self.analyzer, limitmb)

    def commit_generation(self, gen: Path, parts: list, files: dict[str, str] | None = None) -> None:
        """Make the segments written by sinks into ``gen`` its index, write ``files`` into it, and flip
        CURRENT to it. Until the flip, searches keep using the old generation."""
        ix = wi.open_dir(str(gen))
        writer = MultiSegmentWriter(ix)
        try:
            writer.commit_with([p for p in parts if p is not None], merge=False)
        except BaseException:
            writer.cancel()
            raise
        for name, text in (files or {}).items():
            write_atomic(gen / name, text)
        self._flip(gen)

    def discard_generation(self, gen: Path) -> None:
        if gen != self.current_generation():
            shutil.rmtree(gen, ignore_errors=True)

    def commit_update(self, parts: list, delete_sources: Iterable[str], files: dict[str, str] | None = None,
                      add: Iterable[SectionRecord] = ()) -> int:
        """One Whoosh transaction on the live generation: delete the sections of ``delete_sources``, add
        ``add`` and the sink segments ``parts`` (written into live_generation()), then write ``files``.
        Readers see the old or the new index, never a mix. Returns the number of sections deleted."""
        ix = self._open()
        writer = MultiSegmentWriter(ix, limitmb=128)
        bind(writer.schema, self.analyzer)
        try:
            deleted = sum(writer.delete_by_term("source", source) for source in delete_sources)
            for record in add:
                writer.add_document(**fields_of(record))
            writer.commit_with([p for p in parts if p is not None])
        except BaseException:
            writer.cancel()
            raise
        gen = self.live_generation()
        for name, text in (files or {}).items():
            write_atomic(gen / name, text)
        return deleted

    def remove_unfinished(self) -> list[str]:
        """Delete generations a killed full build left behind: not live and never committed (a committed
        generation has its META.json). Call with the lock held. Returns their names."""
        live = self.current_generation()
        removed = []
        for p in self.dir.glob("gen-*"):
            if p != live and p.is_dir() and not (p / "META.json").exists():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
        return removed

    def _flip(self, gen: Path) -> None:
        old = self.current_generation()
        tmp = self.dir / f"CURRENT.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(gen.name)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / "CURRENT")
        # Keep the previous generation for searchers still reading it; drop older ones (and any half-built
        # generation a killed run left behind).
        keep = {gen.name, old.name if old else ""}
        for p in self.dir.glob("gen-*"):
            if p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)

    def update(self, add: Iterable[SectionRecord], delete_sources: Iterable[str]) -> int:
        """Replace/remove the sections of some pages in one Whoosh transaction. Returns sections added."""
        records = list(add)
        with self.lock():
            self.commit_update([], delete_sources, add=records)
        return len(records)

    # ---- reading -----------------------------------------------------------------------------
    @contextmanager
    def searcher(self):
        """This thread's searcher, refreshed if the index changed (never one per request)."""
        local = self._local
        gen = self.current_generation()
        s = getattr(local, "searcher", None)
        # A changed index gets a new searcher, not Searcher.refresh(): whoosh-reloaded 2.7.5 reuses a segment's
        # reader by segment id, so it misses deletions committed to that segment (an incremental update)
        # and keeps segments a merge removed.
        if s is None or local.gen != gen or not s.up_to_date():
            # The old searcher is not closed here: hits of a request in progress may still read their records
            # from it. It is closed at this thread's next change of index, when no request can hold it.
            retired = getattr(local, "retired", None)
            if retired is not None:
                retired.close()
            local.retired = s
            ix = self._open()
            s = ix.searcher(weighting=scoring.BM25F(B=0.75, K1=1.2))
            local.searcher, local.gen = s, gen
        yield s

    def check(self) -> int:
        """The number of sections searchable now (raises IndexMissing / IndexIncompatible)."""
        with self.searcher() as s:
            return s.doc_count()

    def close(self) -> None:
        """Close this thread's searchers (other threads' close with the store)."""
        local = self._local
        for name in ("retired", "searcher"):
            s = getattr(local, name, None)
            if s is not None:
                s.close()
                setattr(local, name, None)
        local.gen = None

    def version(self) -> tuple[str, str, int]:
        """What identifies the index's content now (folder, generation, Whoosh commit): equal versions give
        equal answers, so search() may reuse one."""
        with self.searcher() as s:
            return str(self.dir), self._local.gen.name, s.reader().generation()


    def search(self, pq: ParsedQuery, limit: int, *, any_match: bool = False, sort: str = "relevance",
               facets: bool = True, filters: dict[str, str] | None = None) -> RawResult:
        filter_q = None
        if filters:
            filter_q = wq.And([wq.Term("year_key" if k == "year" else k, str(v)) for k, v in filters.items()])
        kwargs: dict = dict(limit=max(1, limit), filter=filter_q)
        if sort == "date":
            kwargs.update(sortedby=[sorting.FieldFacet("date", reverse=True), sorting.ScoreFacet()])
        with self.searcher() as s:
            back_off = [u for c in pq.must for u in c.alternatives if u.loose and not self._matches_any(s, u)] \
                if any_match else []
            reader = s.reader()
            sections = max(1, reader.doc_count())
            q = render.to_whoosh(pq, any_match, lambda t: reader.doc_frequency("text", t) / sections)
            if q is wq.NullQuery:
                return RawResult(0, [])
            backed_off = [(u.raw, u.loose) for u in back_off]
            if sort == "relevance":
                fast = self._search_arrays(s, q, filter_q, limit, facets)
                if fast is not None:
                    fast.backed_off = backed_off
                    return fast
            # No groupedby here: with it, whoosh-reloaded returns (and scores) every match, not the top `limit`.
            results = s.search(q, **kwargs)
            # terms=True would give each hit's matched words, but with it len(results) ignores the filter (a
            # whoosh-reloaded bug); search() derives the words to mark from the query instead.
            keys = _hit_keys(s)
            hits = []
            for h in results:
                id_, doc_id, duplicate_of, sketch = unpack_hit_key(keys[h.docnum])
                hits.append(RawHit(id_, doc_id, duplicate_of, h.score if isinstance(h.score, float) else 0.0,
                                   sketch=sketch, load=functools.partial(load_record, s, h.docnum),
                                   facets=functools.partial(_facet_values, s, h.docnum)))
            if not facets:
                return RawResult(len(results), hits, {}, backed_off=backed_off)
            total, documents, counts, estimated = self._facet_counts(s, q, filter_q)
            return RawResult(total, hits, counts, estimated=estimated, backed_off=backed_off, documents=documents)

    def _matches_any(self, s, unit: Unit) -> bool:
        """Whether some section holds the word (itself, its text or its parts): else it backs off."""
        q = render.unit_query(unit, FIELD_BOOSTS)
        try:
            return bool(len(arrays.match(s, q)[0].docnums))
        except arrays.Unsupported:
            return not s.search(q, limit=1).is_empty()

    @staticmethod
    def _search_arrays(s, q: wq.Query, filter_q: wq.Query | None, limit: int, facets: bool) -> RawResult | None:
        """The same search on whole posting lists (indexer/arrays.py): the same hits and scores, an
        exact total and exact facet counts. None when the query has a part only Whoosh evaluates (a phrase in
        the required part, a year range, the any-word relaxation)."""
        try:
            matches, optional = arrays.match(s, q, filter_q)
        except arrays.Unsupported:
            return None
        keys = _hit_keys(s)
        hits = []
        for docnum, score in arrays.top(s, matches, max(1, limit), optional):
            id_, doc_id, duplicate_of, sketch = unpack_hit_key(keys[docnum])
            hits.append(RawHit(id_, doc_id, duplicate_of, score, sketch=sketch,
                               load=functools.partial(load_record, s, docnum),
                               facets=functools.partial(_facet_values, s, docnum)))
        documents, counts = arrays.count_matches(s, matches.docnums, FACET_FIELDS if facets else {})
        # A capped phrase check leaves out sections that hold a long word's parts near each other beyond the best
        # scored: the total says 约.
        return RawResult(len(matches.docnums), hits, counts, documents=documents, estimated=matches.capped)

    @staticmethod
    def _facet_counts(s, q: wq.Query, filter_q: wq.Query | None) -> tuple[int, int, dict[str, dict[str, int]], bool]:
        """The number of matching sections, of their documents, and the documents per year/site/organisation
        type, in one unscored pass over the matching sections and the column files (no stored fields are
        read; it also spares Whoosh's own counting pass). Exact up to COUNT_EXACT matches; past that (a broad
        word in a large archive) the walk stops, and the figures are scaled by the share of the index it
        covered (sections are in indexing order, unrelated to what they say)."""
        if isinstance(q, wq.AndMaybe):
            q = q.a  # the optional part (proximity) only scores: it cannot change which sections match
        docs = render.matches(q, s)
        if filter_q is not None:
            allowed = set(s.docs_for_query(filter_q))
            docs = (d for d in docs if d in allowed)
        first = list(itertools.islice(docs, COUNT_EXACT))
        sections = len(first)
        documents, tallies = arrays.count_matches(s, np.array(first, dtype=np.int64), FACET_FIELDS)
        estimated = sections >= COUNT_EXACT and next(iter(docs), None) is not None
        if estimated:
            scale = max(1.0, s.reader().doc_count_all() / (first[-1] + 1))
            sections, documents = max(sections + 1, round(sections * scale)), round(documents * scale)
            tallies = {name: {k: round(v * scale) for k, v in t.items()} for name, t in tallies.items()}
        return sections, documents, tallies, estimated

    def document(self, doc_id: str) -> list[SectionRecord]:
        """The sections of one document, in order ([] if the id is unknown)."""
        with self.searcher() as s:
            found = s.search(wq.Term("doc_id", doc_id), limit=None, sortedby="section_index")
            return [record_of(h.fields()) for h in found]

    def section(self, section_id: str) -> SectionRecord | None:
        doc_id = section_id.rpartition(".")[0]
        return next((r for r in self.document(doc_id) if r.id == section_id), None) if doc_id else None

    def documents(self) -> Iterator[list[SectionRecord]]:
        """Every live document's sections, in one pass over the stored records: a document's sections are written
        together, so they come one after another (a run of one doc_id is one document)."""
        with self.searcher() as s:
            current: list[SectionRecord] = []
            for stored in s.all_stored_fields():
                record = record_of(stored)
                if current and record.doc_id != current[0].doc_id:
                    yield sorted(current, key=lambda r: r.section_index)
                    current = []
                current.append(record)
            if current:
                yield sorted(current, key=lambda r: r.section_index)

    def sources(self) -> dict[str, int]:
        """Every indexed page and how many sections it has."""
        out: dict[str, int] = {}
        with self.searcher() as s:
            for stored in s.all_stored_fields():
                source = record_of(stored).source
                out[source] = out.get(source, 0) + 1
        return out

    def vocabulary(self, fieldname: str = "text") -> Iterator[tuple[str, int]]:
        """(term, document frequency) in term order. Summed segment by segment: Whoosh's multi-segment reader
        merges the segments' term lists and their term infos in Python, ~9x slower (3.2 s at 100k pages)."""
        counts: dict[str, int] = {}
        with self.searcher() as s:
            reader = s.reader()
            leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
            for leaf, _ in leaves:
                for term, df in arrays.term_frequencies(leaf, fieldname):
                    text = term.decode("utf-8") if isinstance(term, bytes) else term
                    counts[text] = counts.get(text, 0) + df
        yield from sorted(counts.items())

    def stats(self) -> dict:
        """Index figures; pages and documents come from META.json (written by the indexer) when present."""
        gen = self.current_generation()
        if gen is None:
            return {"exists": False}
        size = sum(p.stat().st_size for p in gen.rglob("*") if p.is_file() and not p.name.endswith(".json"))
        meta = {}
        if (gen / "META.json").exists():
            meta = json.loads((gen / "META.json").read_text(encoding="utf-8"))
        with self.searcher() as s:
            reader = s.reader()
            sections = s.doc_count()
            if "indexed_pages" in meta:
                pages, documents = meta["indexed_pages"], meta["documents"]
            else:
                docs = {record_of(f).doc_id for f in s.all_stored_fields()}
                pages, documents = len({d.rsplit("-", 1)[0] for d in docs}), len(docs)
            terms = sum(1 for _ in reader.lexicon("text"))
            segments = len(reader.leaf_readers()) if hasattr(reader, "leaf_readers") else 1
        return {"exists": True, "generation": gen.name, "pages": pages, "documents": documents,
                "sections": sections, "terms": terms, "size_bytes": size, "segments": segments,
                "built": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(gen.stat().st_mtime)), **meta}

