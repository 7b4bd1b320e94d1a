"""The Whoosh backend: schema, writers and searchers. The only module that imports Whoosh.

Layout on disk (``index_dir``)::

    CURRENT          name of the live generation (replaced atomically with os.replace)
    gen-<stamp>/     one complete Whoosh index per generation
    build.lock       held while a writer runs

A full build writes a new generation beside the live one and then flips CURRENT, so searches never see a
half-built index. Each thread keeps one searcher and refreshes it when the index changed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import analysis as wa
from whoosh import fields as wf
from whoosh import index as wi
from whoosh import query as wq
from whoosh import scoring, sorting

from indexer import analysis
from indexer.model import SectionRecord
from indexer.query import ParsedQuery, Unit

FORMAT_VERSION = "1"
# Field boosts (BM25F): a word in a heading says more about a section than the same word in its body.
FIELD_BOOSTS = {"text": 1.0, "heading": 2.0, "document": 1.2, "page_title": 0.6}
BIGRAM_BOOST = 0.25
SUBWORD_BOOST = 0.5
COVERAGE_BONUS = 0.9  # Whoosh's coordination bonus for any-word queries: more words matched ranks higher


class IndexMissing(Exception):
    """No index at the configured place; run `unionsearch index` first."""


class IndexIncompatible(Exception):
    """The index was built by another version of unionsearch; rebuild it."""


# The analyser used by the tokenizers; set by Store. The tokenizers are pickled into the Whoosh schema, so
# they stay small and stateless at a stable import path (indexer.store.WordTokenizer).
_ANALYZER: analysis.Analyzer = analysis.Analyzer()


class _TokenStream(wa.Tokenizer):
    def _tokens(self, value: str, mode: str):
        raise NotImplementedError

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
        return _ANALYZER.tokens(value, "query" if mode == "query" else "index")


class BigramTokenizer(_TokenStream):
    """Character bigrams: the fallback when jieba cuts a query differently from the text."""

    def _tokens(self, value, mode):
        return analysis.bigrams(value)


def make_schema() -> wf.Schema:
    words = WordTokenizer()
    return wf.Schema(
        id=wf.ID(stored=True, unique=True),
        doc_id=wf.ID(stored=True),
        source=wf.ID(stored=True),
        doc_index=wf.STORED(),
        section_index=wf.NUMERIC(stored=True, sortable=True),
        page_title=wf.TEXT(analyzer=words, stored=True),
        document=wf.TEXT(analyzer=words, stored=True),
        heading=wf.TEXT(analyzer=words, stored=True),
        heading_path=wf.STORED(),
        text=wf.TEXT(analyzer=words, stored=True),
        bigrams=wf.TEXT(analyzer=BigramTokenizer()),
        url=wf.STORED(),
        date=wf.ID(stored=True, sortable=True),
        year=wf.NUMERIC(stored=True, sortable=True),
        year_key=wf.ID(sortable=True),  # the year as text, for facet counts ("" when unknown)
        site=wf.ID(stored=True, sortable=True),
        site_keys=wf.KEYWORD(),
        org_type=wf.ID(stored=True, sortable=True),
        duplicate_of=wf.STORED(),
    )


def site_keys(site: str | None) -> str:
    """www.a.gov.cn → 'www.a.gov.cn a.gov.cn gov.cn' so site:a.gov.cn matches its hosts."""
    if not site:
        return ""
    parts = site.lower().split(".")
    return " ".join(".".join(parts[i:]) for i in range(len(parts) - 1))


@dataclass
class RawHit:
    record: SectionRecord
    score: float
    terms: set[str]


@dataclass
class RawResult:
    total: int
    hits: list[RawHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _word_terms(matched) -> set[str]:
    """The analysed words a hit matched (not bigrams, ids or numeric terms): what snippets mark."""
    out = set()
    for fieldname, term in matched:
        if fieldname in FIELD_BOOSTS:
            out.add(term.decode("utf-8", "ignore") if isinstance(term, bytes) else term)
    return out


def _record(stored: dict) -> SectionRecord:
    return SectionRecord(
        id=stored["id"], source=stored["source"], doc_index=stored["doc_index"],
        section_index=stored["section_index"], page_title=stored.get("page_title", ""),
        document=stored.get("document", ""), heading=stored.get("heading", ""),
        heading_path=stored.get("heading_path", ""), text=stored.get("text", ""),
        url=stored.get("url"), date=stored.get("date") or None, year=stored.get("year"),
        site=stored.get("site") or None, org_type=stored.get("org_type") or None,
        duplicate_of=stored.get("duplicate_of"), doc_id=stored.get("doc_id", ""),
    )


def _fields(record: SectionRecord) -> dict:
    return dict(
        id=record.id, doc_id=record.doc_id, source=record.source, doc_index=record.doc_index,
        section_index=record.section_index, page_title=record.page_title, document=record.document,
        heading=record.heading, heading_path=record.heading_path, text=record.text,
        bigrams="\n".join((record.heading, record.text)), url=record.url, date=record.date or "",
        year=record.year, year_key=str(record.year or ""), site=record.site or "", site_keys=site_keys(record.site),
        org_type=record.org_type or "", duplicate_of=record.duplicate_of,
    )


class Store:
    """An index folder: build, update and search it."""

    def __init__(self, index_dir: str | Path, analyzer: analysis.Analyzer):
        global _ANALYZER
        self.dir = Path(index_dir)
        self.analyzer = analyzer
        _ANALYZER = analyzer
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
        """One writer at a time across processes (a stale lock from a killed run is taken over)."""
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

    def build(self, records: Iterable[SectionRecord], meta: dict | None = None) -> int:
        """Write a complete new generation from ``records`` and make it live. Returns sections written."""
        with self.lock():
            self.dir.mkdir(parents=True, exist_ok=True)
            gen = self.dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
            gen.mkdir()
            try:
                ix = wi.create_in(str(gen), make_schema())
                count = 0
                writer = ix.writer(limitmb=256)
                try:
                    for record in records:
                        writer.add_document(**_fields(record))
                        count += 1
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                (gen / "FORMAT").write_text(FORMAT_VERSION)
                if meta is not None:
                    import json

                    (gen / "META.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
                self._flip(gen)
            except BaseException:
                shutil.rmtree(gen, ignore_errors=True)
                raise
        return count

    def _flip(self, gen: Path) -> None:
        old = self.current_generation()
        tmp = self.dir / "CURRENT.tmp"
        tmp.write_text(gen.name, encoding="utf-8")
        os.replace(tmp, self.dir / "CURRENT")
        # Keep the previous generation for searchers still reading it; drop older ones.
        keep = {gen.name, old.name if old else ""}
        for p in self.dir.glob("gen-*"):
            if p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)

    def update(self, add: Iterable[SectionRecord], delete_sources: Iterable[str]) -> int:
        """Replace/remove the sections of some pages in one Whoosh transaction."""
        with self.lock():
            ix = self._open()
            writer = ix.writer(limitmb=128)
            count = 0
            try:
                for source in delete_sources:
                    writer.delete_by_term("source", source)
                for record in add:
                    writer.add_document(**_fields(record))
                    count += 1
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
        return count

    # ---- reading -----------------------------------------------------------------------------
    @contextmanager
    def searcher(self):
        """This thread's searcher, refreshed if the index changed (never one per request)."""
        local = self._local
        gen = self.current_generation()
        s = getattr(local, "searcher", None)
        if s is None or local.gen != gen:
            if s is not None:
                s.close()
            ix = self._open()
            s = ix.searcher(weighting=scoring.BM25F(B=0.75, K1=1.2))
            local.searcher, local.gen = s, gen
        elif not s.up_to_date():
            s = s.refresh()
            local.searcher = s
        yield s

    def _term_query(self, term: str, fields_boosts: dict[str, float], exact: bool = False) -> wq.Query:
        q = wq.Or([wq.Term(f, term, boost=b) for f, b in fields_boosts.items()])
        if exact or len(term) < 4:
            return q
        # A long query word also matches its dictionary parts (拔河比赛 → 拔河 + 比赛), scored lower:
        # jieba may have cut the document's text differently.
        parts = analysis.cover_subwords(term)
        if not parts:
            return q
        part_q = wq.And([wq.Or([wq.Term(f, p, boost=b * SUBWORD_BOOST) for f, b in fields_boosts.items()])
                         for p in parts])
        return wq.Or([q, part_q])

    def _unit_query(self, unit: Unit, fields_boosts: dict[str, float], with_bigrams: bool = True,
                    any_term: bool = False) -> wq.Query:
        if unit.phrase:
            word = wq.Or([wq.Phrase(f, list(unit.terms), boost=b) for f, b in fields_boosts.items()])
        else:
            parts = [self._term_query(t, fields_boosts, unit.exact) for t in unit.terms]
            word = wq.Or(parts, scale=COVERAGE_BONUS) if any_term else wq.And(parts)
        if not with_bigrams:
            return word
        grams = [t.text for t in analysis.bigrams(unit.raw)]
        if len(grams) >= 2:
            return wq.Or([word, wq.Phrase("bigrams", grams, boost=BIGRAM_BOOST)])
        return word

    def to_whoosh(self, pq: ParsedQuery, any_match: bool = False) -> wq.Query:
        """Our query tree → a Whoosh query. ``any_match`` relaxes "every word" to "any word, more is better"."""
        clauses = [wq.Or([self._unit_query(u, FIELD_BOOSTS, any_term=any_match) for u in c.alternatives])
                   for c in pq.must]
        title_fields = {"document": 1.0, "page_title": 1.0}
        clauses += [self._unit_query(u, title_fields, with_bigrams=False) for u in pq.title]
        if pq.sites:
            clauses.append(wq.Or([wq.Term("site_keys", s) for s in pq.sites]))
        if pq.year_from is not None:
            clauses.append(wq.NumericRange("year", pq.year_from, pq.year_to))
        if not clauses:
            return wq.NullQuery
        if any_match and pq.must:
            text_part = wq.Or(clauses[: len(pq.must)], scale=COVERAGE_BONUS)
            filters = clauses[len(pq.must):]
            q = wq.And([text_part, *filters]) if filters else text_part
        else:
            q = wq.And(clauses) if len(clauses) > 1 else clauses[0]
        if pq.exclude:
            q = wq.AndNot(q, wq.Or([self._unit_query(u, FIELD_BOOSTS) for u in pq.exclude]))
        return q

    def search(self, pq: ParsedQuery, limit: int, *, any_match: bool = False, sort: str = "relevance",
               facets: bool = True, filters: dict[str, str] | None = None) -> RawResult:
        q = self.to_whoosh(pq, any_match)
        if q is wq.NullQuery:
            return RawResult(0, [])
        filter_q = None
        if filters:
            filter_q = wq.And([wq.Term("year_key" if k == "year" else k, str(v)) for k, v in filters.items()])
        kwargs: dict = dict(limit=max(1, limit), terms=True, filter=filter_q)
        if sort == "date":
            kwargs.update(sortedby=[sorting.FieldFacet("date", reverse=True), sorting.ScoreFacet()])
        if facets:
            kwargs["groupedby"] = {
                "year": sorting.FieldFacet("year_key"),
                "site": sorting.FieldFacet("site"),
                "org_type": sorting.FieldFacet("org_type"),
            }
            kwargs["maptype"] = sorting.Count
        with self.searcher() as s:
            results = s.search(q, **kwargs)
            hits = [RawHit(_record(h.fields()), h.score if isinstance(h.score, float) else 0.0,
                           _word_terms(h.matched_terms() or ()))
                    for h in results]
            counts: dict[str, dict[str, int]] = {}
            if facets:
                for name in ("year", "site", "org_type"):
                    groups = results.groups(name)
                    counts[name] = {str(k): v for k, v in sorted(groups.items(), key=lambda kv: -kv[1])
                                    if k not in (None, "")}
            return RawResult(len(results), hits, counts)

    def document(self, doc_id: str) -> list[SectionRecord]:
        """The sections of one document, in order ([] if the id is unknown)."""
        with self.searcher() as s:
            found = s.search(wq.Term("doc_id", doc_id), limit=None, sortedby="section_index")
            return [_record(h.fields()) for h in found]

    def section(self, section_id: str) -> SectionRecord | None:
        with self.searcher() as s:
            stored = s.document(id=section_id)
            return _record(stored) if stored else None

    def sources(self) -> dict[str, int]:
        """Every indexed page and how many sections it has."""
        out: dict[str, int] = {}
        with self.searcher() as s:
            for stored in s.all_stored_fields():
                out[stored["source"]] = out.get(stored["source"], 0) + 1
        return out

    def vocabulary(self, fieldname: str = "text") -> Iterator[tuple[str, int]]:
        with self.searcher() as s:
            for term, info in s.reader().iter_field(fieldname):
                yield (term.decode("utf-8") if isinstance(term, bytes) else term), info.doc_frequency()

    def stats(self) -> dict:
        gen = self.current_generation()
        if gen is None:
            return {"exists": False}
        size = sum(p.stat().st_size for p in gen.rglob("*") if p.is_file())
        with self.searcher() as s:
            sections = s.doc_count()
            docs = {f["doc_id"] for f in s.all_stored_fields()}
            pages = {d.rsplit("-", 1)[0] for d in docs}
            terms = sum(1 for _ in s.reader().lexicon("text"))
        meta = {}
        if (gen / "META.json").exists():
            import json

            meta = json.loads((gen / "META.json").read_text(encoding="utf-8"))
        return {"exists": True, "generation": gen.name, "pages": len(pages), "documents": len(docs),
                "sections": sections, "terms": terms, "size_bytes": size,
                "built": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(gen.stat().st_mtime)), **meta}


class LockBusy(Exception):
    """Another process holds the index's write lock."""
