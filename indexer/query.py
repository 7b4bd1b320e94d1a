"""User query text → a small query tree. Never raises: bad syntax falls back to plain words.

Syntax: plain words (all must match), ``"exact phrase"``, ``-exclude``, ``A OR B``, ``title:…``,
``site:…``, ``year:2023``, ``year:2019..2023``. Anything else is just words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.analysis import Analyzer, cover_subwords, normalise, squash

_PIECE = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')
_YEAR = re.compile(r"^(\d{4})(?:\s*(?:\.\.|-|~)\s*(\d{4}))?$")
FIELDS = {"title", "site", "year"}
# Words one query may use; the rest are ignored. Each word is a clause over five fields (plus sub-words, bigrams
# and a proximity phrase), and Whoosh's matcher tree grows with their square: 250 words took 100 s to answer.
MAX_TERMS = 32
MAX_UNIT_CHARS = 64  # a longer word or phrase (a pasted sentence) is cut: its character bigrams form one phrase


@dataclass(frozen=True)
class Unit:
    """One thing to match: the analysed terms of a word or a phrase, plus its raw text."""

    raw: str
    terms: tuple[str, ...]
    phrase: bool = False  # terms must be adjacent and in order
    exact: bool = False  # quoted: no sub-word or partial matching


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

    def highlight_terms(self) -> set[str]:
        out = {t for c in self.must for u in c.alternatives for t in u.terms}
        out.update(t for u in self.title for t in u.terms)
        return out


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


def literal_anchors(unit: Unit, known: Callable[[str], bool] | None = None) -> list[str]:
    """The whole words the sections holding ``unit``'s text literally must have (the literal fallback of both
    backends, for a phrase jieba cut differently): its known terms, and the known dictionary parts of the
    others, two characters or more. [] when there is nothing to anchor on or the text is under two characters."""
    if len(squash(unit.raw)) < 2:
        return []
    return [p for t in unit.terms for p in ([t] if known is None or known(t) else cover_subwords(t))
            if len(p) >= 2 and (known is None or known(p))]
