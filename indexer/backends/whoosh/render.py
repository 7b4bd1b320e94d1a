"""The query plan (indexer/query.py) rendered as a Whoosh query: each typed word's tiers (the word or its
covering parts, its literal text, its loose words) as one BestOf, the any-word relaxation, filters, proximity
and exclusions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from whoosh import query as wq
from whoosh.matching import DisjunctionMaxMatcher, NullMatcher
from whoosh.reading import TermNotFound

from indexer.backends.base import FIELD_BOOSTS, PARTS_SLOP
from indexer.backends.whoosh.arrays import LiteralQuery
from indexer.backends.whoosh.schema import RECORD_FIELDS
from indexer.query import LITERAL_WEIGHT, LOOSE_WEIGHT, PARTS_WEIGHT, ParsedQuery, Unit

PROXIMITY_SLOP, PROXIMITY_BOOST = 8, 0.25
PARTS_FIELDS = ("text", "heading")
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


def matches(q: wq.Query, searcher) -> Iterator[int]:
    """The documents ``q`` matches, in order, over every segment (global document numbers), lazily."""
    for sub, offset in searcher.leaf_searchers():
        for docnum in _leaf_matches(q, sub):
            yield docnum + offset


_HEADING, _TEXT = RECORD_FIELDS.index("heading"), RECORD_FIELDS.index("text")


def _literal_text(searcher, docnum: int) -> str:
    """What a section's literal key is taken from (as its ``grams`` field): heading and text."""
    values = searcher.stored_fields(docnum)["record"]
    return values[_HEADING] + "\n" + values[_TEXT]


def words_query(terms: list[str] | tuple[str, ...], fields_boosts: dict[str, float]) -> wq.Query:
    """All of ``terms``, each in any of the fields."""
    parts = [wq.Or([wq.Term(f, t, boost=b) for f, b in fields_boosts.items()]) for t in terms]
    return parts[0] if len(parts) == 1 else wq.And(parts)

def term_query(term: str, parts: tuple[str, ...], fields_boosts: dict[str, float]) -> wq.Query:
    """A word, or (scored lower) the dictionary parts that cover it, in order and near each other in the
    text or a heading (拔河、跳绳等比赛 for 拔河比赛). Alternatives (BestOf): a section holding the word
    scores by the word."""
    q = words_query([term], fields_boosts)
    if not parts:
        return q
    near = [wq.Phrase(f, list(parts), slop=PARTS_SLOP, boost=fields_boosts[f] * PARTS_WEIGHT)
            for f in PARTS_FIELDS if f in fields_boosts]
    if not near:
        return q
    return BestOf([q, near[0] if len(near) == 1 else wq.Or(near)])

def unit_query(unit: Unit, fields_boosts: dict[str, float], any_term: bool = False,
                loose: tuple[str, ...] = (), common: frozenset[str] = frozenset()) -> wq.Query:
    """One typed word or phrase, rendered from the plan's tiers (indexer/query.py): its words (with their
    covering parts), else its literal text, else (``loose``) its back-off words."""
    literal = LiteralQuery(unit.literal, _literal_text, boost=1.0 if unit.exact else LITERAL_WEIGHT) \
        if unit.literal else None
    if unit.phrase:  # quoted words: the text must occur as typed (punctuation and spaces ignored)
        return literal if literal is not None else wq.NullQuery
    words = [term_query(t, p, fields_boosts) for t, p in zip(unit.terms, unit.parts, strict=True)]
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
        alternatives.append(wq.Or([words_query([w], low) for w in loose]))
    return alternatives[0] if len(alternatives) == 1 else BestOf(alternatives)

def to_whoosh(pq: ParsedQuery, any_match: bool = False, share: Callable[[str], float] | None = None) -> wq.Query:
    """The plan → a Whoosh query. ``any_match`` renders the any-word supplement (ParsedQuery.relaxed, with
    ``share(term)``: a word's share of the sections): any selective word, more is better, common words only
    adding to the score, each word also matching (scored lowest) by its loose words."""
    relaxed = pq.relaxed(share or (lambda t: 0.0)) if any_match else None

    def clause_query(c) -> wq.Query:
        return wq.Or([unit_query(u, FIELD_BOOSTS, any_term=any_match,
                                       loose=relaxed.loose.get(u.raw, ()) if relaxed else (),
                                       common=relaxed.common if relaxed else frozenset())
                      for u in c.alternatives])

    clauses = [clause_query(c) for c in (relaxed.any_of if relaxed else pq.must)]
    title_fields = {"document": 1.0, "page_title": 1.0}
    filters = [words_query(u.terms, title_fields) if not u.phrase else
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
        q = wq.AndNot(q, wq.Or([unit_query(u, FIELD_BOOSTS) for u in pq.exclude]))
    return q
