"""Writing a Whoosh index: segment sinks for worker processes and the writer that commits their segments.
Whoosh's own multiprocessing writer pickles every document to its workers; ours have each worker analyse and
write a whole segment, and the parent adds the finished segments in one commit."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.writing import SegmentWriter

from indexer.analysis import Analyzer
from indexer.backends.whoosh.codec import CompactCodec
from indexer.backends.whoosh.pool import GroupedPool
from indexer.backends.whoosh.schema import bind, fields_of
from indexer.model import SectionRecord


class SegmentSink:
    """Writes sections into one new segment of an index folder without taking its lock (the process that
    commits holds it). Used in worker processes: each worker analyses and writes its own segment, and the
    parent adds the finished segments to the index in one commit (Whoosh's multi-segment MpWriter scheme)."""

    def __init__(self, gen: str | Path, analyzer: Analyzer, limitmb: int = 128):
        ix = _PrivateTempStorage(str(gen)).open_index()
        self._writer = _Writer(ix, _lk=False, limitmb=limitmb)
        bind(self._writer.schema, analyzer)
        self.count = 0

    def add(self, records: Iterable[SectionRecord]) -> None:
        add = self._writer.add_document
        for record in records:
            add(**fields_of(record))
            self.count += 1

    def finish(self):
        """Close the segment; returns a picklable handle for commit_generation/commit_update (or None)."""
        w = self._writer
        if not w._added:
            w._close_segment()
            w._finish()
            return None
        segment = w._finalize_segment()
        w._finish()
        return segment

    def cancel(self) -> None:
        if not self._writer.is_closed:
            self._writer.cancel()


class _PrivateTempStorage(FileStorage):
    """Whoosh names a writer's scratch folder after the index ("MAIN.tmp") and deletes it when the writer
    finishes; sinks writing the same folder in parallel would delete each other's scratch files. Each sink
    gets its own: one name per storage object, because Whoosh asks twice (writer and per-document writer)
    and deletes the folder once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._scratch = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def temp_storage(self, name=None):
        return super().temp_storage(f"{name or 'scratch'}-{self._scratch}.tmp")


class _Writer(SegmentWriter):
    """Whoosh's segment writer with our codec (compact positions: codec.py), writing separate
    files rather than a compound one: whoosh-reloaded copies a compound segment's postings into memory for every
    searcher it opens (~140 MB per thread at 10,000 pages); separate files are read in place."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, codec=CompactCodec(), compound=False, **kwargs)
        self.pool = GroupedPool(self._tempstorage, kwargs.get("limitmb", 128))  # pool.py: a third of the CPU
        self._special = any(f.vector or f.separate_spelling() for _, f in self.schema.items())

    def add_document(self, **fields):
        """Whoosh's, with a field's postings added to the pool in one call (GroupedPool.add_terms) rather than
        a tuple and a call each; schemas with term vectors or separate spelling fields take Whoosh's own."""
        if self._special:
            return super().add_document(**fields)
        self._check_state()
        perdocwriter, schema, docnum = self.perdocwriter, self.schema, self.docnum
        docboost = self._doc_boost(fields)
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        perdocwriter.start_doc(docnum)
        try:
            for name in names:
                value = fields.get(name)
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    length = self.pool.add_terms(name, docnum, field.index(value),
                                                 self._field_boost(fields, name, docboost), field.scorable)
                stored = fields.get(f"_stored_{name}", value)
                perdocwriter.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdocwriter.add_column_value(name, field.column_type, field.to_column_value(stored))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        """Whoosh's, with the pool writing its terms straight to the field writer (pool.py ``write_to``)."""
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None
        self.pool.write_to(self.fieldwriter, self.schema, lengths)
        self.fieldwriter.close()
        if lengths is not None:
            lengths.close()


class MultiSegmentWriter(_Writer):
    """A SegmentWriter whose commit also adds segments finished by SegmentSinks."""

    def commit_with(self, segments: list, merge: bool = True) -> None:
        self._check_state()
        final = self._merge_segments(None, None, merge)
        final += list(segments)
        if self._added:
            final.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(final)
        self._finish()
