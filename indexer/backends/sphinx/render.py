"""The query plan (indexer/query.py) rendered as SphinxQL MATCH() text, tier for tier as the Whoosh backend
renders it (indexer/backends/whoosh/render.py): each word by itself, by its covering parts near each other
(``"a b"~N``), by its literal text (a phrase on ``bigrams``), and in the any-word supplement by its loose words,
common words only adding to the score (``MAYBE``)."""

from __future__ import annotations

from indexer import analysis
from indexer.backends.base import PARTS_SLOP
from indexer.backends.sphinx.rows import MARKER, sphinx_word
from indexer.query import ParsedQuery, Relaxed, Unit

WORDS = "w_title,w_doc,w_head,w_text"
EVERY = WORDS + ",s_title,s_doc,s_head,s_text"
PARTS_FIELDS = "w_head,w_text,s_head,s_text"  # where a long word's parts count near each other (Whoosh: heading, text)


def term_match(term: str, parts: tuple[str, ...]) -> str:
    """A word, or its covering parts near each other in a heading or the text (Whoosh: a BestOf)."""
    word = sphinx_word(term)
    if not parts:
        return word
    near = " ".join(sphinx_word(p) for p in parts)
    return f'({word} | (@({PARTS_FIELDS}) "{near}"~{PARTS_SLOP}))'


def unit_match(unit: Unit, all_fields: str, any_term: bool = False, loose: tuple[str, ...] = (),
          common: frozenset[str] = frozenset()) -> str:
    """One typed word or phrase as MATCH text, from the plan's tiers: its words (with their parts), its
    literal text (a phrase of bigrams), and (any-word supplement) its loose words."""
    literal = ""
    if unit.literal:
        literal = f'(@bigrams "{" ".join(sphinx_word(p) for p in analysis.pairs(unit.literal))}")'
    if unit.phrase:
        return literal or f"(@marker {MARKER} -@marker {MARKER})"
    words = [term_match(t, p) for t, p in zip(unit.terms, unit.parts, strict=True)]
    if any_term and len(words) > 1:
        chosen = [w for w, t in zip(words, unit.terms, strict=True) if t not in common] or words
        extra = [w for w, t in zip(words, unit.terms, strict=True) if t in common and w not in chosen]
        inner = f"(@({all_fields}) ({' | '.join(chosen)}))"
        if extra:
            inner = f"({inner} MAYBE (@({all_fields}) ({' | '.join(extra)})))"
    else:
        inner = f"(@({all_fields}) ({' '.join(words)}))"
    alternatives = [inner] + ([literal] if literal else [])
    if loose:
        alternatives.append(f"(@({all_fields}) ({' | '.join(sphinx_word(w) for w in loose)}))")
    return alternatives[0] if len(alternatives) == 1 else "(" + " | ".join(alternatives) + ")"


def to_match(pq: ParsedQuery, relaxed: Relaxed | None = None) -> str | None:
    """The plan → SphinxQL MATCH() text (every keyword is one of our tokens or a hash token); with
    ``relaxed`` (ParsedQuery.relaxed), its any-word supplement."""
    def clause(c) -> str:
        return "(" + " | ".join(
            unit_match(u, EVERY, any_term=relaxed is not None,
                       loose=relaxed.loose.get(u.raw, ()) if relaxed else (),
                       common=relaxed.common if relaxed else frozenset())
            for u in c.alternatives) + ")"

    clauses = [clause(c) for c in (relaxed.any_of if relaxed else pq.must)]
    if relaxed is not None and clauses:
        clauses = ["(" + " | ".join(clauses) + ")"]
        if relaxed.optional:
            clauses = [f"({clauses[0]} MAYBE ({' | '.join(clause(c) for c in relaxed.optional)}))"]
    title = "w_title,w_doc,s_title,s_doc"
    clauses += [f'(@(w_title,w_doc) "{" ".join(sphinx_word(t) for t in u.terms)}")' if u.phrase else
                f"(@({title}) ({' '.join(sphinx_word(t) for t in u.terms)}))" for u in pq.title]
    if not clauses and not pq.exclude:
        return None
    if not clauses:
        clauses = [f"(@marker {MARKER})"]
    excluded = [f"-{unit_match(u, EVERY)}" for u in pq.exclude]
    return " ".join(clauses + excluded)
