"""A posting pool that groups postings by term: part of the Whoosh backend (used by writers.py).

Whoosh's ``PostingPool`` keeps every posting as a tuple ``(field, term, docnum, weight, value)``, sorts the
tuples, and past ``limitmb`` pickles them one by one into run files that a heap merges back, posting by
posting. Profiled on a 300-page build that was a third of the writer's CPU (pickle dump and load, the heap
merge and the sort, ≈ 9 of 25 s) and most of its memory (≈ 220 bytes a posting). Postings arrive in
document order, so grouping them by term keeps each term's postings sorted already: only the terms need
sorting, a run is written one pickle per term, and runs are merged term by term. The postings handed to
the codec are the same, in the same order (tests/test_whoosh_pool.py checks this against Whoosh's pool).
"""

from __future__ import annotations

import heapq
import pickle
from collections.abc import Iterator
from typing import Any

from indexer.backends.whoosh.codec import CompactPostingsWriter

Key = tuple[str, bytes]  # (field name, term bytes)
Posting = tuple[str, bytes, int, float, Any]  # what Whoosh's writers add and its field writer reads

_TERM_BYTES = 120  # estimated memory of a new term's entry (key tuple, bytes, three lists)
_POSTING_BYTES = 56  # estimated memory of one more posting (three list slots, a float, a value's header)


class GroupedPool:
    """Drop-in for ``whoosh.writing.PostingPool`` (``add``, ``iter_postings``, ``cleanup``, ``fieldnames``)."""

    def __init__(self, tempstore, limitmb: int = 128):
        self.tempstore = tempstore
        self.limit = limitmb * 1024 * 1024
        self.fieldnames: set[str] = set()
        self._terms: dict[Key, tuple[list, list, list]] = {}
        self._size = 0
        self._runs: list[str] = []

    def add(self, item: Posting) -> None:
        fieldname, tbytes, docnum, weight, value = item
        key = (fieldname, tbytes)
        entry = self._terms.get(key)
        if entry is None:
            entry = self._terms[key] = ([], [], [])
            self.fieldnames.add(fieldname)
            self._size += _TERM_BYTES + len(tbytes)
        entry[0].append(docnum)
        entry[1].append(weight)
        entry[2].append(value)
        self._size += _POSTING_BYTES + (len(value) if value else 0)
        if self._size > self.limit:
            self._spill()

    def add_terms(self, fieldname: str, docnum: int, items, boost: float, scorable: bool) -> int:
        """One field of one document: ``items`` as its format gives them, (term bytes, frequency, weight,
        value); each weight times ``boost``, as Whoosh's writer does. Returns the field's length."""
        terms, length, size = self._terms, 0, 0
        for tbytes, freq, weight, value in items:
            if scorable:
                length += freq
            entry = terms.get((fieldname, tbytes))
            if entry is None:
                entry = terms[(fieldname, tbytes)] = ([], [], [])
                size += _TERM_BYTES + len(tbytes)
            entry[0].append(docnum)
            entry[1].append(weight * boost)
            entry[2].append(value)
            size += _POSTING_BYTES + (len(value) if value else 0)
        if size:
            self.fieldnames.add(fieldname)
            self._size += size
            if self._size > self.limit:
                self._spill()
        return length

    def _sorted_entries(self) -> Iterator[tuple[Key, tuple[list, list, list]]]:
        terms = self._terms
        for key in sorted(terms):
            docnums, weights, values = terms[key]
            if any(a > b for a, b in zip(docnums, docnums[1:], strict=False)):  # only if a caller added out of order
                order = sorted(range(len(docnums)), key=docnums.__getitem__)
                docnums, weights, values = ([seq[i] for i in order] for seq in (docnums, weights, values))
            yield key, (docnums, weights, values)

    def _spill(self) -> None:
        """Write the pool's terms, sorted, to a run file: one pickle per term."""
        name = f"grouped-{len(self._runs)}-{id(self):x}.run"
        file = self.tempstore.create_file(name)
        raw = file.raw_file()
        for item in self._sorted_entries():
            pickle.dump(item, raw, pickle.HIGHEST_PROTOCOL)
        file.close()  # the storage's file, not the raw one: an in-memory storage keeps the bytes on this close
        self._runs.append(name)
        self._terms = {}
        self._size = 0

    def _read_run(self, name: str) -> Iterator[tuple[Key, tuple[list, list, list]]]:
        file = self.tempstore.open_file(name)
        raw = file.raw_file()
        try:
            while True:
                try:
                    yield pickle.load(raw)
                except EOFError:
                    return
        finally:
            file.close()

    def _grouped(self) -> Iterator[tuple[Key, tuple[list, list, list]]]:
        if not self._runs:
            yield from self._sorted_entries()
            return
        self._spill()
        runs = [self._read_run(name) for name in self._runs]
        # heapq.merge keeps the runs' order among equal keys: earlier runs hold the lower document numbers
        merged = heapq.merge(*runs, key=lambda item: item[0])
        current: Key | None = None
        parts: list[tuple[list, list, list]] = []
        for key, entry in merged:
            if key != current and parts:
                yield current, _concat(parts)  # type: ignore[misc]
                parts = []
            current = key
            parts.append(entry)
        if parts:
            yield current, _concat(parts)  # type: ignore[misc]

    def iter_postings(self) -> Iterator[Posting]:
        for (fieldname, tbytes), (docnums, weights, values) in self._grouped():
            for docnum, weight, value in zip(docnums, weights, values, strict=True):
                yield fieldname, tbytes, docnum, weight, value

    def write_to(self, fieldwriter, schema, lengths) -> None:
        """What Whoosh's ``FieldWriter.add_postings`` does with ``iter_postings()``, a term at a time: each
        term's postings go to the codec's postings writer in one call (codec.py ``add_many``), and a field's
        lengths are read once per document rather than once per posting."""
        current = None
        doc_lengths: list[int] | None = None
        for (fieldname, tbytes), (docnums, weights, values) in self._grouped():
            if fieldname != current:
                if current is not None:
                    fieldwriter.finish_field()
                field = schema[fieldname]
                fieldwriter.start_field(fieldname, field)
                current = fieldname
                doc_lengths = _field_lengths(lengths, fieldname) if lengths is not None and field.scorable else None
            fieldwriter.start_term(tbytes)
            sizes = [doc_lengths[d] for d in docnums] if doc_lengths is not None else None
            values = [v or b"" for v in values]
            if isinstance(fieldwriter._postwriter, CompactPostingsWriter):
                fieldwriter._postwriter.add_many(docnums, weights, values, sizes)
            else:  # Whoosh's own codec (tests compare layouts with it)
                for i, docnum in enumerate(docnums):
                    fieldwriter.add(docnum, weights[i], values[i], sizes[i] if sizes else 0)
            fieldwriter.finish_term()
        if current is not None:
            fieldwriter.finish_field()

    def cleanup(self) -> None:
        for name in self._runs:
            try:
                self.tempstore.delete_file(name)
            except OSError:
                pass
        self._runs = []
        self._terms = {}


def _field_lengths(lengths, fieldname: str) -> list[int]:
    """The field's length in every document of the segment being written (its per-document reader)."""
    return [lengths.doc_field_length(d, fieldname, 0) for d in range(lengths.doc_count_all())]


def _concat(parts: list[tuple[list, list, list]]) -> tuple[list, list, list]:
    if len(parts) == 1:
        return parts[0]
    return tuple([x for part in parts for x in part[i]] for i in range(3))  # type: ignore[return-value]
