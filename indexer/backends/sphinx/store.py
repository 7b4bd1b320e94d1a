"""The Sphinx / Manticore backend: the ``Backend`` interface (indexer/backends/base.py) over SphinxQL.

Analysis stays ours. Each section is one row of a real-time index: our analyser's words, space-joined in
order (``w_*`` fields, so phrases work), the sub-words it stacks on a word's position (``s_*`` fields: Sphinx
text cannot stack tokens), the character bigrams of the literal key of heading + text (``bigrams``, in order:
a phrase of them is the literal text, punctuation and spaces ignored) and the stored record as string
attributes. Field weights mirror Whoosh's FIELD_BOOSTS (the literal ``bigrams`` field weighs least, as the
literal tier ranks below the words); ranking is the field-weighted TF-IDF sum plus a proximity term
(``ranker=expr``): searchd 2.2.11's ``bm25f()`` gives a constant 0.5 on these RT indexes (measured: every
section scored 500 for every query), which left ranking to proximity alone. searchd only
splits on spaces: its charset_table makes CJK, digits and a..z word characters, with no n-grams, morphology or
stopwords; an analysed term holding anything else is replaced by an opaque hash token, at index and query time
alike.

Queries render the planner's plan (indexer/query.py) as Whoosh's backend does (render.py); rows are made in
rows.py.

Layout: ``shards`` RT indexes per generation (``us_a_s0`` …), each held by one or more nodes (mirrors); a
page goes to shard ``hash(source) % shards`` on every node holding it. Every node declares a distributed
index per generation (``us_a``, ``us_b``) whose agents list the mirrors, so any node answers a query and a
dead node's shards are served by its mirrors; a shard with no live copy is left out and the result is
flagged ``incomplete``. A full build fills the other generation and then flips ``CURRENT`` in the state
folder, so search never sees a half-built index. A replica that missed writes (its node was down) is
recorded in ``stale.json`` and copied from a live mirror the next time a writer takes the lock.

State folder (``<index_dir>/sphinx``): ``CURRENT`` (a or b), ``FORMAT``, ``gen-a/`` and ``gen-b/`` (the
manifest, META.json, vocab.json: document frequencies of the text field, for did-you-mean), ``stale.json``,
``build.lock``.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
from pymysql.constants import CLIENT

from indexer import analysis
from indexer.backends.base import (
    FACETS,
    FIELD_BOOSTS,
    GenerationFiles,
    IndexIncompatible,
    IndexMissing,
    RawHit,
    RawResult,
    page_documents,
    write_atomic,
)
from indexer.backends.sphinx.cluster import GENERATIONS, ClusterError, ClusterSpec, Node
from indexer.backends.sphinx.render import EVERY, to_match, unit_match
from indexer.backends.sphinx.rows import (
    INSERT_COLUMNS,
    SELECT_ATTRS,
    WORD_FIELDS,
    RowMaker,
    key_of,
    record_of,
    row_dict,
    shard_of,
)
from indexer.config import Config
from indexer.model import SectionRecord
from indexer.query import ParsedQuery

FORMAT_VERSION = "sphinx-2"
WEIGHT_SCALE = 20  # Sphinx field weights are integers: FIELD_BOOSTS × 20 (bigrams 0.25 → 5)
FIELD_WEIGHTS = {f: round(FIELD_BOOSTS[attr] * WEIGHT_SCALE) for attr, pair in WORD_FIELDS.items() for f in pair}
FIELD_WEIGHTS.update(bigrams=1, marker=1)  # the literal tier: below every word field, as BestOf ranks it
# Ranking: TF-IDF over the weighted fields (see the module docstring on bm25f), plus a bonus for query words
# standing together (lcs: the longest run of query words in query order in a field), as Whoosh's proximity does.
PROXIMITY = 30
K1, B = 1.2, 0.75
BATCH_ROWS = 500
MAX_MATCHES = 1000
SCAN_ROWS = 5000
_CONNECTION_ERRORS = (2003, 2006, 2013, 2014, 2055)


class ClusterUnavailable(IndexMissing):
    """No node of the sphinx cluster answers (or no copy of a shard does, while writing)."""


@dataclass
class SphinxRawResult(RawResult):
    """RawResult plus what a distributed engine can add: some shards did not answer."""

    incomplete: bool = False
    warnings: list[str] = field(default_factory=list)


def _document_counts(rows, meta: dict) -> tuple[int, dict[str, dict[str, int]], bool]:
    """(documents, documents per facet value, estimated) from one row per matching document: exact up to
    MAX_MATCHES documents, scaled by the share seen beyond (as the Whoosh backend estimates)."""
    documents = int(meta.get("total_found", len(rows)))
    scale = documents / len(rows) if rows and documents > len(rows) else 1.0
    counts: dict[str, dict[str, int]] = {}
    for i, name in enumerate(FACETS, 1):
        tally: dict[str, int] = {}
        for row in rows:
            if row[i] not in (None, "", 0):
                tally[str(row[i])] = tally.get(str(row[i]), 0) + 1
        counts[name] = {k: round(v * scale) for k, v in sorted(tally.items(), key=lambda kv: -kv[1])}
    return documents, counts, scale > 1.0


# ---- rows ------------------------------------------------------------------------------------------------------


# ---- the store ---------------------------------------------------------------------------------------------------

class SphinxStore(GenerationFiles):
    """A sphinx cluster plus a local state folder: build, update and search it (the ``Backend`` interface)."""

    format_version = FORMAT_VERSION

    def __init__(self, state_dir: str | Path, analyzer: analysis.Analyzer, spec: ClusterSpec | str | Path,
                 timeout: float = 10.0):
        self.dir = Path(state_dir)
        self.analyzer = analyzer
        self.spec = spec if isinstance(spec, ClusterSpec) else ClusterSpec.load(spec)
        self.timeout = timeout
        self._local = threading.local()
        self.rows = RowMaker(analyzer)

    # ---- connections -------------------------------------------------------------------------------------------
    def _connections(self) -> dict[str, pymysql.connections.Connection]:
        conns = getattr(self._local, "conns", None)
        if conns is None or self._local.pid != os.getpid():
            # A forked indexing worker must not share its parent's sockets: open its own (never close theirs).
            conns = self._local.conns = {}
            self._local.pid = os.getpid()
        return conns

    def _conn(self, node: Node):
        conns = self._connections()
        conn = conns.get(node.name)
        if conn is None:
            conn = pymysql.connect(host=node.host, port=node.sql_port, connect_timeout=1,
                                   read_timeout=self.timeout, write_timeout=self.timeout, autocommit=True,
                                   charset="utf8", client_flag=CLIENT.MULTI_STATEMENTS)
            conns[node.name] = conn
        return conn

    def _drop(self, node: Node) -> None:
        conn = self._connections().pop(node.name, None)
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def close(self) -> None:
        for node in self.spec.nodes:
            self._drop(node)

    def _on(self, node: Node, run):
        """``run(cursor)`` on ``node``, reconnecting once if a kept connection went stale."""
        for attempt in (0, 1):
            try:
                with self._conn(node).cursor() as cur:
                    return run(cur)
            except pymysql.OperationalError as e:
                self._drop(node)
                if attempt or e.args[0] not in _CONNECTION_ERRORS:
                    raise
            except pymysql.InterfaceError:
                self._drop(node)
                if attempt:
                    raise

    def _query_nodes(self) -> list[Node]:
        """Nodes to send a query to, in order: a per-thread start spreads the load; the rest are fall-backs."""
        nodes = self.spec.nodes
        start = getattr(self._local, "start", None)
        if start is None:
            start = self._local.start = random.randrange(len(nodes))
        return nodes[start:] + nodes[:start]

    def _read(self, run):
        """``run(cursor)`` on the first node that answers."""
        errors = []
        for node in self._query_nodes():
            try:
                return self._on(node, run)
            except (pymysql.OperationalError, pymysql.InterfaceError) as e:
                if isinstance(e, pymysql.OperationalError) and e.args[0] not in _CONNECTION_ERRORS:
                    raise
                errors.append(f"{node.name}: {e.args[-1] if e.args else e}")
        raise ClusterUnavailable("no sphinx node answers (" + "; ".join(errors) + "); "
                                 "start the cluster (`unionsearch cluster start`) or check sphinx.nodes")

    # ---- generations and state ---------------------------------------------------------------------------------
    def _gen_name(self) -> str | None:
        try:
            name = (self.dir / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name if name in GENERATIONS else None

    def current_generation(self) -> Path | None:
        name = self._gen_name()
        gen = self.dir / f"gen-{name}" if name else None
        return gen if gen is not None and gen.is_dir() else None

    def exists(self) -> bool:
        return self.current_generation() is not None

    def live_generation(self) -> Path:
        gen = self.current_generation()
        if gen is None:
            raise IndexMissing(f"no sphinx index recorded in {self.dir}; run `unionsearch index` first")
        version = (self.dir / "FORMAT").read_text().strip() if (self.dir / "FORMAT").exists() else ""
        if version != FORMAT_VERSION:
            raise IndexIncompatible(f"the sphinx index in {self.dir} has an old format; run "
                                    "`unionsearch index --full`")
        return gen

    def _live(self) -> str:
        return self.live_generation().name[-1]

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time (fcntl lock on ``build.lock``, dropped by the kernel if the process dies).
        Taking it first copies any replica that missed writes from a live mirror."""
        with self.write_lock():
            self.repair()
            yield

    def _stale(self) -> list[dict]:
        try:
            return json.loads((self.dir / "stale.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []

    def _set_stale(self, entries: list[dict]) -> None:
        unique = {(e["gen"], e["node"], e["shard"]): e for e in entries}
        write_atomic(self.dir / "stale.json", json.dumps(sorted(unique.values(), key=lambda e: tuple(e.values()))))

    def _mark_stale(self, gen: str, failed: Iterable[tuple[str, int]]) -> None:
        failed = list(failed)
        if failed:
            self._set_stale(self._stale() + [{"gen": gen, "node": n, "shard": s} for n, s in failed])

    # ---- writing (callers hold lock()) --------------------------------------------------------------------------
    def new_generation(self) -> Path:
        """Empty the generation that is not live and return its state folder; nothing reads it until
        commit_generation()."""
        live = self._gen_name()
        gen = next(g for g in GENERATIONS if g != live)
        path = self.dir / f"gen-{gen}"
        if path.exists():
            for p in path.iterdir():
                p.unlink()
        path.mkdir(parents=True, exist_ok=True)
        self._set_stale([e for e in self._stale() if e["gen"] != gen])
        failed = []
        for shard in range(self.spec.shards):
            for node in self.spec.replicas(shard):
                try:
                    self._on(node, lambda cur, s=shard: cur.execute(
                        f"TRUNCATE RTINDEX {self.spec.shard_index(gen, s)}"))
                except pymysql.MySQLError:
                    failed.append((node.name, shard))
            if len([n for n, s in failed if s == shard]) == len(self.spec.replicas(shard)):
                raise ClusterUnavailable(f"no copy of shard {shard} answers; start its nodes and index again")
        self._mark_stale(gen, failed)
        return path

    def sink(self, gen: str | Path, limitmb: int = 128) -> SphinxSink:
        """A writer of sections into generation ``gen`` (safe in worker processes, several at once). Into a
        generation being built it inserts as it goes; into the live one it only analyses, and
        commit_update() swaps each page's sections in one transaction per replica."""
        name = Path(gen).name[-1]
        return SphinxSink(self, name, live=(name == self._gen_name()))

    def commit_generation(self, gen: Path, parts: list, files: dict[str, str] | None = None) -> None:
        """Record what the sinks wrote into ``gen``, write ``files`` beside it and make it live."""
        gen = Path(gen)
        name = gen.name[-1]
        df: Counter = Counter()
        for part in parts:
            if part:
                df.update(part["df"])
                self._mark_stale(name, [tuple(f) for f in part["failed"]])
        write_atomic(gen / "vocab.json", json.dumps(df, ensure_ascii=False))
        for fname, text in (files or {}).items():
            write_atomic(gen / fname, text)
        write_atomic(self.dir / "FORMAT", FORMAT_VERSION)
        write_atomic(self.dir / "CURRENT", name)

    def discard_generation(self, gen: Path) -> None:
        """Forget a generation whose build failed (its indexes are emptied by the next new_generation())."""
        gen = Path(gen)
        if gen != self.current_generation() and gen.exists():
            for p in gen.iterdir():
                p.unlink()

    def commit_update(self, parts: list, delete_sources: Iterable[str], files: dict[str, str] | None = None,
                      add: Iterable[SectionRecord] = ()) -> int:
        """Delete the sections of ``delete_sources`` and insert the rows of ``parts`` (sinks of the live
        generation) and ``add``: per shard and replica one transaction, so a page is never seen half-swapped.
        A replica that does not answer is recorded as stale. Returns the number of sections deleted."""
        live = self._live()
        gen = self.dir / f"gen-{live}"
        rows: dict[int, list] = {s: [] for s in range(self.spec.shards)}
        df: Counter = Counter()
        for part in parts:
            if part:
                for shard, shard_rows in part["rows"].items():
                    rows[int(shard)].extend(shard_rows)
                df.update(part["df"])
        for r in add:
            rows[shard_of(r.source, self.spec.shards)].append(self.rows.row(r, df))
        deletes: dict[int, list[str]] = {s: [] for s in range(self.spec.shards)}
        for source in delete_sources:
            deletes[shard_of(source, self.spec.shards)].append(source)
        removed = self._removed_terms(live, [s for ss in deletes.values() for s in ss])
        deleted, failed = 0, []
        for shard in range(self.spec.shards):
            if not rows[shard] and not deletes[shard]:
                continue
            index = self.spec.shard_index(live, shard)
            counted = False
            for node in self.spec.replicas(shard):
                try:
                    n = self._on(node, lambda cur, i=index, s=shard: _swap(cur, i, deletes[s], rows[s]))
                except pymysql.MySQLError:
                    failed.append((node.name, shard))
                    continue
                if not counted:
                    deleted, counted = deleted + n, True
            if not counted:
                raise ClusterUnavailable(f"no copy of shard {shard} answers; start its nodes and index again")
        self._mark_stale(live, failed)
        vocab = self._vocab(gen)
        vocab.update(df)
        vocab.subtract(removed)
        write_atomic(gen / "vocab.json", json.dumps({k: v for k, v in vocab.items() if v > 0}, ensure_ascii=False))
        for fname, text in (files or {}).items():
            write_atomic(gen / fname, text)
        return deleted

    def _removed_terms(self, gen: str, sources: list[str]) -> Counter:
        """Text-field document frequencies of the sections about to be deleted (to keep vocab.json right)."""
        out: Counter = Counter()
        dist = self.spec.dist_index(gen)
        for i in range(0, len(sources), 50):
            chunk = sources[i:i + 50]
            marks = ", ".join(["%s"] * len(chunk))
            found = self._read(lambda cur, c=chunk, m=marks: _fetch(
                cur, f"SELECT text FROM {dist} WHERE source IN ({m}) LIMIT 0, 100000 OPTION max_matches=100000", c))
            for row in found:
                out.update(self.rows.analyse(row["text"])[1])
        return out

    def update(self, add: Iterable[SectionRecord], delete_sources: Iterable[str]) -> int:
        """Replace/remove the sections of some pages (each page in one transaction per replica)."""
        records = list(add)
        with self.lock():
            self.commit_update([], list(delete_sources), add=records)
        return len(records)

    def remove_unfinished(self) -> list[str]:
        """Nothing to remove: a killed build leaves the other generation's RT indexes, emptied by the next one."""
        return []

    def repair(self) -> list[str]:
        """Copy every stale replica of the live generation from a live mirror (re-analysing the stored
        records). Returns the replicas repaired; those still unreachable stay recorded."""
        stale = self._stale()
        live = self._gen_name()
        done, keep = [], []
        for entry in stale:
            if entry["gen"] != live:
                keep.append(entry)
                continue
            target = self.spec.node(entry["node"])
            assert live is not None  # stale replicas are only recorded for a live generation
            sources = [n for n in self.spec.replicas(entry["shard"]) if n.name != target.name
                       and not any(e["node"] == n.name and e["shard"] == entry["shard"] and e["gen"] == live
                                   for e in stale)]
            try:
                self._copy_shard(live, entry["shard"], sources, target)
                done.append(f"{target.name}:{self.spec.shard_index(live, entry['shard'])}")
            except (pymysql.MySQLError, ClusterUnavailable):
                keep.append(entry)
        if done:
            self._set_stale(keep)
        return done

    def _copy_shard(self, gen: str, shard: int, sources: list[Node], target: Node) -> None:
        index = self.spec.shard_index(gen, shard)
        cols = ", ".join(SELECT_ATTRS)
        for src in sources:
            try:
                self._on(src, lambda cur: cur.execute("SHOW STATUS"))
            except pymysql.MySQLError:
                continue
            self._on(target, lambda cur: cur.execute(f"TRUNCATE RTINDEX {index}"))
            last = 0
            while True:
                found = self._on(src, lambda cur, lo=last: _fetch(
                    cur, f"SELECT {cols} FROM {index} WHERE id > %s ORDER BY id ASC LIMIT 0, {BATCH_ROWS} "
                    f"OPTION max_matches={BATCH_ROWS}", (lo,)))
                if not found:
                    return
                rows = [self.rows.row(record_of(r)) for r in found]
                self._on(target, lambda cur, rr=rows: _insert(cur, index, rr))
                last = int(found[-1]["id"])
        raise ClusterUnavailable(f"no live copy of shard {shard} to repair {target.name} from")

    # ---- reading -----------------------------------------------------------------------------------------------
    def check(self) -> int:
        """Sections in the live generation, once a node answered (raises IndexMissing / ClusterUnavailable)."""
        self.live_generation()
        return self.doc_count()

    def doc_count(self) -> int:
        dist = self.spec.dist_index(self._live())
        found = self._read(lambda cur: _fetch(cur, f"SELECT COUNT(*) AS n FROM {dist}", ()))
        return int(found[0]["n"]) if found else 0

    def _vocab_counts(self) -> Counter:
        """Document frequencies of the text field (vocab.json of the live generation, read once per change)."""
        gen = self.current_generation()
        path = gen / "vocab.json" if gen else None
        try:
            stamp = (str(path), path.stat().st_mtime_ns) if path else None
        except OSError:
            stamp = None
        cached = getattr(self, "_known_cache", None)
        if cached is None or cached[0] != stamp:
            cached = self._known_cache = (stamp, self._vocab(gen))
        return cached[1]

    def _ranker(self) -> str:
        weights = ", ".join(f"{f}={w}" for f, w in FIELD_WEIGHTS.items())
        return (f"ranker=expr('sum(tf_idf * user_weight) * 1000 + {PROXIMITY} * sum((lcs - 1) * user_weight)'), "
                f"field_weights=({weights})")

    def version(self) -> None:
        """None: searchd's indexes change under us (and a node may come back), so answers are not cached."""
        return None

    def search(self, pq: ParsedQuery, limit: int, *, any_match: bool = False, sort: str = "relevance",
               facets: bool = True, filters: dict[str, str] | None = None) -> SphinxRawResult:
        relaxed = None
        backed_off: list[tuple[str, tuple[str, ...]]] = []
        if any_match:
            counts = self._vocab_counts()
            sections = max(1, self.doc_count())
            relaxed = pq.relaxed(lambda t: counts.get(t, 0) / sections)
            backed_off = [(u.raw, relaxed.loose[u.raw]) for c in pq.must for u in c.alternatives
                          if relaxed.loose.get(u.raw) and not self._search(pq, unit_match(u, EVERY), 1, "relevance",
                                                                           False, None).total]
        result = self._search(pq, to_match(pq, relaxed), limit, sort, facets, filters)
        result.backed_off = backed_off
        return result

    @staticmethod
    def _where(pq: ParsedQuery, match: str | None, filters: dict[str, str] | None,
               ids: list[int] | None) -> tuple[list[str], list[str | int]] | None:
        """The WHERE conditions and their arguments; None when nothing can match."""
        where: list[str] = []
        args: list[str | int] = []
        if match is not None:
            where.append("MATCH(%s)")
            args.append(match)
        if ids is not None:
            where.append(f"id IN ({', '.join(str(int(i)) for i in ids)})")
        if pq.sites:
            where.append(f"site_keys IN ({', '.join(str(key_of(s)) for s in pq.sites)})")
        if pq.year_from is not None:
            where.append("year BETWEEN %s AND %s")
            args += [pq.year_from, pq.year_to if pq.year_to is not None else pq.year_from]
        for name, value in (filters or {}).items():
            if name == "year":
                if not str(value).isdigit():
                    return None
                where.append("year = %s")
                args.append(int(value))
            elif name in ("site", "org_type"):
                where.append(f"{name} = %s")
                args.append(str(value))
        return (where, args) if where else None

    def _search(self, pq: ParsedQuery, match: str | None, limit: int, sort: str, facets: bool,
                filters: dict[str, str] | None, ids: list[int] | None = None) -> SphinxRawResult:
        conditions = self._where(pq, match, filters, ids)
        if conditions is None:
            return SphinxRawResult(0, [])
        where, args = conditions
        limit = max(1, limit)
        order = "date DESC, w DESC" if sort == "date" else "w DESC, id ASC"
        dist = self.spec.dist_index(self._live())
        where_sql = " AND ".join(where)
        # One round trip: the ranked hits, their SHOW META (total, agent warnings), then the facet counts as a
        # second query without ranking (Sphinx 2.2 fails on FACET together with ranker=expr and WEIGHT()).
        sql = (f"SELECT {', '.join(SELECT_ATTRS)}, WEIGHT() AS w FROM {dist} WHERE {where_sql} "
               f"ORDER BY {order} LIMIT 0, {limit} OPTION max_matches={max(MAX_MATCHES, limit)}, {self._ranker()}; "
               "SHOW META")
        # Then the matching documents, one row each (year, site and organisation type are the document's),
        # and their number: what every face counts and each facet value's click shows.
        sql += (f"; SELECT doc_id, {', '.join(FACETS)} FROM {dist} WHERE {where_sql} GROUP BY doc_id "
                f"LIMIT 0, {MAX_MATCHES} OPTION ranker=none, max_matches={MAX_MATCHES}; SHOW META")
        args = args + args

        def run(cur):
            cur.execute(sql, args)
            sets = [cur.fetchall()]
            while cur.nextset():
                sets.append(cur.fetchall())
            return sets

        sets = self._read(run)
        if _agents_failed([v for k, v in sets[1] if k == "warning"]):
            sets = self._read(run)  # a mirror that just died is marked by the failed query: ask once more
        meta: dict[str, str] = {}
        warnings = []
        for key, value in sets[1]:
            if key == "warning":
                warnings.append(value)
            meta.setdefault(key, value)
        terms = pq.highlight_terms()  # Sphinx does not say which words a hit matched
        hits = [RawHit.of(record_of(row_dict(r)), float(r[-1]) / 1000.0, terms) for r in sets[0]]
        total = int(meta.get("total_found", len(hits)))
        documents, counts, estimated = _document_counts(sets[2], dict((k, v) for k, v in sets[3]))
        return SphinxRawResult(total, hits, counts if facets else {}, incomplete=_agents_failed(warnings),
                               warnings=warnings, documents=documents, estimated=estimated)

    def document(self, doc_id: str) -> list[SectionRecord]:
        """The sections of one document, in order ([] if the id is unknown)."""
        sql = (f"SELECT {', '.join(SELECT_ATTRS)} FROM {self.spec.dist_index(self._live())} WHERE doc_id = %s "
               f"ORDER BY section_index ASC LIMIT 0, 10000 OPTION max_matches=10000")
        return [record_of(r) for r in self._read(lambda cur: _fetch(cur, sql, (doc_id,)))]

    def section(self, section_id: str) -> SectionRecord | None:
        sql = f"SELECT {', '.join(SELECT_ATTRS)} FROM {self.spec.dist_index(self._live())} WHERE id = %s"
        found = [r for r in self._read(lambda cur: _fetch(cur, sql, (key_of(section_id),)))
                 if r["sid"] == section_id]
        return record_of(found[0]) if found else None

    def documents(self) -> Iterator[list[SectionRecord]]:
        """Every document's sections, page by page (each document read by its id, as Backend.document does)."""
        for source, sections in sorted(self.sources().items()):
            yield from page_documents(self, source, sections)

    def sources(self) -> dict[str, int]:
        """Every indexed page and how many sections it has (read in id order, a batch at a time: a GROUP BY
        over every page would need max_matches as large as the corpus on every agent)."""
        dist = self.spec.dist_index(self._live())
        out: Counter = Counter()
        last = 0
        while True:
            found = self._read(lambda cur, lo=last: _fetch(
                cur, f"SELECT id, source FROM {dist} WHERE id > %s ORDER BY id ASC LIMIT 0, {SCAN_ROWS} "
                f"OPTION max_matches={SCAN_ROWS}", (lo,)))
            out.update(r["source"] for r in found)
            if len(found) < SCAN_ROWS:
                return dict(out)
            last = int(found[-1]["id"])

    def _vocab(self, gen: Path | None) -> Counter:
        try:
            return Counter(json.loads((gen / "vocab.json").read_text(encoding="utf-8"))) if gen else Counter()
        except (OSError, ValueError):
            return Counter()

    def vocabulary(self, fieldname: str = "text") -> Iterator[tuple[str, int]]:
        """Terms of the text field with their document frequencies, in term order (kept at write time)."""
        if fieldname != "text":
            return iter(())
        return iter(sorted(self._vocab(self.current_generation()).items()))

    def stats(self) -> dict:
        """Index figures (pages and documents from META.json) plus the state of every node and replica."""
        gen = self.current_generation()
        if gen is None:
            return {"exists": False, "backend": "sphinx"}
        meta = {}
        if (gen / "META.json").exists():
            meta = json.loads((gen / "META.json").read_text(encoding="utf-8"))
        live = gen.name[-1]
        dist = self.spec.dist_index(live)
        sections = self._read(lambda cur: _fetch(cur, f"SELECT COUNT(*) AS n FROM {dist}", ()))
        nodes, size = [], 0
        for node in self.spec.nodes:
            entry = {"node": node.name, "address": f"{node.host}:{node.sql_port}", "shards": node.shards, "up": True}
            try:
                for shard in node.shards:
                    info = dict(self._on(node, lambda cur, s=shard: _fetch_tuples(
                        cur, f"SHOW INDEX {self.spec.shard_index(live, s)} STATUS")))
                    size += int(info.get("ram_bytes", 0)) + int(info.get("disk_bytes", 0))
            except pymysql.MySQLError:
                entry["up"] = False
            nodes.append(entry)
        if "indexed_pages" in meta:
            pages, documents = meta["indexed_pages"], meta["documents"]
        else:
            srcs = self.sources()
            pages, documents = len(srcs), None
        return {"exists": True, "backend": "sphinx", "generation": gen.name, "pages": pages, "documents": documents,
                "sections": int(sections[0]["n"]) if sections else 0, "terms": len(self._vocab(gen)),
                "size_bytes": size, "segments": self.spec.shards, "shards": self.spec.shards, "nodes": nodes,
                "stale_replicas": self._stale(),
                "built": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((self.dir / "CURRENT").stat().st_mtime)),
                **meta}


class SphinxSink:
    """Analyses sections into rows, per shard. Into a generation being built it inserts batches as it goes
    (on every replica; a replica that fails is reported as stale); into the live generation it keeps the rows
    for commit_update(). ``finish()`` returns a picklable part for commit_generation/commit_update."""

    def __init__(self, store: SphinxStore, gen: str, live: bool):
        self.store, self.gen, self.live = store, gen, live
        self.spec = store.spec
        self.pending: dict[int, list] = {s: [] for s in range(self.spec.shards)}
        self.df: Counter = Counter()
        self.failed: set[tuple[str, int]] = set()
        self.count = 0

    def add(self, records: Iterable[SectionRecord]) -> None:
        for r in records:
            shard = shard_of(r.source, self.spec.shards)
            self.pending[shard].append(self.store.rows.row(r, self.df))
            self.count += 1
            if not self.live and len(self.pending[shard]) >= BATCH_ROWS:
                self._flush(shard)

    def _flush(self, shard: int) -> None:
        rows, self.pending[shard] = self.pending[shard], []
        if not rows:
            return
        index = self.spec.shard_index(self.gen, shard)
        replicas = self.spec.replicas(shard)
        for node in replicas:
            if (node.name, shard) in self.failed:
                continue
            try:
                self.store._on(node, lambda cur: _insert(cur, index, rows))
            except pymysql.MySQLError:
                self.failed.add((node.name, shard))
        if all((n.name, shard) in self.failed for n in replicas):
            raise ClusterUnavailable(f"no copy of shard {shard} answers; start its nodes and index again")

    def finish(self) -> dict:
        if not self.live:
            for shard in self.pending:
                self._flush(shard)
        part = {"count": self.count, "df": dict(self.df), "failed": sorted(self.failed),
                "rows": self.pending if self.live else {}}
        self.store.close()
        return part

    def cancel(self) -> None:
        self.pending = {s: [] for s in range(self.spec.shards)}
        self.store.close()


# ---- helpers -----------------------------------------------------------------------------------------------------

def _insert(cur, index: str, rows: list[tuple]) -> None:
    marks = ", ".join(["%s"] * len(INSERT_COLUMNS))
    sql = f"REPLACE INTO {index} ({', '.join(INSERT_COLUMNS)}) VALUES ({marks})"
    for i in range(0, len(rows), 100):
        cur.executemany(sql, rows[i:i + 100])  # a tuple value is written (1,2): an MVA


def _swap(cur, index: str, sources: list[str], rows: list[tuple]) -> int:
    """Delete the sections of ``sources`` and insert ``rows`` in one RT transaction; returns rows deleted."""
    deleted = 0
    cur.execute("BEGIN")
    try:
        for source in sources:
            deleted += cur.execute(f"DELETE FROM {index} WHERE source = %s", (source,))
        if rows:
            _insert(cur, index, rows)
        cur.execute("COMMIT")
    except BaseException:
        try:
            cur.execute("ROLLBACK")
        except pymysql.MySQLError:
            pass
        raise
    return deleted


def _fetch(cur, sql: str, args) -> list[dict]:
    cur.execute(sql, args)
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _fetch_tuples(cur, sql: str) -> list[tuple]:
    cur.execute(sql)
    return list(cur.fetchall())


def _agents_failed(warnings: list[str]) -> bool:
    """searchd reports an agent that gave nothing (after trying every mirror) as a query warning."""
    return any("agent" in w for w in warnings)


def open_sphinx_store(config: Config, analyzer: analysis.Analyzer) -> SphinxStore:
    """A SphinxStore for ``config``: state in ``<index_dir>/sphinx``, nodes from ``config.sphinx.nodes_file``
    (default ``var/cluster/nodes.json`` beside the config)."""
    path = config.sphinx.nodes_file or "var/cluster/nodes.json"
    try:
        spec = ClusterSpec.load(config.path(str(path)))
    except ClusterError as e:
        raise ClusterUnavailable(str(e)) from None
    return SphinxStore(config.index_path / "sphinx", analyzer, spec, timeout=config.sphinx.query_timeout)
