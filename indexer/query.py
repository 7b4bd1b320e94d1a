"""The query planner: user query text → one backend-neutral plan. Never raises: bad syntax falls back to words.

Syntax: plain words (all must match), ``"exact phrase"``, ``-exclude``, ``A OR B``, ``title:…``,
``site:…``, ``year:2023``, ``year:2019..2023``. Anything else is just words.

Each word the user typed (a :class:`Unit`) carries every way it may stand in a section, best first, so that a
match never depends on jieba cutting the query and the page the same way:

1. ``terms`` — the analysed words themselves (the index also stacks a long word's dictionary sub-words on its
   position, so 劳动竞赛 is found inside 劳动竞赛月);
2. ``literal`` — the typed text with punctuation and spaces ignored ("“安康杯”竞赛" holds 安康杯竞赛): found
   through the index's character bigrams, then checked against the text; a quoted phrase is matched this way;
3. ``parts`` — a long word's dictionary parts, in order and near each other (拔河比赛 → 拔河 … 比赛);
4. ``loose`` — only when the words find few sections (the any-word supplement): the word's longest dictionary
   sub-words (保洁员 → 保洁), so a query word longer than any word the pages use still finds them.

Backends (indexer/backends/whoosh/render.py, indexer/backends/sphinx/render.py) only render this plan, with
the weights below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from indexer.analysis import Analyzer, cover_subwords, literal_key, maximal_subwords, normalise

_PIECE = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')
_YEAR = re.compile(r"^(\d{4})(?:\s*(?:\.\.|-|~)\s*(\d{4}))?$")
FIELDS = {"title", "site", "year"}
# Words one query may use; the rest are ignored. Each word is a clause over five fields (plus sub-words, bigrams
# and a proximity phrase), and Whoosh's matcher tree grows with their square: 250 words took 100 s to answer.
MAX_TERMS = 32
MAX_UNIT_CHARS = 64  # a longer word or phrase (a pasted sentence) is cut: its character bigrams form one phrase


# Weights of the ways a word may match, relative to the word itself (1.0): a section that holds the word
# ranks above one that holds its text cut otherwise, above one that holds its parts apart, above a loose match.
LITERAL_WEIGHT = 0.6
PARTS_WEIGHT = 0.5
LOOSE_WEIGHT = 0.3
MIN_PART_CHARS = 4  # shorter words have no dictionary parts that cover them (a part is two characters or more)


@dataclass(frozen=True)
class Unit:
    """One thing to match: the analysed terms of a word or a phrase, plus its raw text and its fallbacks."""

    raw: str
    terms: tuple[str, ...]
    phrase: bool = False  # quoted and several words: the literal text must occur (punctuation ignored)
    exact: bool = False  # quoted: no sub-word, part or loose matching

    # Derived from the fields once per unit (a frozen dataclass: cached_property writes the instance dict).
    @cached_property
    def literal(self) -> str:
        """The typed text as the index's bigrams see it ("" under two characters: no bigram to look up)."""
        key = literal_key(self.raw)
        return key if len(key) >= 2 else ""

    @cached_property
    def parts(self) -> tuple[tuple[str, ...], ...]:
        """For each long term, the dictionary words that cover it end to end (() for the others)."""
        if self.exact:
            return tuple(() for _ in self.terms)
        return tuple(tuple(cover_subwords(t)) if len(t) >= MIN_PART_CHARS else () for t in self.terms)

    @cached_property
    def loose(self) -> tuple[str, ...]:
        """Back-off words: each term's longest dictionary sub-words (保洁员 → 保洁). Used only by the any-word
        supplement, when the words themselves find few sections."""
        if self.exact:
            return ()
        out = [p for t in self.terms for p in maximal_subwords(t) if p not in self.terms]
        return tuple(dict.fromkeys(out))


COMMON_SHARE = 0.2  # a word in more than this share of the sections is common: alone, it is no partial answer


@dataclass(frozen=True)
class Clause:
    """Matches when any of its alternatives matches (``A OR B``); a plain word has one."""

    alternatives: tuple[Unit, ...]


@dataclass
class ParsedQuery:
    text: str
    must: list[Clause] = field(default_factory=list)
    exclude: list[Unit] = field(default_factory=list)
    title: list[Unit] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.must or self.title or self.sites or self.year_from)

    def highlight_terms(self, loose: bool = False) -> set[str]:
        """The analysed words a hit may have matched: the terms, their covering parts and (with ``loose``,
        when the any-word supplement ran) the back-off words. Literal matches are marked from ``literals()``."""
        out: set[str] = set()
        for u in [u for c in self.must for u in c.alternatives] + self.title:
            out.update(u.terms)
            out.update(p for parts in u.parts for p in parts)
            if loose:
                out.update(u.loose)
        return out

    def relaxed(self, share: Callable[[str], float]) -> Relaxed:
        """The any-word supplement's plan, given each word's share of the sections (``share``). As in
        Elasticsearch's common-terms query, a section must match at least one selective clause; clauses of
        common words (工会, 职工, 活动 …) only add to the score. Each word also matches by its selective loose
        words (保洁员 → 保洁, never a lone 活动)."""
        def common(unit: Unit) -> bool:
            return bool(unit.terms) and all(share(t) > COMMON_SHARE for t in unit.terms)

        selective: list[Clause] = []
        optional: list[Clause] = []
        for c in self.must:
            (optional if all(common(u) for u in c.alternatives) else selective).append(c)
        if not selective:
            selective, optional = optional, []
        units = [u for c in self.must for u in c.alternatives]
        loose = {u.raw: tuple(w for w in u.loose if share(w) <= COMMON_SHARE) for u in units}
        common_terms = frozenset(t for u in units for t in u.terms if share(t) > COMMON_SHARE)
        return Relaxed(selective, optional, loose, common_terms)

    def literals(self) -> list[str]:
        """The literal keys of the required words (for marking text cut otherwise)."""
        return [u.literal for c in self.must for u in c.alternatives if u.literal]


@dataclass(frozen=True)
class Relaxed:
    """The any-word supplement of a plan (ParsedQuery.relaxed)."""

    any_of: list[Clause]  # a section matches at least one of these
    optional: list[Clause]  # common words: they only add to the score
    loose: dict[str, tuple[str, ...]]  # each word's raw text → the loose words it may also match by
    common: frozenset[str] = frozenset()  # common terms: inside a word of several terms, they only add to the score


def parse_query(text: str, analyzer: Analyzer, max_chars: int = 500) -> ParsedQuery:
    text = (text or "").replace("\x00", " ")[:max_chars]
    # Full-width quotes, colons and minus signs count as syntax too.
    norm = normalise(text).replace("“", '"').replace("”", '"')
    q = ParsedQuery(text=text)
    pending_or = False
    used, seen = 0, set()
    for m in _PIECE.finditer(norm):
        neg, fname, quoted, bare = m.group(1), m.group(2), m.group(3), m.group(4)
        if bare == "or" and not neg and not fname:
            pending_or = bool(q.must)
            continue
        if fname and fname not in FIELDS:
            bare = f"{fname}:{quoted if quoted is not None else bare or ''}"
            fname = None
        value = quoted if quoted is not None else (bare or "")
        if fname == "site":
            if value.strip():
                q.sites.append(value.strip().lower())
            continue
        if fname == "year":
            ym = _YEAR.match(value.strip())
            if ym:
                a, b = int(ym.group(1)), int(ym.group(2) or ym.group(1))
                q.year_from, q.year_to = min(a, b), max(a, b)
                continue
            value = f"year:{value}"
        value, terms = _capped_terms(value, analyzer, keep_repeats=quoted is not None, budget=MAX_TERMS - used)
        if not terms:
            pending_or = False
            continue
        unit = Unit(raw=value, terms=terms, phrase=quoted is not None and len(terms) > 1, exact=quoted is not None)
        if (neg, fname, unit) in seen:  # "工会 工会" is "工会"
            pending_or = False
            continue
        seen.add((neg, fname, unit))
        used += len(terms)
        if neg:
            q.exclude.append(unit)
        elif fname == "title":
            q.title.append(unit)
        elif pending_or:
            last = q.must.pop()
            q.must.append(Clause(last.alternatives + (unit,)))
        else:
            q.must.append(Clause((unit,)))
        pending_or = False
    return q


def _capped_terms(value: str, analyzer: Analyzer, keep_repeats: bool, budget: int) -> tuple[str, tuple[str, ...]]:
    """The analysed terms of ``value`` (repeats dropped unless it is a phrase), at most ``budget`` of them from
    its first MAX_UNIT_CHARS characters, and ``value`` cut after the last term kept."""
    if budget <= 0:
        return value, ()
    terms: list[str] = []
    end = len(value)
    for tok in analyzer.tokens(value, "query"):
        if terms and tok.end > MAX_UNIT_CHARS:
            end = tok.start
            break
        if not keep_repeats and tok.text in terms:
            continue
        if len(terms) == budget:
            end = tok.start
            break
        terms.append(tok.text)
    return value[:end].strip(), tuple(terms)
