"""Query → ranked, collapsed, highlighted results: the one search function under CLI, HTML and API."""

from __future__ import annotations

import dataclasses
import html
import re
import time
from dataclasses import dataclass

import numpy as np
from pypinyin import lazy_pinyin

# _phrase_convert: the conversion tokens() applies before cutting (not made public: analysis.py's code is part of
# the index's fingerprint, and a change there means a full rebuild)
from indexer.analysis import WORD_CHAR, Analyzer, _phrase_convert, normalise_with_map
from indexer.backends.base import Backend, RawHit, RawResult
from indexer.cache import LRU
from indexer.model import Hit, SearchResult
from indexer.query import ParsedQuery, parse_query
from indexer.suggest import suggester

SORTS = ("relevance", "date")
FILTERS = ("year", "site", "org_type")
NEAR_DUPLICATE = 0.6  # Jaccard of character 4-gram sets above which two sections count as copies
CONTAINED = 0.85  # share of the shorter section's 4-grams found in the other: a copy inside a longer section
COLLAPSE_WINDOW, MAX_WINDOW = 150, 3000
RESULT_CACHE = 128  # answers kept per process (a page of results with its records: about 50 KB each)
SUPPLEMENT_BELOW = 10  # fewer documents with all the words than this → add any-word matches after them


@dataclass(frozen=True)
class SearchOptions:
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    filters: tuple[tuple[str, str], ...] = ()
    snippets: bool = True
    snippet_chars: int = 160
    collapse: bool = True
    group: bool = False  # fold further sections of a document under its best section


def collapse(hits: list[RawHit]) -> list[tuple[RawHit, int]]:
    """Fold near-copies of an earlier (better-ranked) hit into it; returns (hit, similar count)."""
    keepers = copy_targets(hits)
    similar = {i: 0 for i, k in enumerate(keepers) if k == i}
    for i, k in enumerate(keepers):
        if k != i:
            similar[k] += 1
    return [(hits[k], n) for k, n in similar.items()]


_TARGETS = LRU(4 * 1024 * 1024)  # a query folds the same list several times (counts, notice, page): once is enough


def copy_targets(hits: list[RawHit]) -> list[int]:
    """For each hit, the index of the hit it is a near-copy of (an earlier, better-ranked one), or its own."""
    if any(h._sketch is None for h in hits):  # sketches made from records: no cheap key
        return _copy_targets(hits)
    key = tuple((h.id, h.duplicate_of, h._sketch) for h in hits)  # the text's sketch: an update changes it
    found = _TARGETS.get(key)
    if found is None:
        found = _copy_targets(hits)
        _TARGETS.put(key, found, 64 * len(hits) + 100)
    return found


def _copy_targets(hits: list[RawHit]) -> list[int]:
    """copy_targets, computed.

    Each hit brings its sketch (hashed character 4-grams, made at index time: indexer/sketch.py). The grams
    every two hits share come from one matrix product over their stored grams (a sampled sketch holds only
    0-mod-4 grams, so against any other sketch the product counts the 0-mod-4 grams both hold, which is what
    a sampled pair is compared on); then, in rank order, a hit folds into the first kept hit it copies.
    (Comparing pairs one by one with sets cost 15 ms a query on pages that share many paragraphs.)"""
    n = len(hits)
    if not n:
        return []
    sketches = [h.sketch() for h in hits]
    n0 = np.array([len(sk.zeros_array) for sk in sketches], dtype=np.int64)
    sampled = np.array([sk.sampled for sk in sketches], dtype=bool)
    sizes = np.array([len(sk.array) for sk in sketches], dtype=np.int64)
    inter = _shared_counts([sk.array for sk in sketches])
    # A pair with a sampled side is compared on 0-mod-4 grams, two unsampled sketches on all of theirs.
    a = np.where(sampled[:, None] | sampled[None, :], n0[:, None], sizes[:, None])
    b = a.T
    union = np.maximum(a + b - inter, 1)
    smaller = np.maximum(np.minimum(a, b), 1)
    # A near-copy (Jaccard), or one section repeated inside a longer one (containment).
    copy = (inter > 0) & ((inter / union >= NEAR_DUPLICATE) | (inter / smaller >= CONTAINED))
    copy[n0 == 0, :] = False  # too short to compare
    kept = np.zeros(n, dtype=bool)
    targets: list[int] = []
    target_of: dict[str, int] = {}  # hit id → index of the kept hit it belongs to
    for i, hit in enumerate(hits):
        target = target_of.get(hit.duplicate_of) if hit.duplicate_of else None
        if target is None and i:
            row = copy[i, :i] & kept[:i]
            k = int(row.argmax())
            if row[k]:
                target = k
        if target is not None:
            targets.append(target)
            target_of[hit.id] = target
            continue
        kept[i] = True
        targets.append(i)
        target_of[hit.id] = i
    return targets


def _shared_counts(grams: list[np.ndarray]) -> np.ndarray:
    """How many grams each two of the arrays share (each array's grams distinct 16-bit values, as sketches
    store them), as a square matrix."""
    n = len(grams)
    if not n:
        return np.zeros((0, 0), dtype=np.float32)
    owners = np.repeat(np.arange(n), [len(g) for g in grams])
    flat = np.concatenate(grams).astype(np.int64)
    common = np.bincount(flat, minlength=1 << 16) >= 2  # a gram only one hit has adds to no pair
    column_of = np.cumsum(common) - 1
    keep = common[flat]
    matrix = np.zeros((n, int(common.sum())), dtype=np.float32)
    matrix[owners[keep], column_of[flat[keep]]] = 1.0
    return matrix @ matrix.T


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):  # a stacked sub-word lies inside its word: merge overlaps
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _literal_spans(text: str, keys: list[str]) -> list[tuple[int, int]]:
    """Where the literal keys stand in ``text``, punctuation and spaces between their characters ignored
    ("“安康杯”竞赛" for 安康杯竞赛), as offsets into ``text``."""
    if not keys:
        return []
    norm, origin = normalise_with_map(text)
    kept = [i for i, ch in enumerate(norm) if WORD_CHAR.match(ch)]
    squashed = "".join(norm[i] for i in kept)
    spans = []
    for key in keys:
        for m in re.finditer(re.escape(key), squashed):
            spans.append((origin[kept[m.start()]], origin[kept[m.end() - 1]] + 1))
    return spans


def word_spans(text: str, terms: set[str], analyzer: Analyzer, margin: int = 12) -> list[tuple[int, int]]:
    """Offsets in ``text`` of its analysed words (index mode: sub-words too) that are in ``terms``, as
    ``analyzer.tokens`` finds them; only the stretches around where a term or one of its synonyms is written are
    cut, ``margin`` characters on each side, not the whole text (jieba's cut of the snippets was a fifth of a
    query's CPU; a word's cut depends on its neighbours, not on text a dozen characters away: tested on every
    hit of the judged queries)."""
    if not terms:
        return []
    norm, origin = normalise_with_map(text)
    seen = _phrase_convert(norm)  # what tokens() cuts
    surfaces = terms | {word for word, canonical in analyzer.synonyms.items() if canonical in terms}
    pattern = re.compile("|".join(re.escape(s) for s in sorted(surfaces, key=len, reverse=True) if s))
    stretches: list[tuple[int, int]] = []
    for m in pattern.finditer(seen):
        a = origin[max(0, m.start() - margin)]
        b = origin[min(len(seen), m.end() + margin) - 1] + 1
        if stretches and a <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(b, stretches[-1][1]))
        else:
            stretches.append((a, b))
    return [(a + t.start, a + t.end) for a, b in stretches for t in analyzer.tokens(text[a:b], "index")
            if t.text in terms]


def _mark_spans(text: str, pq: ParsedQuery, analyzer: Analyzer, hit_terms: set[str],
                lo: int = 0, hi: int | None = None, loose: bool = False) -> list[tuple[int, int]]:
    """Spans of ``text[lo:hi]`` to mark: whole analysed words that matched, plus the query words' literal
    text as it stands (whatever jieba cut), all as offsets into ``text``."""
    terms = pq.highlight_terms(loose) | hit_terms
    part = text[lo:hi]
    spans = [(lo + a, lo + b) for a, b in word_spans(part, terms, analyzer)]
    spans += [(lo + a, lo + b) for a, b in _literal_spans(part, pq.literals())]
    return _merge(spans)


def make_snippet(text: str, pq: ParsedQuery, analyzer: Analyzer, hit_terms: set[str], width: int,
                 loose: bool = False) -> str:
    """The densest window of ``text`` with matched words marked. The window is chosen from cheap substring
    hits of the query's terms; only the window (plus a margin) is analysed, not the whole section."""
    if len(text) <= width * 2:
        return highlight(text, _mark_spans(text, pq, analyzer, hit_terms, loose=loose), width)
    norm, origin = normalise_with_map(text)
    needles = sorted({t for t in pq.highlight_terms(loose) | hit_terms if t}, key=len, reverse=True)
    rough = _literal_spans(text, pq.literals())
    if needles:
        pattern = re.compile("|".join(re.escape(t) for t in needles))
        rough += [(origin[m.start()], origin[m.end() - 1] + 1) for m in pattern.finditer(norm)]
    start = _best_window(sorted(rough), width, len(text))[0]
    margin = 16  # whole words at the window's edges
    lo, hi = max(0, start - margin), min(len(text), start + width + margin)
    return highlight(text, _mark_spans(text, pq, analyzer, hit_terms, lo, hi, loose), width,
                     window=(start, start + width))


def _best_window(spans: list[tuple[int, int]], width: int, length: int) -> tuple[int, int]:
    best, best_count = 0, -1
    for s, _ in spans or [(0, 0)]:
        lo = max(0, s - width // 4)
        count = sum(1 for a, b in spans if a >= lo and b <= lo + width)
        if count > best_count:
            best, best_count = lo, count
    return best, min(length, best + width)


def highlight(text: str, spans: list[tuple[int, int]], width: int | None = None,
              window: tuple[int, int] | None = None) -> str:
    """HTML-escape ``text`` with <mark> around ``spans``; with ``width``, only the densest window."""
    start, end = 0, len(text)
    if window is not None:
        start, end = window[0], min(len(text), window[1])
    elif width and len(text) > width:
        start, end = _best_window(spans, width, len(text))
    if start != 0 or end != len(text):
        # Never cut through a marked word.
        for a, b in spans:
            if a < end < b:
                end = b
            if a < start < b:
                start = a
    out = ["…" if start > 0 else ""]
    pos = start
    for a, b in spans:
        if b <= start or a >= end:
            continue
        out.append(html.escape(text[pos:a]))
        out.append("<mark>" + html.escape(text[a:b]) + "</mark>")
        pos = b
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


class Speller:
    """Did-you-mean over the index vocabulary: homophones by pinyin (职工之佳 → 职工之家) and one-character
    substitutions (职工之嫁 → 职工之家), preferring the more frequent word. Built lazily, once per index."""

    MAX_TERMS = 200_000

    def __init__(self, store: Backend):
        self.generation = store.current_generation()
        self.by_pinyin: dict[str, tuple[str, int]] = {}
        self.by_mask: dict[str, tuple[str, int]] = {}
        self.vocab: dict[str, int] = {}
        for n, (term, df) in enumerate(store.vocabulary("text")):
            if n >= self.MAX_TERMS:
                break
            self.vocab[term] = df
            if not (2 <= len(term) <= 8) or not _HAN_WORD.match(term) or df < 2:
                continue
            key = " ".join(lazy_pinyin(term))
            if df > self.by_pinyin.get(key, ("", 0))[1]:
                self.by_pinyin[key] = (term, df)
            if len(term) >= 3:
                for i in range(len(term)):
                    mask = term[:i] + "?" + term[i + 1:]
                    if df > self.by_mask.get(mask, ("", 0))[1]:
                        self.by_mask[mask] = (term, df)

    def correct(self, word: str) -> str | None:
        if self.vocab.get(word, 0) >= 2 or not _HAN_WORD.match(word) or len(word) < 2:
            return None
        best = self.by_pinyin.get(" ".join(lazy_pinyin(word)))
        if best is None and len(word) >= 3:
            candidates = [self.by_mask.get(word[:i] + "?" + word[i + 1:]) for i in range(len(word))]
            best = max((c for c in candidates if c), key=lambda c: c[1], default=None)
        return best[0] if best and best[0] != word else None


_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]+$")
_spellers: dict[int, Speller] = {}


def _speller(store: Backend) -> Speller:
    """The store's speller, built again when the index generation changed."""
    speller = _spellers.get(id(store))
    if speller is None or speller.generation != store.current_generation():
        speller = _spellers[id(store)] = Speller(store)
    return speller


def suggest(store: Backend, pq: ParsedQuery) -> str | None:
    """A corrected query when some word of ``pq`` looks like a typo of an indexed word."""
    speller = _speller(store)
    text, changed = pq.text, False
    for clause in pq.must:
        for unit in clause.alternatives:
            fixed = speller.correct("".join(unit.raw.split()))
            if fixed:
                text, changed = text.replace(unit.raw, fixed), True
    return text if changed else None


def _fold(hits: list[RawHit], options: SearchOptions):
    """Collapse near-copies and (when grouping) further sections of a document, a document shown as another
    one it copies (document_merges) included: (results, sections of each document shown, matches folded)."""
    grouped = collapse(hits) if options.collapse else [(h, 0) for h in hits]
    folded = sum(n for _, n in grouped)
    members: dict[str, list] = {}
    if options.group:
        window = hits[:COLLAPSE_WINDOW]
        shown_as = {doc: to for doc, (to, _) in document_merges(window, _keepers(window, options)).items()}
        firsts: list = []
        for hit, similar in grouped:
            doc = members.setdefault(shown_as.get(hit.doc_id, hit.doc_id), [])
            if not doc:
                firsts.append((hit, similar))
            doc.append(hit)
        folded += len(grouped) - len(firsts)
        grouped = firsts
    return grouped, members, folded


def _keepers(window: list[RawHit], options: SearchOptions) -> list[int]:
    return copy_targets(window) if options.collapse else list(range(len(window)))


Pairs = list[tuple[RawHit, RawHit]]  # (a hit of a document, the hit of another document it is a copy of, or has)


def document_merges(window: list[RawHit], keepers: list[int]) -> dict[str, tuple[str, Pairs]]:
    """Documents shown as a better-ranked one: doc_id → (the doc_id it is shown as, the copy pairs that tie
    them). A document goes when every one of its hits is a copy, or when at least half of its hits are copies
    of (or copied by) one better-ranked document: a page and its Word or PDF download are one document."""
    first: dict[str, int] = {}
    hits_of: dict[str, int] = {}
    for i, h in enumerate(window):
        first.setdefault(h.doc_id, i)
        hits_of[h.doc_id] = hits_of.get(h.doc_id, 0) + 1
    copies: dict[str, Pairs] = {}  # a document's hits folded into another hit
    links: dict[tuple[str, str], Pairs] = {}  # (document, other document) → the copy pairs between them
    for i, k in enumerate(keepers):
        if k == i:
            continue
        mine, theirs = window[i], window[k]
        copies.setdefault(mine.doc_id, []).append((mine, theirs))
        if mine.doc_id != theirs.doc_id:
            links.setdefault((mine.doc_id, theirs.doc_id), []).append((mine, theirs))
            links.setdefault((theirs.doc_id, mine.doc_id), []).append((theirs, mine))
    merges: dict[str, tuple[str, Pairs]] = {}
    for doc in sorted(first, key=first.__getitem__):
        if len(copies.get(doc, ())) == hits_of[doc]:
            to, pairs = copies[doc][0][1].doc_id, copies[doc]
        else:
            better = [(len({id(a) for a, _ in pairs}), other, pairs) for (d, other), pairs in links.items()
                      if d == doc and first[other] < first[doc]]
            if not better:
                continue
            tied, to, pairs = max(better, key=lambda b: (b[0], -first[b[1]]))
            if 2 * tied < hits_of[doc]:
                continue
        merges[doc] = (merges.get(to, (to, []))[0], pairs)  # shown as whatever that document is shown as
    return merges


@dataclass
class _Counts:
    sections: int
    documents: int
    facets: dict[str, dict[str, int]]
    approximate: bool  # matches beyond the window where copies were folded: they may hold more copies


def _count(raw: RawResult, options: SearchOptions) -> _Counts:
    """Sections and documents found, near-copies folded, and the documents per facet value: every face counts
    documents, with the sections inside. Copies are folded over the first window of matches (collapse is
    greedy in rank order, so that window folds the same way whatever follows it): the counts are the same on
    every page and for every page size. A document shown as another (document_merges) is not counted."""
    window = raw.hits[:COLLAPSE_WINDOW]
    keepers = _keepers(window, options)
    copies = sum(1 for i, k in enumerate(keepers) if k != i)
    gone = {doc: pairs for doc, (_, pairs) in document_merges(window, keepers).items()}
    # Past the window, copies are assumed as frequent as in it (the counts are then said to be approximate).
    approximate = options.collapse and raw.total > len(window)
    scale = raw.total / len(window) if approximate else 1.0
    sections = max(0, raw.total - round(copies * scale))
    in_window = {h.doc_id for h in window}
    shown = len(in_window - gone.keys())
    if raw.documents < 0:  # the backend did not count documents: those of the window, and the rest as sections
        documents = shown + max(0, raw.total - len(window))
    elif approximate:  # documents past the window fold as often as documents in it (their own share)
        documents = max(shown, round(raw.documents * shown / max(1, len(in_window))))
    else:
        documents = max(shown, raw.documents - len(gone))
    # Every document listed shows at least one section: the estimates of the two must not say otherwise
    # (sections past the window are folded at the window's rate, which can fall below the documents counted).
    documents = min(documents, sections)
    return _Counts(sections, documents, _facets_without_copies(raw.facets, gone), approximate)


def _facets_without_copies(facets: dict[str, dict[str, int]], gone: dict[str, Pairs]):
    """A document shown as another leaves a facet value's count when every section tying it to the other has
    that value too: clicking the value folds it the same way (else the click shows it, and it stays)."""
    if not gone:
        return facets
    out = {name: dict(values) for name, values in facets.items()}
    for pairs in gone.values():
        mine = pairs[0][0].facet_values()
        theirs = [keeper.facet_values() for keeper in {id(k): k for _, k in pairs}.values()]
        for name, values in out.items():
            value = mine[name]
            if values.get(value) and all(other[name] == value for other in theirs):
                values[value] -= 1
    return {name: {v: n for v, n in sorted(values.items(), key=lambda kv: -kv[1]) if n}
            for name, values in out.items()}


def _sections_shown(hits: list[RawHit], options: SearchOptions) -> int:
    return len(collapse(hits)) if options.collapse else len(hits)


def warm_up(store: Backend) -> None:
    """Do once, before serving, what the first queries would otherwise pay for: the did-you-mean vocabulary
    (about a second at 10,000 pages), the table of suggestions as you type (indexer.suggest) and jieba's
    dictionary. A server that forks builds these before it forks, so its processes share them."""
    _speller(store)
    suggester(store, wait=True)
    search(store, "工会", SearchOptions(per_page=1))


def _relaxable(pq: ParsedQuery) -> bool:
    """True when matching fewer words could find more: several clauses, a clause of several words, or a word
    with back-off words (保洁员 → 保洁)."""
    units = [u for c in pq.must for u in c.alternatives]
    return len(pq.must) > 1 or any((len(u.terms) > 1 and not u.phrase) or u.loose for u in units)


_RESULTS = LRU(RESULT_CACHE)  # the last answers of this process, keyed by the index's version and the request


def search(store: Backend, text: str, options: SearchOptions = SearchOptions(),
           max_query_chars: int = 500) -> SearchResult:
    """Run one query. Never raises for odd query text: it is parsed leniently. Answers are cached per process
    while the index stays the same (backends that cannot tell their version are not cached)."""
    started = time.perf_counter()
    version = store.version()
    key = (version, text, options, max_query_chars) if version is not None else None
    found = _RESULTS.get(key) if key is not None else None
    if found is not None:
        return dataclasses.replace(found, took_ms=(time.perf_counter() - started) * 1000)
    result = _search(store, text, options, max_query_chars, started)
    if key is not None:
        _RESULTS.put(key, result)
    return result


def _search(store: Backend, text: str, options: SearchOptions, max_query_chars: int, started: float) -> SearchResult:
    page = max(1, options.page)
    per_page = max(1, options.per_page)
    pq = parse_query(text, store.analyzer, max_query_chars)
    result = SearchResult(query=text, total=0, page=page, per_page=per_page, grouped=options.group)
    if pq.is_empty:
        result.took_ms = (time.perf_counter() - started) * 1000
        return result
    sort = options.sort if options.sort in SORTS else "relevance"
    filters = {k: v for k, v in options.filters if k in FILTERS and v}
    need = page * per_page
    # Collapse runs over a window of the best matches (longer for deep pages); `total` is the matches minus
    # the copies folded in the first window.
    fetch = min(MAX_WINDOW, max(COLLAPSE_WINDOW, need * 3 + 30)) if options.collapse else need
    raw, all_words, notice, counts = _match(store, pq, fetch, sort, filters, options)
    result.partial = notice is not None
    if all_words < SUPPLEMENT_BELOW:
        result.suggestion = suggest(store, pq)
    if not all_words and result.suggestion:
        # No section has all the words, and a spelling whose words some sections have: show its results (as
        # search engines do for a typo) and say so; the supplement of the query as typed is dropped.
        fixed = parse_query(result.suggestion, store.analyzer, max_query_chars)
        fixed_raw, fixed_all, fixed_notice, fixed_counts = _match(store, fixed, fetch, sort, filters, options)
        if fixed_all:
            pq, raw, all_words, counts = fixed, fixed_raw, fixed_all, fixed_counts
            result.corrected, result.partial = result.suggestion, fixed_notice is not None
            notice = f"没有找到“{text.strip()}”的结果，以下为“{result.suggestion}”的结果" + \
                (f"；{fixed_notice}" if fixed_notice else "")
    result.incomplete, result.notice = bool(raw.incomplete), notice
    grouped, members, _ = _fold(raw.hits, options)
    counts = counts or _count(raw, options)
    result.total_sections, result.total, result.facets = counts.sections, counts.documents, counts.facets
    result.total_estimated = raw.estimated or counts.approximate

    def make_hit(hit: RawHit, similar: int, also=()) -> Hit:
        snippet = ""
        if options.snippets:
            snippet = make_snippet(hit.record.text, pq, store.analyzer, hit.terms, options.snippet_chars,
                                   loose=bool(raw.backed_off))
        return Hit(hit.record, hit.score, snippet, similar, also)

    for hit, similar in grouped[(page - 1) * per_page: need]:
        also = tuple(make_hit(h, 0) for h in members.get(hit.doc_id, [])[1:4])
        result.hits.append(make_hit(hit, similar, also))
    result.took_ms = (time.perf_counter() - started) * 1000
    return result


def _match(store: Backend, pq: ParsedQuery, fetch: int, sort: str, filters: dict, options: SearchOptions):
    """The raw hits of a plan: sections with all its words and, when they make fewer than SUPPLEMENT_BELOW
    documents (copies folded), the any-word supplement after them. Whether to add it is decided without the
    filters, so a filter only narrows what the unfiltered search shows: a facet value's count is what its
    click gives. Returns (raw result, how many documents all the words give without filters, the notice, the
    raw result's counts when they were made here)."""
    raw = store.search(pq, fetch, sort=sort, filters=filters)
    first = _count(raw, options)
    counts: _Counts | None = first
    found = first.documents  # documents, grouped or not: one rule for every face
    all_words = found if not filters else _count(store.search(pq, fetch, sort=sort), options).documents
    notice = None
    if all_words < SUPPLEMENT_BELOW and _relaxable(pq):
        extra = store.search(pq, fetch, any_match=True, sort=sort, filters=filters)
        seen = {h.id for h in raw.hits}
        merged = raw.hits + [h for h in extra.hits if h.id not in seen]
        more = _sections_shown(merged, options) > _sections_shown(raw.hits, options)  # the same for every face
        if more:
            notice = ("没有同时包含所有词的结果，以下为包含部分词的结果" if not found else
                      f"同时包含所有词的文档只有 {found} 篇，其后为包含部分词的结果")
            if not found and len(extra.backed_off) == 1 and len(pq.must) == 1:  # one word, found by its parts
                word, parts = extra.backed_off[0]
                notice = f"没有找到“{word}”，以下为包含“{'、'.join(parts)}”的结果"
            elif extra.backed_off:
                notice += "（" + "；".join(f"“{word}”按“{'、'.join(parts)}”查找"
                                          for word, parts in extra.backed_off) + "）"
        if more or filters:
            counts = None
            raw = RawResult(max(extra.total, raw.total), merged, extra.facets, raw.incomplete or extra.incomplete,
                            estimated=raw.estimated or extra.estimated, backed_off=extra.backed_off,
                            documents=max(extra.documents, raw.documents))
    return raw, all_words, notice, counts


def hit_to_json(hit: Hit) -> dict:
    r = hit.record
    return {"id": r.id, "doc_id": r.doc_id, "source": r.source, "document": r.document,
            "page_title": r.page_title, "heading": r.heading, "heading_path": r.heading_path, "text": r.text,
            "snippet": hit.snippet, "score": round(hit.score, 4), "similar": hit.similar, "url": r.url,
            "date": r.date, "year": r.year, "site": r.site, "org_type": r.org_type,
            "also": [hit_to_json(h) for h in hit.also]}


def result_to_json(result: SearchResult) -> dict:
    return {"ok": True, "query": result.query, "total": result.total, "total_sections": result.total_sections,
            "page": result.page,
            "per_page": result.per_page, "took_ms": round(result.took_ms, 1), "partial": result.partial,
            "incomplete": result.incomplete, "total_estimated": result.total_estimated,
            "notice": result.notice, "suggestion": result.suggestion, "corrected": result.corrected,
            "facets": result.facets,
            "results": [hit_to_json(h) for h in result.hits]}
