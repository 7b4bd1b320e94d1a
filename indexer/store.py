"""The Whoosh backend: schema, writers and searchers. The only module that imports Whoosh (with
whoosh_arrays.py, its numpy query evaluator, and whoosh_codec.py, its compact postings).

Layout on disk (``index_dir``)::

    CURRENT          name of the live generation (replaced atomically with os.replace)
    gen-<stamp>/     one complete Whoosh index per generation
    build.lock       held while a writer runs

A full build writes a new generation beside the live one and then flips CURRENT, so searches never see a
half-built index. Each thread keeps one searcher and refreshes it when the index changed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import analysis as wa
from whoosh import fields as wf
from whoosh import index as wi
from whoosh import query as wq
from whoosh import scoring, sorting
from whoosh.filedb.filestore import FileStorage
from whoosh.matching import DisjunctionMaxMatcher, NullMatcher
from whoosh.reading import TermNotFound
from whoosh.writing import SegmentWriter

from indexer import analysis, whoosh_arrays
from indexer.model import SectionRecord
from indexer.query import LITERAL_WEIGHT, LOOSE_WEIGHT, PARTS_WEIGHT, ParsedQuery, Unit
from indexer.sketch import Sketch, make_sketch
from indexer.whoosh_arrays import LiteralQuery
from indexer.whoosh_codec import CompactCodec, GramSet, VarintPositions

# The stored record is a tuple in SectionRecord's field order: the layout is part of the format, so an index
# written with other fields is refused (and rebuilt by `unionsearch index`) rather than read into wrong fields.
RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(SectionRecord))
FORMAT_VERSION = "6-" + hashlib.sha1(",".join(RECORD_FIELDS).encode()).hexdigest()[:8]
# Field boosts (BM25F): a word in a heading says more about a section than the same word in its body.
FIELD_BOOSTS = {"text": 1.0, "heading": 2.0, "document": 1.2, "page_title": 0.6}
PROXIMITY_SLOP, PROXIMITY_BOOST = 8, 0.25
PARTS_SLOP = 8  # a long word's parts count where they stand in order, at most this many words apart
PARTS_FIELDS = ("text", "heading")
# Counting matches (for the total and the facets) walks every match in Python; past COUNT_EXACT matches the
# total is estimated from how far through the index the walk got, and the facet counts are scaled up.
COUNT_EXACT = 1000
FACET_FIELDS = {"year": "year_key", "site": "site", "org_type": "org_type"}
COVERAGE_BONUS = 0.9  # Whoosh's coordination bonus for any-word queries: more words matched ranks higher


class _BestOfMatcher(DisjunctionMaxMatcher):
    """Alternatives in order of preference: a section scores by the first alternative that matches it (the
    word itself before its parts, its text cut otherwise, its loose words), whatever the later ones would give.
    (whoosh-reloaded's DisjunctionMaxMatcher also took scores from another section, and its replace() dropped
    the remaining matches of one side once the other ran out.)"""

    def score(self):
        a, b = self.a, self.b
        if not a.is_active():
            return b.score()
        if not b.is_active():
            return a.score()
        return a.score() if a.id() <= b.id() else b.score()

    def replace(self, minquality=0):
        a, b = self.a, self.b
        if not a.is_active():
            return b.replace(minquality) if b.is_active() else NullMatcher()
        if not b.is_active():
            return a.replace(minquality)
        return self  # a quality floor cannot drop one side: the other's score may be the only one


class BestOf(wq.DisjunctionMax):
    """The ways one query word may match, best kind first: a section scores by the first that matches it, not
    the sum (it would count 职工之家 twice) nor the highest (a loose match in a long title would beat the word)."""

    def _matcher(self, subs, searcher, context):
        return self._tree_matcher(subs, _BestOfMatcher, searcher, context, None)  # a tree in the given order


def _leaf_matches(q: wq.Query, searcher) -> Iterator[int]:
    """The documents ``q`` matches in one leaf searcher, lazily. (Whoosh's own ``docs()`` makes an AND collect
    every id of both sides into sets first: all of a common word's postings, to count a rare word's matches.)"""
    try:
        m = q.matcher(searcher, searcher.boolean_context())
    except TermNotFound:
        return
    while m.is_active():
        yield m.id()
        m.next()


def _matches(q: wq.Query, searcher) -> Iterator[int]:
    """The documents ``q`` matches, in order, over every segment (global document numbers), lazily."""
    for sub, offset in searcher.leaf_searchers():
        for docnum in _leaf_matches(q, sub):
            yield docnum + offset


class IndexMissing(Exception):
    """No index at the configured place; run `unionsearch index` first."""


class IndexIncompatible(Exception):
    """The index was built by another version of unionsearch; rebuild it."""


# The analyser used by the tokenizers; set by Store. The tokenizers are pickled into the Whoosh schema, so
# they stay small and stateless at a stable import path (indexer.store.WordTokenizer).
_ANALYZER: analysis.Analyzer = analysis.Analyzer()


_TOKEN_CACHE: dict[tuple[str, str], list] = {}  # short values → tokens; cleared when the analyser changes
_CACHE_MAX_CHARS = 100
_CACHE_SIZE = 20_000


class _TokenStream(wa.Tokenizer):
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

    def _tokens(self, value, mode):
        mode = "query" if mode == "query" else "index"
        if len(value) > _CACHE_MAX_CHARS:
            return _ANALYZER.tokens(value, mode)
        # Titles repeat on every section of a document, headings and queries repeat too: analyse them once.
        key = (value, mode)
        found = _TOKEN_CACHE.get(key)
        if found is None:
            if len(_TOKEN_CACHE) >= _CACHE_SIZE:
                _TOKEN_CACHE.clear()
            found = _TOKEN_CACHE[key] = _ANALYZER.tokens(value, mode)
        return found


class GramTokenizer(_TokenStream):
    """The distinct character bigrams of a value's literal key (heading + text): the ``grams`` field, through
    which a word's text is found where jieba cut it otherwise (whoosh_arrays.LiteralQuery)."""

    def grams_of(self, value: str) -> list[str]:
        return analysis.grams(analysis.literal_key(value))

    def _tokens(self, value, mode):
        return [analysis.Token(g, i, 0, 0) for i, g in enumerate(self.grams_of(value))]


def _text(analyzer) -> wf.TEXT:
    field = wf.TEXT(analyzer=analyzer)
    field.format = VarintPositions(field_boost=field.format.field_boost)
    return field


def make_schema() -> wf.Schema:
    words = WordTokenizer()
    return wf.Schema(
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


def site_keys(site: str | None) -> str:
    """www.a.gov.cn → 'www.a.gov.cn a.gov.cn gov.cn' so site:a.gov.cn matches its hosts."""
    if not site:
        return ""
    parts = site.lower().split(".")
    return " ".join(".".join(parts[i:]) for i in range(len(parts) - 1))


class RawHit:
    """One match as a backend returns it. The keys that collapse and grouping need come first and cheaply;
    the stored record (the section's whole text) is read only for the hits that are shown."""

    __slots__ = ("id", "doc_id", "duplicate_of", "score", "terms", "_sketch", "_record", "_load")

    def __init__(self, id: str, doc_id: str, duplicate_of: str | None, score: float, terms: Iterable[str] = (),
                 sketch: bytes | None = None, record: SectionRecord | None = None, load=None):
        self.id, self.doc_id, self.duplicate_of = id, doc_id, duplicate_of
        self.score, self.terms = score, set(terms)
        self._sketch, self._record, self._load = sketch, record, load

    @classmethod
    def of(cls, record: SectionRecord, score: float, terms: Iterable[str] = ()) -> RawHit:
        """A hit whose record is already at hand (the sketch is then made from its text when needed)."""
        return cls(record.id, record.doc_id, record.duplicate_of, score, terms, record=record)

    @property
    def record(self) -> SectionRecord:
        if self._record is None:
            self._record = self._load()
        return self._record

    def sketch(self) -> Sketch:
        if self._sketch is None:
            self._sketch = make_sketch(self.record.text)
        return Sketch.from_bytes(self._sketch)


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


@dataclass
class RawResult:
    total: int
    hits: list[RawHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    incomplete: bool = False  # some shard did not answer (distributed backends only)
    estimated: bool = False  # total (and facets) estimated from the first COUNT_EXACT matches
    # any-word searches: (typed word, its back-off words) for each word that matched nothing by itself
    backed_off: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def _record(stored: dict) -> SectionRecord:
    values = stored["record"]
    if len(values) != len(RECORD_FIELDS):
        raise IndexIncompatible("the index stores sections in another layout; run `unionsearch index --full`")
    return SectionRecord(*values)


def _load_record(searcher, docnum: int) -> SectionRecord:
    return _record(searcher.stored_fields(docnum))


_HEADING, _TEXT = RECORD_FIELDS.index("heading"), RECORD_FIELDS.index("text")


def _literal_text(searcher, docnum: int) -> str:
    """What a section's literal key is taken from (as its ``grams`` field): heading and text."""
    values = searcher.stored_fields(docnum)["record"]
    return values[_HEADING] + "\n" + values[_TEXT]


def _fields(record: SectionRecord) -> dict:
    return dict(
        record=tuple(getattr(record, name) for name in RECORD_FIELDS), doc_id=record.doc_id,
        source=record.source, section_index=record.section_index, page_title=record.page_title,
        document=record.document, heading=record.heading, text=record.text,
        grams="\n".join((record.heading, record.text)),
        date=record.date or "", year=record.year, year_key=str(record.year or ""), site=record.site or "",
        site_keys=site_keys(record.site), org_type=record.org_type or "", hit_key=pack_hit_key(record),
    )


class GenerationFiles:
    """What both backends do the same way with their generation folders (a backend supplies lock(),
    new_generation(), sink(), commit_generation(), discard_generation(), live_generation() and
    current_generation())."""

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time across processes. The lock is an fcntl lock on ``build.lock``: the kernel
        drops it when its process dies (even by kill -9), so a killed run never leaves a stale lock."""
        import fcntl

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
            _write_atomic(gen / name, text)

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


class Store(GenerationFiles):
    """An index folder: build, update and search it."""

    def __init__(self, index_dir: str | Path, analyzer: analysis.Analyzer):
        global _ANALYZER
        self.dir = Path(index_dir)
        self.analyzer = analyzer
        _ANALYZER = analyzer
        _TOKEN_CACHE.clear()
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
            return wi.open_dir(str(gen))
        except Exception as e:  # Whoosh raises many types on a damaged or foreign index
            raise IndexIncompatible(f"cannot open the index in {gen}: {e}; run `unionsearch index --full`") from None

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
        wi.create_in(str(gen), make_schema())
        (gen / "FORMAT").write_text(FORMAT_VERSION)
        return gen

    def live_generation(self) -> Path:
        """The live generation, checked for format (raises IndexMissing / IndexIncompatible)."""
        self._open()
        return self.current_generation()

    @staticmethod
    def sink(gen: str | Path, limitmb: int = 128) -> SegmentSink:
        """A writer of one new segment in ``gen``; safe to use in a worker process, several at once."""
        return SegmentSink(gen, limitmb)

    def commit_generation(self, gen: Path, parts: list, files: dict[str, str] | None = None) -> None:
        """Make the segments written by sinks into ``gen`` its index, write ``files`` into it, and flip
        CURRENT to it. Until the flip, searches keep using the old generation."""
        ix = wi.open_dir(str(gen))
        writer = _MultiSegmentWriter(ix)
        try:
            writer.commit_with([p for p in parts if p is not None], merge=False)
        except BaseException:
            writer.cancel()
            raise
        for name, text in (files or {}).items():
            _write_atomic(gen / name, text)
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
        writer = _MultiSegmentWriter(ix, limitmb=128)
        try:
            deleted = sum(writer.delete_by_term("source", source) for source in delete_sources)
            for record in add:
                writer.add_document(**_fields(record))
            writer.commit_with([p for p in parts if p is not None])
        except BaseException:
            writer.cancel()
            raise
        gen = self.current_generation()
        for name, text in (files or {}).items():
            _write_atomic(gen / name, text)
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

    def version(self) -> tuple[str, str, int]:
        """What identifies the index's content now (folder, generation, Whoosh commit): equal versions give
        equal answers, so search() may reuse one."""
        with self.searcher() as s:
            return str(self.dir), self._local.gen.name, s.reader().generation()

    @staticmethod
    def _words_query(terms, fields_boosts: dict[str, float]) -> wq.Query:
        """All of ``terms``, each in any of the fields."""
        parts = [wq.Or([wq.Term(f, t, boost=b) for f, b in fields_boosts.items()]) for t in terms]
        return parts[0] if len(parts) == 1 else wq.And(parts)

    def _term_query(self, term: str, parts: tuple[str, ...], fields_boosts: dict[str, float]) -> wq.Query:
        """A word, or (scored lower) the dictionary parts that cover it, in order and near each other in the
        text or a heading (拔河、跳绳等比赛 for 拔河比赛). Alternatives (BestOf): a section holding the word
        scores by the word."""
        q = self._words_query([term], fields_boosts)
        if not parts:
            return q
        near = [wq.Phrase(f, list(parts), slop=PARTS_SLOP, boost=fields_boosts[f] * PARTS_WEIGHT)
                for f in PARTS_FIELDS if f in fields_boosts]
        if not near:
            return q
        return BestOf([q, near[0] if len(near) == 1 else wq.Or(near)])

    def _unit_query(self, unit: Unit, fields_boosts: dict[str, float], any_term: bool = False,
                    loose: tuple[str, ...] = (), common: frozenset[str] = frozenset()) -> wq.Query:
        """One typed word or phrase, rendered from the plan's tiers (indexer/query.py): its words (with their
        covering parts), else its literal text, else (``loose``) its back-off words."""
        literal = LiteralQuery(unit.literal, _literal_text, boost=1.0 if unit.exact else LITERAL_WEIGHT) \
            if unit.literal else None
        if unit.phrase:  # quoted words: the text must occur as typed (punctuation and spaces ignored)
            return literal if literal is not None else wq.NullQuery
        words = [self._term_query(t, p, fields_boosts) for t, p in zip(unit.terms, unit.parts, strict=True)]
        if len(words) == 1:
            word = words[0]
        elif not any_term:
            word = wq.And(words)
        else:  # any of its selective terms, its common ones only adding to the score
            chosen = [w for w, t in zip(words, unit.terms, strict=True) if t not in common]
            extra = [w for w, t in zip(words, unit.terms, strict=True) if t in common]
            if not chosen:
                chosen, extra = words, []
            word = wq.Or(chosen, scale=COVERAGE_BONUS) if len(chosen) > 1 else chosen[0]
            if extra:
                word = wq.AndMaybe(word, wq.Or(extra))
        alternatives = [word]
        if literal is not None:  # the word's text where jieba cut it otherwise, or with punctuation inside
            alternatives.append(literal)
        if loose:
            low = {f: b * LOOSE_WEIGHT for f, b in fields_boosts.items()}
            alternatives.append(wq.Or([self._words_query([w], low) for w in loose]))
        return alternatives[0] if len(alternatives) == 1 else BestOf(alternatives)

    def to_whoosh(self, pq: ParsedQuery, any_match: bool = False, share=None) -> wq.Query:
        """The plan → a Whoosh query. ``any_match`` renders the any-word supplement (ParsedQuery.relaxed, with
        ``share(term)``: a word's share of the sections): any selective word, more is better, common words only
        adding to the score, each word also matching (scored lowest) by its loose words."""
        relaxed = pq.relaxed(share or (lambda t: 0.0)) if any_match else None

        def clause_query(c) -> wq.Query:
            return wq.Or([self._unit_query(u, FIELD_BOOSTS, any_term=any_match,
                                           loose=relaxed.loose.get(u.raw, ()) if relaxed else (),
                                           common=relaxed.common if relaxed else frozenset())
                          for u in c.alternatives])

        clauses = [clause_query(c) for c in (relaxed.any_of if relaxed else pq.must)]
        title_fields = {"document": 1.0, "page_title": 1.0}
        filters = [self._words_query(u.terms, title_fields) if not u.phrase else
                   wq.Or([wq.Phrase(f, list(u.terms), boost=b) for f, b in title_fields.items()]) for u in pq.title]
        if pq.sites:
            filters.append(wq.Or([wq.Term("site_keys", s) for s in pq.sites]))
        if pq.year_from is not None:
            filters.append(wq.NumericRange("year", pq.year_from, pq.year_to))
        if not clauses and not filters:
            return wq.NullQuery
        if relaxed is not None and clauses:
            text_part = wq.Or(clauses, scale=COVERAGE_BONUS) if len(clauses) > 1 else clauses[0]
            if relaxed.optional:
                text_part = wq.AndMaybe(text_part, wq.Or([clause_query(c) for c in relaxed.optional]))
            q = wq.And([text_part, *filters]) if filters else text_part
        else:
            q = wq.And(clauses + filters) if len(clauses + filters) > 1 else (clauses + filters)[0]
        # Proximity: sections where the query words stand close together, in order, score higher.
        words = [t for c in pq.must for t in c.alternatives[0].terms]
        if len(words) > 1:
            q = wq.AndMaybe(q, wq.Phrase("text", words, slop=PROXIMITY_SLOP, boost=PROXIMITY_BOOST))
        if pq.exclude:
            q = wq.AndNot(q, wq.Or([self._unit_query(u, FIELD_BOOSTS) for u in pq.exclude]))
        return q

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
            q = self.to_whoosh(pq, any_match, lambda t: reader.doc_frequency("text", t) / sections)
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
            keys = s.reader().column_reader("hit_key")
            hits = []
            for h in results:
                id_, doc_id, duplicate_of, sketch = unpack_hit_key(keys[h.docnum])
                hits.append(RawHit(id_, doc_id, duplicate_of, h.score if isinstance(h.score, float) else 0.0,
                                   sketch=sketch, load=functools.partial(_load_record, s, h.docnum)))
            if not facets:
                return RawResult(len(results), hits, {}, backed_off=backed_off)
            total, counts, estimated = self._facet_counts(s, q, filter_q)
            return RawResult(total, hits, counts, estimated=estimated, backed_off=backed_off)

    def _matches_any(self, s, unit: Unit) -> bool:
        """Whether some section holds the word (itself, its text or its parts): else it backs off."""
        q = self._unit_query(unit, FIELD_BOOSTS)
        try:
            return bool(len(whoosh_arrays.match(s, q)[0].docnums))
        except whoosh_arrays.Unsupported:
            return not s.search(q, limit=1).is_empty()

    @staticmethod
    def _search_arrays(s, q: wq.Query, filter_q: wq.Query | None, limit: int, facets: bool) -> RawResult | None:
        """The same search on whole posting lists (indexer/whoosh_arrays.py): the same hits and scores, an
        exact total and exact facet counts. None when the query has a part only Whoosh evaluates (a phrase in
        the required part, a year range, the any-word relaxation)."""
        try:
            matches, optional = whoosh_arrays.match(s, q, filter_q)
        except whoosh_arrays.Unsupported:
            return None
        keys = s.reader().column_reader("hit_key")
        hits = []
        for docnum, score in whoosh_arrays.top(s, matches, max(1, limit), optional):
            id_, doc_id, duplicate_of, sketch = unpack_hit_key(keys[docnum])
            hits.append(RawHit(id_, doc_id, duplicate_of, score, sketch=sketch,
                               load=functools.partial(_load_record, s, docnum)))
        counts = whoosh_arrays.facet_counts(s, matches.docnums, FACET_FIELDS) if facets else {}
        return RawResult(len(matches.docnums), hits, counts)

    @staticmethod
    def _facet_counts(s, q: wq.Query, filter_q: wq.Query | None) -> tuple[int, dict[str, dict[str, int]], bool]:
        """The number of matches and the counts per year/site/organisation type, in one unscored pass over
        the matching documents and the fields' column files (no stored fields are read; it also spares
        Whoosh's own counting pass). Exact up to COUNT_EXACT matches; past that (a broad word in a large
        archive) the walk stops, and the total and counts are scaled by the share of the index it covered
        (documents are in indexing order, unrelated to what they say)."""
        if isinstance(q, wq.AndMaybe):
            q = q.a  # the optional part (proximity) only scores: it cannot change which sections match
        docs = _matches(q, s)
        if filter_q is not None:
            allowed = set(s.docs_for_query(filter_q))
            docs = (d for d in docs if d in allowed)
        reader = s.reader()
        columns = {name: reader.column_reader(field) for name, field in FACET_FIELDS.items()}
        tallies: dict[str, dict[str, int]] = {name: {} for name in columns}
        seen, last = 0, 0
        for docnum in docs:
            seen += 1
            last = docnum
            for name, column in columns.items():
                value = column[docnum]
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "ignore")
                if value:
                    tally = tallies[name]
                    tally[value] = tally.get(value, 0) + 1
            if seen >= COUNT_EXACT:
                break
        estimated = False
        if seen >= COUNT_EXACT:
            remaining = next(iter(docs), None) is not None
            if remaining:
                scale = max(1.0, reader.doc_count_all() / (last + 1))
                seen = max(seen + 1, round(seen * scale))
                tallies = {name: {k: round(v * scale) for k, v in t.items()} for name, t in tallies.items()}
                estimated = True
        return seen, {name: dict(sorted(t.items(), key=lambda kv: -kv[1])) for name, t in tallies.items()}, estimated

    def document(self, doc_id: str) -> list[SectionRecord]:
        """The sections of one document, in order ([] if the id is unknown)."""
        with self.searcher() as s:
            found = s.search(wq.Term("doc_id", doc_id), limit=None, sortedby="section_index")
            return [_record(h.fields()) for h in found]

    def section(self, section_id: str) -> SectionRecord | None:
        doc_id = section_id.rpartition(".")[0]
        return next((r for r in self.document(doc_id) if r.id == section_id), None) if doc_id else None

    def sources(self) -> dict[str, int]:
        """Every indexed page and how many sections it has."""
        out: dict[str, int] = {}
        with self.searcher() as s:
            for stored in s.all_stored_fields():
                source = _record(stored).source
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
                for term, info in leaf.iter_field(fieldname):
                    term = term.decode("utf-8") if isinstance(term, bytes) else term
                    counts[term] = counts.get(term, 0) + info.doc_frequency()
        yield from sorted(counts.items())

    def stats(self) -> dict:
        """Index figures; pages and documents come from META.json (written by the indexer) when present."""
        import json

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
                docs = {_record(f).doc_id for f in s.all_stored_fields()}
                pages, documents = len({d.rsplit("-", 1)[0] for d in docs}), len(docs)
            terms = sum(1 for _ in reader.lexicon("text"))
            segments = len(reader.leaf_readers()) if hasattr(reader, "leaf_readers") else 1
        return {"exists": True, "generation": gen.name, "pages": pages, "documents": documents,
                "sections": sections, "terms": terms, "size_bytes": size, "segments": segments,
                "built": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(gen.stat().st_mtime)), **meta}


class LockBusy(Exception):
    """Another process holds the index's write lock."""


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class SegmentSink:
    """Writes sections into one new segment of an index folder without taking its lock (the process that
    commits holds it). Used in worker processes: each worker analyses and writes its own segment, and the
    parent adds the finished segments to the index in one commit (Whoosh's multi-segment MpWriter scheme)."""

    def __init__(self, gen: str | Path, limitmb: int = 128):
        ix = _PrivateTempStorage(str(gen)).open_index()
        self._writer = _SinkWriter(ix, _lk=False, limitmb=limitmb)
        self.count = 0

    def add(self, records: Iterable[SectionRecord]) -> None:
        add = self._writer.add_document
        for record in records:
            add(**_fields(record))
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


class _CachedLengths:
    """Per-document reader proxy: Whoosh asks for a document's field length once per posting while it writes
    a segment (a column file seek and read each time); ask the file once per (document, field)."""

    def __init__(self, reader):
        self._reader = reader
        self._cache: dict[tuple[int, str], int] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        key = (docnum, fieldname)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._reader.doc_field_length(docnum, fieldname, default)
        return found

    def __getattr__(self, name):
        return getattr(self._reader, name)


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
    """Whoosh's segment writer with our codec (compact positions: indexer/whoosh_codec.py), writing separate
    files rather than a compound one: whoosh-reloaded copies a compound segment's postings into memory for every
    searcher it opens (~140 MB per thread at 10,000 pages); separate files are read in place."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, codec=CompactCodec(), compound=False, **kwargs)


class _SinkWriter(_Writer):
    def per_document_reader(self):
        return _CachedLengths(super().per_document_reader())


class _MultiSegmentWriter(_Writer):
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
