"""Suggestions as you type: phrases of the index found by their Chinese prefix (职工 → 职工之家), their full
pinyin (zhigongzhijia) or their pinyin initials (zgzj); traditional input is normalised as the analyser does.

The phrases are document titles and section headings cut into clauses at punctuation (numbering such as 一、
or (2) dropped), the word runs of those clauses that several documents share (职工之家建设), and the index's
frequent compound words (text terms of three or more characters). Each is weighted by an estimate of how many
sections a search for it finds (``estimate``), and the list is sorted by that weight.

Built at index time: after a build or an update is committed, ``suggestion_files(store, …)`` gives the files
that ``indexer.build`` writes into the index generation, so a rebuild swaps them with the index: SUGGEST.json
(the table served) and SUGGEST-STATE.json (which phrases each page gave, so that an update reads only the pages
it changed). ``complete(store, text)`` serves from memory: the table is read once per generation (and again
when an update rewrote it); without the file (an index made before suggestions existed) the same table is made
from the store.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from indexer import jsonio
from indexer.analysis import Analyzer, cut, literal_key, normalise
from indexer.backends.base import Backend, page_documents

log = logging.getLogger(__name__)

SUGGEST_FILE = "SUGGEST.json"
STATE_FILE = "SUGGEST-STATE.json"
FORMAT = 1
STATE_FORMAT = 2  # 2: the state keeps pages as encoded clause codes, and running counts
MAX_ENTRIES = 60_000  # phrases kept in the table, best weighted first
MAX_CHARS = 24  # a longer clause is no suggestion (its word runs may be)
MAX_RUN = 4  # words in a word run
MIN_DOCS = 2  # a word run is a phrase when the titles or headings of this many documents hold it
MIN_COMPOUND_DF = 3  # a compound word of the text is a phrase when this many sections hold it
MAX_COMPOUNDS = 20_000
MAX_QUERY_CHARS = 40  # longer input is cut (nobody types a prefix this long)
DEFAULT_LIMIT, MAX_LIMIT = 8, 20
KINDS = ("title", "heading", "phrase")  # where a phrase comes from, in order of preference
TITLE, HEADING, PHRASE = range(3)

_CLAUSE_SPLIT = re.compile(r"[\s，,。．.；;：:！!？?、“”\"'‘’《》〈〉<>()（）【】\[\]{}…—\-_/|·•~～#@&+=]+")
_ONLY_NUMBERING = re.compile(r"^(?:第?[一二三四五六七八九十百零〇两\d]+[章节条部分篇个]?|[a-zA-Z])$")
_TEMPLATE_YEAR = re.compile(r"^\d{1,3}[*xX×＊]+\s*(?:年度?)?")  # 20xx年, 201*年: a template's blank year
_PIECE = re.compile(r"篇[一二三四五六七八九十百]+$")  # 工作总结篇三: one of a page's numbered pieces
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PINYIN_QUERY = re.compile(r"^[a-z]+$")


# ---- building -------------------------------------------------------------------------------------------------

def clauses(text: str) -> list[str]:
    """The clauses of a title or heading that could be suggestions: cut at punctuation, without numbering or a
    template's blank year, at least two Han characters."""
    out = []
    for part in _CLAUSE_SPLIT.split(_PIECE.sub("", text.strip())):
        part = _TEMPLATE_YEAR.sub("", part).strip("*＊")
        if len(_HAN.findall(part)) >= 2 and not _ONLY_NUMBERING.match(part):
            out.append(part)
    return out


@dataclass
class Phrase:
    text: str  # as it stands in a title or heading (the first one seen)
    terms: str  # the analyser's query terms, space-separated: the words a search for it needs


class SectionHead(Protocol):
    """What the suggestions read of a section (a SectionRecord, or _Head without the text)."""

    @property
    def document(self) -> str: ...

    @property
    def heading(self) -> str: ...

    @property
    def duplicate_of(self) -> str | None: ...


class _Head(NamedTuple):
    document: str
    heading: str
    duplicate_of: str | None


Clause = tuple[str | None, tuple[str, ...]]  # a clause's phrase key (None when too long) and its word runs' keys


class SuggestState:
    """What every page's titles and headings give, kept with the index so that an update reads only its pages:
    each page's documents as codes of the clauses of their titles and headings (2 × clause number + TITLE or
    HEADING), each distinct clause's phrase key and word runs, each phrase's text and words, and the running
    document counts the table is chosen from. An update subtracts the pages it drops and adds the pages it reads:
    its cost follows the pages it changed, not the corpus (at 100,000 pages, counting every page again and
    re-encoding the state took 5 of an update's 10 seconds)."""

    def __init__(self, analyzer: Analyzer, stamp: str = ""):
        self.analyzer = analyzer
        self.stamp = stamp  # the index run that wrote it (the manifest's "updated")
        self.phrases: dict[str, Phrase] = {}
        self.names: list[str] = []  # clause number → clause
        self.clauses: list[Clause] = []  # clause number → its phrase key and word runs
        self.numbers: dict[str, int] = {}  # clause → clause number
        self.pages: dict[str, str] = {}  # source → its documents' clause codes, encoded (see _encode)
        self.whole: Counter = Counter()  # documents holding a phrase as a whole clause
        self.titles: Counter = Counter()  # … of which as a title's clause
        self.runs: Counter = Counter()  # documents holding a word run

    def add_page(self, source: str, documents: Iterable[Sequence[SectionHead]]) -> None:
        self.drop([source])
        docs = []
        for sections in documents:
            if sections[0].duplicate_of:  # a copy of an earlier document of its page counts once, as that one
                continue
            texts = [(sections[0].document, TITLE)] + [(s.heading, HEADING) for s in sections if s.heading]
            doc = [self._number(clause) * 2 + kind for text, kind in texts for clause in clauses(text)]
            docs.append(doc)
            self._count(doc, 1)
        self.pages[source] = _encode(docs)

    def _number(self, clause: str) -> int:
        number = self.numbers.get(clause)
        if number is None:
            number = self.numbers[clause] = len(self.names)
            self.names.append(clause)
            self.clauses.append(self._analyse(clause))
        return number

    def _count(self, doc: list[int], sign: int) -> None:
        """Add (or, with sign -1, take away) one document's phrases and word runs."""
        keys: dict[str, int] = {}
        doc_runs: set[str] = set()
        for code in doc:
            key, clause_runs = self.clauses[code // 2]
            if key is not None:
                keys[key] = min(code % 2, keys.get(key, HEADING))
            doc_runs.update(clause_runs)
        for key, kind in keys.items():
            self.whole[key] += sign
            if kind == TITLE:
                self.titles[key] += sign
        for run in doc_runs:
            self.runs[run] += sign

    def _analyse(self, clause: str) -> Clause:
        tokens = self.analyzer.tokens(clause, "query")
        key = literal_key(clause) if len(clause) <= MAX_CHARS else None
        if key is not None:
            self.phrases.setdefault(key, Phrase(clause, " ".join(t.text for t in tokens)))
        return key, self._runs(clause, tokens)

    def _runs(self, clause: str, tokens: list) -> tuple[str, ...]:
        """Runs of one to MAX_RUN adjacent words of two or more characters with Han in them, that start with no
        adverb, conjunction or the like and end with a noun (职工之家建设; not 职工所, 工会的组织 across a stopword, or
        组织职工开展)."""
        out = []
        for i, first in enumerate(tokens):
            if not _may_start(first.text):
                continue
            for j in range(i, min(i + MAX_RUN, len(tokens))):
                t = tokens[j]
                if len(t.text) < 2 or not _HAN.search(t.text) or (j > i and tokens[j - 1].end != t.start):
                    break
                if not _may_end(t.text):
                    continue
                text = clause[first.start:t.end]
                key = literal_key(text)
                self.phrases.setdefault(key, Phrase(text, " ".join(x.text for x in tokens[i:j + 1])))
                out.append(key)
        return tuple(out)

    def drop(self, sources: Collection[str]) -> None:
        gone = False
        for source in sources:
            encoded = self.pages.pop(source, None)
            for doc in _decode(encoded) if encoded is not None else ():
                self._count(doc, -1)
                gone = True
        if gone:
            for counter in (self.whole, self.titles, self.runs):
                for key in [k for k, n in counter.items() if n <= 0]:
                    del counter[key]

    def counts(self) -> tuple[Counter, Counter, dict[str, int]]:
        """Documents per phrase as a whole clause and as a word run, and each whole clause's best kind."""
        return self.whole, self.runs, {key: TITLE if self.titles[key] > 0 else HEADING for key in self.whole}

    def to_json(self) -> str:
        """Compact: phrases and clauses once each, in lists; a page's documents as clause codes; the counts by
        phrase number. A clause that no page uses any more stays (a full build starts afresh): recounting every
        page to find them would cost what the running counts save."""
        keys = list(self.phrases)
        key_id = {k: i for i, k in enumerate(keys)}
        rows = []
        for clause, (key, runs) in zip(self.names, self.clauses, strict=True):
            rows.append([clause, -1 if key is None else key_id[key], [key_id[k] for k in runs]])
        phrases = [[k, self.phrases[k].text, self.phrases[k].terms] for k in keys]
        counts = {name: [[key_id[k], n] for k, n in counter.items()]
                  for name, counter in (("whole", self.whole), ("titles", self.titles), ("runs", self.runs))}
        return jsonio.dumps({"format": STATE_FORMAT, "stamp": self.stamp, "phrases": phrases, "clauses": rows,
                             "pages": self.pages, "counts": counts})

    @classmethod
    def from_json(cls, analyzer: Analyzer, text: str) -> SuggestState:
        data = jsonio.loads(text)
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"{STATE_FILE} has format {data.get('format')!r}")
        state = cls(analyzer, data.get("stamp", ""))
        keys = [row[0] for row in data["phrases"]]
        state.phrases = {k: Phrase(text, terms) for k, text, terms in data["phrases"]}
        state.names = [row[0] for row in data["clauses"]]
        state.numbers = {c: i for i, c in enumerate(state.names)}
        state.clauses = [(keys[k] if k >= 0 else None, tuple(keys[r] for r in runs)) for _, k, runs in data["clauses"]]
        state.pages = data["pages"]
        if not all(isinstance(v, str) for v in state.pages.values()):
            raise ValueError(f"{STATE_FILE} holds pages in another form")
        for name in ("whole", "titles", "runs"):
            setattr(state, name, Counter({keys[k]: n for k, n in data["counts"][name]}))
        return state


def _encode(docs: list[list[int]]) -> str:
    """A page's documents as one string ("12 7 40|9 3"): the state holds and writes it as is, and only the pages
    an update drops are decoded (at 100,000 pages, lists of numbers took 1.5 s to read and write as JSON)."""
    return "|".join(" ".join(map(str, doc)) for doc in docs)


def _decode(encoded: str) -> list[list[int]]:
    return [[int(code) for code in doc.split()] for doc in encoded.split("|")] if encoded else []


@lru_cache(maxsize=1)
def _tags() -> dict[str, str]:
    """jieba's part-of-speech tags of its dictionary words (words of our own dictionaries have none)."""
    import jieba.posseg  # imported here: it loads the tag table (0.4 s), which only building needs

    return jieba.posseg.dt.word_tag_tab


def _may_start(word: str) -> bool:
    tag = _tags().get(word)
    return tag is None or tag[0] not in "dcpurmqfyeo"  # adverbs, conjunctions, prepositions, particles, pronouns …


def _may_end(word: str) -> bool:
    tag = _tags().get(word)
    return tag is None or tag[0] in "njli" or tag in ("vn", "an", "eng")  # nouns, abbreviations, set phrases


def every_page_documents(store: Backend, pages: Collection[str]) -> Iterator[tuple[str, list[list[_Head]]]]:
    """Each of ``pages`` with its documents (their sections' titles and headings, in order), in page order, from
    one pass over the store (Backend.documents): reading each document by its id took 10 of a full build's
    suggestions' 14 profiled seconds at 10,000 pages (61 s at 100,000), after the workers were done."""
    by_page: dict[str, dict[str, list[_Head]]] = {}
    for sections in store.documents():
        first = sections[0]
        if first.source in pages:
            by_page.setdefault(first.source, {})[first.doc_id] = [_Head(r.document, r.heading, r.duplicate_of)
                                                                  for r in sections]
    for source in sorted(by_page):
        docs = by_page.pop(source)
        yield source, [docs[d] for d in sorted(docs, key=_document_number)]


def _document_number(doc_id: str) -> tuple[int, str]:
    number = doc_id.rpartition("-")[2]  # records.py: <page key>-<document index>
    return (int(number), doc_id) if number.isdigit() else (-1, doc_id)


def _frequencies(store: Backend) -> dict[str, int]:
    """Sections per term of the text (the vocabulary both backends keep; a heading's or title's own words count
    through the documents whose headings and titles hold them, see ``estimate``)."""
    return dict(store.vocabulary("text"))


def estimate(terms: str, docs: int, df: Mapping[str, int], sections: int) -> int:
    """Sections a search for a phrase finds (all its words), estimated: its rarest word's document frequency,
    scaled down by the square root of each other word's share of the sections (halfway between words that always
    come together and words that come together by chance), and at least the documents whose titles and headings
    hold the phrase."""
    counts = sorted(df.get(t, 0) for t in terms.split())
    if not counts or not sections:
        return docs
    found = float(counts[0])
    for n in counts[1:]:
        found *= min(1.0, n / sections) ** 0.5
    return max(docs, round(found))


@lru_cache(maxsize=200_000)
def _word_pinyin(word: str) -> tuple[str, ...]:
    # imported when first needed: 0.5 s, and an update whose phrases all have their pinyin already needs none
    from pypinyin import lazy_pinyin

    return tuple(s.lower() for s in lazy_pinyin(word) if s.strip())


def pinyin_keys(key: str) -> tuple[str, str]:
    """(full pinyin, initials) of a normalised key: 职工之家 → (zhigongzhijia, zgzj). Pinyin is taken word by word
    (jieba's words), so a word's reading is the one its dictionary gives (会计 kuaiji, 工会 gonghui)."""
    syllables = [s for word in cut(key) for s in _word_pinyin(word)]
    return "".join(syllables), "".join(s[0] for s in syllables)


def _choose(state: SuggestState, df: Mapping[str, int]) -> dict[str, tuple[Phrase, int, int]]:
    """key → (phrase, kind, documents): every whole clause, the word runs of MIN_DOCS documents, the compounds."""
    whole, runs, kinds = state.counts()
    chosen = {key: (state.phrases[key], kinds[key], n) for key, n in whole.items()}
    for key, n in runs.items():
        if n >= MIN_DOCS and key not in chosen:
            chosen[key] = (state.phrases[key], PHRASE, n)
    compounds = sorted(((n, t) for t, n in df.items() if n >= MIN_COMPOUND_DF and len(t) >= 3 and t not in chosen
                        and len(_HAN.findall(t)) == len(t)), reverse=True)
    for _, term in compounds[:MAX_COMPOUNDS]:
        chosen[term] = (Phrase(term, term), PHRASE, 0)
    return chosen


def table(state: SuggestState, df: Mapping[str, int], sections: int,
          known: Mapping[str, tuple[str, str]] | None = None) -> dict:
    """The table served: {"format", "sections", "entries": [[text, weight, kind, pinyin, initials], …]}, best
    first. ``known``: pinyin keys already worked out (by the previous table), by phrase key."""
    chosen = _choose(state, df)
    weights = {key: estimate(p.terms, docs, df, sections) for key, (p, _, docs) in chosen.items()}
    ranked = sorted(chosen, key=lambda k: (-weights[k], chosen[k][1], len(chosen[k][0].text), k))[:MAX_ENTRIES]
    known = known or {}
    entries = [[chosen[k][0].text, weights[k], KINDS[chosen[k][1]], *(known.get(k) or pinyin_keys(k))]
               for k in ranked]
    return {"format": FORMAT, "sections": sections, "entries": entries}


def _known_pinyin(store: Backend) -> dict[str, tuple[str, str]]:
    """The pinyin keys of the live table, by phrase key (an update reuses them)."""
    try:
        entries = jsonio.loads(store.read_file(SUGGEST_FILE) or "{}").get("entries", [])
        return {literal_key(e[0]): (e[3], e[4]) for e in entries}
    except (ValueError, AttributeError, IndexError, TypeError):
        return {}


def suggestion_files(store: Backend, pages: Mapping[str, int] | None = None, changed: Collection[str] | None = None,
                     stamp: str = "", previous: str | None = None) -> dict[str, str]:
    """SUGGEST.json and SUGGEST-STATE.json for the store's live index. ``pages``: every indexed page with its
    sections (default: ``store.sources()``). ``changed``: the pages an update added, changed or removed (None:
    read every page). The state in the generation is reused only when it was written by the run ``previous``
    names (the manifest's "updated" of the index before this run); ``stamp`` names this run."""
    started = time.perf_counter()
    pages = store.sources() if pages is None else pages
    state = _previous_state(store, previous) if changed is not None else None
    known: dict[str, tuple[str, str]] = {}
    if state is None or changed is None:
        state, todo = SuggestState(store.analyzer), list(pages)
        for source, documents in every_page_documents(store, pages):
            state.add_page(source, documents)
    else:
        state.drop(set(changed) | (state.pages.keys() - pages.keys()))
        todo = [s for s in changed if s in pages]
        known = _known_pinyin(store)
        for source in sorted(todo):
            state.add_page(source, page_documents(store, source, pages[source]))
    state.stamp = stamp
    data = table(state, _frequencies(store), sum(pages.values()), known)
    log.info("suggestions: %d phrases, %d pages read in %.1fs", len(data["entries"]), len(todo),
             time.perf_counter() - started)
    return {SUGGEST_FILE: jsonio.dumps(data), STATE_FILE: state.to_json()}


def _previous_state(store: Backend, previous: str | None) -> SuggestState | None:
    text = store.read_file(STATE_FILE)
    if not text or previous is None:
        return None
    try:
        state = SuggestState.from_json(store.analyzer, text)
    except (ValueError, KeyError, TypeError, IndexError):
        log.warning("%s cannot be read; reading every page again", STATE_FILE)
        return None
    return state if state.stamp == previous else None


def build_suggestions(store: Backend) -> dict:
    """The table for the store's live index, made from the store alone (every page read)."""
    state = SuggestState(store.analyzer)
    pages = store.sources()
    for source, documents in every_page_documents(store, pages):
        state.add_page(source, documents)
    return table(state, _frequencies(store), sum(pages.values()))


# ---- serving --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Suggestion:
    text: str
    weight: int  # estimated sections a search for it finds (the order of the list)
    kind: str  # title, heading or phrase
    match: str  # prefix, pinyin or initials: how the input matched


class _PrefixIndex:
    """Keys in sorted order with the rank of their entry: the best ranks among the keys starting with a prefix
    come from one bisect and a partial sort of the ranks in that range."""

    def __init__(self, keys: list[str]):
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self.keys = [keys[i] for i in order]
        self.ranks = np.array(order, dtype=np.int32)

    def best(self, prefix: str, k: int) -> list[int]:
        lo = bisect_left(self.keys, prefix)
        hi = bisect_left(self.keys, prefix + "\U0010ffff", lo)
        ranks = self.ranks[lo:hi]
        if len(ranks) > k:
            ranks = np.partition(ranks, k - 1)[:k]
        return sorted(ranks.tolist())


class Suggester:
    """One suggestion table in memory, with its three prefix indexes."""

    def __init__(self, data: dict):
        entries = data.get("entries", [])
        self.texts = [e[0] for e in entries]
        self.weights = [int(e[1]) for e in entries]
        self.kinds = [e[2] for e in entries]
        self.by_text = _PrefixIndex([literal_key(t) for t in self.texts])
        self.by_pinyin = _PrefixIndex([e[3] for e in entries])
        self.by_initials = _PrefixIndex([e[4] for e in entries])

    def __len__(self) -> int:
        return len(self.texts)

    def complete(self, text: str, limit: int = DEFAULT_LIMIT) -> list[Suggestion]:
        """The best phrases for what has been typed so far (never raises for odd input)."""
        key = literal_key(normalise(text[:MAX_QUERY_CHARS]))
        limit = max(1, min(MAX_LIMIT, limit))
        if not key:
            return []
        found: dict[int, str] = {}
        for rank in self.by_text.best(key, limit):
            found.setdefault(rank, "prefix")
        if re.search("[a-z]", key):
            full = pinyin_keys(key)[0] if _HAN.search(key) else key
            for rank in self.by_pinyin.best(full, limit):
                found.setdefault(rank, "pinyin")
            if _PINYIN_QUERY.match(key):
                for rank in self.by_initials.best(key, limit):
                    found.setdefault(rank, "initials")
        return [Suggestion(self.texts[r], self.weights[r], self.kinds[r], found[r]) for r in sorted(found)[:limit]]


_tables: dict[int, tuple[tuple | None, Suggester]] = {}
_making: set[tuple] = set()  # stamps whose table a background thread is making
_lock = threading.Lock()
GRACE_SECONDS = 120  # a generation this new may still get its SUGGEST.json from the index run that made it


def _stamp(store: Backend) -> tuple | None:
    """What identifies the store's suggestion table now: the generation and SUGGEST.json's modification time."""
    gen = store.current_generation()
    if gen is None:
        return None
    try:
        return str(gen), (gen / SUGGEST_FILE).stat().st_mtime_ns
    except OSError:
        return str(gen), None


def suggester(store: Backend, wait: bool = False) -> Suggester:
    """The store's suggestion table, read again when the index generation (or its SUGGEST.json) changed.

    A generation without SUGGEST.json (an index made before suggestions existed, or one whose index run is
    writing it right now) gets the table made from the store: at once with ``wait`` (the server's warm-up), else
    in a background thread, and only once the generation is GRACE_SECONDS old; meanwhile the previous table
    serves (a request never waits seconds for it)."""
    stamp = _stamp(store)
    cached = _tables.get(id(store))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    if stamp is not None and stamp[1] is None and not wait:
        _make_later(store, stamp)
        return cached[1] if cached is not None else Suggester({})
    with _lock:  # one thread reads the file; the others then find it
        cached = _tables.get(id(store))
        if cached is None or cached[0] != stamp:
            cached = _tables[id(store)] = (stamp, _load(store, stamp))
    return cached[1]


def _make_later(store: Backend, stamp: tuple) -> None:
    try:
        age = time.time() - (Path(stamp[0]) / "META.json").stat().st_mtime
    except OSError:
        age = GRACE_SECONDS
    with _lock:
        if age < GRACE_SECONDS or stamp in _making:
            return
        _making.add(stamp)

    def make() -> None:
        try:
            table = _load(store, stamp)
            with _lock:
                if _stamp(store) == stamp:
                    _tables[id(store)] = (stamp, table)
        except Exception:
            log.exception("could not make the suggestions of %s", stamp[0])
        finally:
            with _lock:
                _making.discard(stamp)

    threading.Thread(target=make, name="suggestions", daemon=True).start()


def _load(store: Backend, stamp: tuple | None) -> Suggester:
    if stamp is None:
        return Suggester({})
    if stamp[1] is not None:
        try:
            data = jsonio.loads(store.read_file(SUGGEST_FILE) or "{}")
            if data.get("format") == FORMAT:
                return Suggester(data)
            log.warning("%s in %s has another format; making suggestions from the index", SUGGEST_FILE, stamp[0])
        except (ValueError, TypeError, IndexError, AttributeError):
            log.warning("%s in %s cannot be read; making suggestions from the index", SUGGEST_FILE, stamp[0])
    log.info("making the suggestions of %s from the index (it has no %s)", stamp[0], SUGGEST_FILE)
    return Suggester(build_suggestions(store))


def complete(store: Backend, text: str, limit: int = DEFAULT_LIMIT) -> list[Suggestion]:
    """Suggestions for ``text`` from the store's live index, best first."""
    return suggester(store).complete(text, limit)
