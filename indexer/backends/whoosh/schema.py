"""The Whoosh index's schema: fields, the jieba tokenizers, and how a SectionRecord becomes a Whoosh document
(and back). The tokenizers are pickled into the schema at a stable import path; they hold their analyser only
in memory (bound with ``bind``), never in the pickle."""

from __future__ import annotations

import dataclasses
import hashlib

from whoosh import analysis as wa
from whoosh import fields as wf

from indexer import analysis
from indexer.backends.base import IndexIncompatible, site_keys
from indexer.backends.whoosh.codec import GramSet, VarintPositions
from indexer.model import SectionRecord
from indexer.sketch import make_sketch

# The stored record is a tuple in SectionRecord's field order: the layout is part of the format, so an index
# written with other fields is refused (and rebuilt by `unionsearch index`) rather than read into wrong fields.
RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(SectionRecord))
# 8: each posting list ends with a trailer numpy reads whole (codec.py)
FORMAT_VERSION = "8-" + hashlib.sha1(",".join(RECORD_FIELDS).encode()).hexdigest()[:8]

_CACHE_MAX_CHARS = 100
_CACHE_SIZE = 20_000


class _TokenStream(wa.Tokenizer):
    """A Whoosh tokenizer over our analyser. ``analyzer`` is bound after the schema is unpickled (``bind``)."""

    analyzer: analysis.Analyzer | None = None

    def __getstate__(self) -> dict:
        return {"analyzer": None}  # the analyser (jieba, dictionaries) is the store's, not the index's

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _analyzer(self) -> analysis.Analyzer:
        if self.analyzer is None:
            raise RuntimeError("a Whoosh tokenizer was used before the store bound its analyser (schema.bind)")
        return self.analyzer

    def _tokens(self, value: str, mode: str):
        raise NotImplementedError

    def positions_of(self, value: str) -> dict[str, list[int]]:
        """term → positions of an indexed value (VarintPositions.word_values, bypassing Whoosh's tokens)."""
        out: dict[str, list[int]] = {}
        for tok in self._tokens(value, "index"):
            out.setdefault(tok.text, []).append(tok.pos)
        return out

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = wa.Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for tok in self._tokens(value, mode or "index"):
            t.text = tok.text
            t.boost = 1.0
            if keeporiginal:
                t.original = value[tok.start:tok.end]
            t.stopped = False
            if positions:
                t.pos = start_pos + tok.pos
            if chars:
                t.startchar, t.endchar = start_char + tok.start, start_char + tok.end
            yield t



class WordTokenizer(_TokenStream):
    """jieba words via indexer.analysis (positions in word order, sub-words stacked)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], list] = {}  # short values → tokens

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache = {}

    def _tokens(self, value, mode):
        mode = "query" if mode == "query" else "index"
        if len(value) > _CACHE_MAX_CHARS:
            return self._analyzer().tokens(value, mode)
        # Titles repeat on every section of a document, headings and queries repeat too: analyse them once.
        key = (value, mode)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            found = self._cache[key] = self._analyzer().tokens(value, mode)
        return found


class GramTokenizer(_TokenStream):
    """The distinct character bigrams of a value's literal key (heading + text): the ``grams`` field, through
    which a word's text is found where jieba cut it otherwise (arrays.LiteralQuery)."""

    def grams_of(self, value: str) -> list[str]:
        return analysis.grams(analysis.literal_key(value))

    def _tokens(self, value, mode):
        return [analysis.Token(g, i, 0, 0) for i, g in enumerate(self.grams_of(value))]


def _text(analyzer) -> wf.TEXT:
    field = wf.TEXT(analyzer=analyzer)
    field.format = VarintPositions(field_boost=field.format.field_boost)
    return field


def make_schema(analyzer: analysis.Analyzer | None = None) -> wf.Schema:
    words = WordTokenizer()
    schema = wf.Schema(
        # The whole SectionRecord, as one stored tuple (RECORD_FIELDS order): one pickle per section without
        # a dict's field names, compressed together.
        record=wf.STORED(),
        doc_id=wf.ID(),
        source=wf.ID(),
        section_index=wf.NUMERIC(sortable=True),
        page_title=_text(words),
        document=_text(words),
        heading=_text(words),
        text=_text(words),
        grams=wf.FieldType(GramSet(), GramTokenizer(), scorable=False),
        date=wf.ID(sortable=True),
        year=wf.NUMERIC(sortable=True),
        year_key=wf.ID(sortable=True),  # the year as text, for facet counts ("" when unknown)
        site=wf.ID(sortable=True),
        site_keys=wf.KEYWORD(),
        org_type=wf.ID(sortable=True),
        # What collapse and grouping need of every fetched hit, in one column read (not the stored record)
        hit_key=wf.COLUMN(wf.columns.VarBytesColumn()),
    )
    return bind(schema, analyzer) if analyzer is not None else schema


def bind(schema: wf.Schema, analyzer: analysis.Analyzer) -> wf.Schema:
    """Give the schema's tokenizers the store's analyser (after Whoosh unpickled the schema from the index)."""
    seen: set[int] = set()
    for name in schema.names():
        tokenizer = getattr(schema[name], "analyzer", None)
        if isinstance(tokenizer, _TokenStream) and id(tokenizer) not in seen:
            seen.add(id(tokenizer))
            if tokenizer.analyzer is not analyzer:
                tokenizer.analyzer = analyzer
                if isinstance(tokenizer, WordTokenizer):
                    tokenizer._cache.clear()
    return schema


def pack_hit_key(record: SectionRecord) -> bytes:
    """id, doc_id, duplicate_of (length-prefixed UTF-8) and the near-copy sketch, for the hit_key column."""
    parts = [x.encode("utf-8") for x in (record.id, record.doc_id, record.duplicate_of or "")]
    return b"".join(len(x).to_bytes(2, "little") + x for x in parts) + make_sketch(record.text)


def unpack_hit_key(data: bytes) -> tuple[str, str, str | None, bytes]:
    out, i = [], 0
    for _ in range(3):
        n = int.from_bytes(data[i:i + 2], "little")
        out.append(data[i + 2:i + 2 + n].decode("utf-8"))
        i += 2 + n
    return out[0], out[1], out[2] or None, data[i:]


def record_of(stored: dict) -> SectionRecord:
    values = stored["record"]
    if len(values) != len(RECORD_FIELDS):
        raise IndexIncompatible("the index stores sections in another layout; run `unionsearch index --full`")
    return SectionRecord(*values)


def load_record(searcher, docnum: int) -> SectionRecord:
    return record_of(searcher.stored_fields(docnum))


def fields_of(record: SectionRecord) -> dict:
    """A section as the Whoosh document of this schema."""
    return dict(
        record=tuple(getattr(record, name) for name in RECORD_FIELDS), doc_id=record.doc_id,
        source=record.source, section_index=record.section_index, page_title=record.page_title,
        document=record.document, heading=record.heading, text=record.text,
        grams="\n".join((record.heading, record.text)),
        date=record.date or "", year=record.year, year_key=str(record.year or ""), site=record.site or "",
        site_keys=site_keys(record.site), org_type=record.org_type or "", hit_key=pack_hit_key(record),
    )
