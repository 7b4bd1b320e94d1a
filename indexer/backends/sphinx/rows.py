"""Sections as Sphinx RT rows: our analyser's words in order (``w_*`` fields), the sub-words it stacks on a
word's position (``s_*``), the bigrams of the literal key (``bigrams``), and the record as string attributes;
and the rows read back as SectionRecords."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import lru_cache

from indexer import analysis
from indexer.backends.base import site_keys
from indexer.backends.sphinx.cluster import STRING_ATTRS, TEXT_FIELDS
from indexer.model import SectionRecord

# Record attribute → (words field, stacked sub-words field).
WORD_FIELDS = {"page_title": ("w_title", "s_title"), "document": ("w_doc", "s_doc"),
               "heading": ("w_head", "s_head"), "text": ("w_text", "s_text")}
MARKER = "usall"  # every row's ``marker`` field holds it: a MATCH that any row satisfies
SELECT_ATTRS = ("id", *STRING_ATTRS, "doc_index", "section_index", "year")
INSERT_COLUMNS = ("id", *TEXT_FIELDS, *STRING_ATTRS, "doc_index", "section_index", "year", "site_keys")
_SAFE_WORD = re.compile(r"^[0-9a-z\u3400-\u9fff\uf900-\ufaff]+$")


def sphinx_word(term: str) -> str:
    """``term`` as one searchd keyword: itself when made of word characters only, else a stable hash token
    (so 'c++', '3.5' or 'covid-19' survive searchd's tokeniser and never read as query syntax)."""
    if _SAFE_WORD.match(term):
        return term
    return "zq" + hashlib.blake2b(term.encode("utf-8"), digest_size=8).hexdigest()


def escape_match(text: str) -> str:
    """Backslash every SphinxQL full-text operator character (for text that is not one of our tokens)."""
    return re.sub(r'([\\()|\-!@~"&/^$=<>\[\]*?\'%:])', r"\\\1", text)


def key_of(value: str) -> int:
    """A positive 63-bit hash: document ids and site suffix keys."""
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big") >> 1 or 1


def shard_of(source: str, shards: int) -> int:
    """The shard a page's sections live in (all sections of a page together)."""
    return int.from_bytes(hashlib.sha1(source.encode("utf-8")).digest()[:8], "big") % shards


def _split_tokens(tokens: list[analysis.Token]) -> tuple[str, str]:
    """Words in order (the first token at each position) and the sub-words stacked on them."""
    words: list[str] = []
    subs: list[str] = []
    last = None
    for t in tokens:
        (subs if t.pos == last else words).append(sphinx_word(t.text))
        last = t.pos
    return " ".join(words), " ".join(subs)


class RowMaker:
    """SectionRecord → the values of one RT row (analysis happens here), plus text-field document frequencies."""

    def __init__(self, analyzer: analysis.Analyzer):
        self.analyzer = analyzer
        self.short = lru_cache(maxsize=20_000)(self._analyse)  # titles repeat on every section of a document

    def _analyse(self, value: str) -> tuple[tuple[str, str], frozenset[str]]:
        tokens = self.analyzer.tokens(value, "index")
        return _split_tokens(tokens), frozenset(t.text for t in tokens)

    def analyse(self, value: str) -> tuple[tuple[str, str], frozenset[str]]:
        return self.short(value) if len(value) <= 100 else self._analyse(value)

    def row(self, r: SectionRecord, df: Counter | None = None) -> tuple:
        texts = {}
        for attr, (w, s) in WORD_FIELDS.items():
            (texts[w], texts[s]), terms = self.analyse(getattr(r, attr) or "")
            if attr == "text" and df is not None:
                df.update(terms)
        key = analysis.literal_key("\n".join((r.heading, r.text)))
        texts["bigrams"] = " ".join(sphinx_word(p) for p in analysis.pairs(key))
        texts["marker"] = MARKER
        keys = tuple(key_of(k) for k in site_keys(r.site).split())
        strings = dict(sid=r.id, doc_id=r.doc_id, source=r.source, page_title=r.page_title, document=r.document,
                       heading=r.heading, heading_path=r.heading_path, text=r.text, url=r.url or "",
                       date=r.date or "", site=r.site or "", org_type=r.org_type or "",
                       duplicate_of=r.duplicate_of or "")
        # SphinxQL reads the escaped NUL pymysql writes as "0"; the cleaner never leaves one, drop any other.
        values = (strings[a].replace("\x00", "") for a in STRING_ATTRS)
        return (key_of(r.id), *(texts[f] for f in TEXT_FIELDS), *values,
                r.doc_index, r.section_index, r.year or 0, keys)


def record_of(row: dict) -> SectionRecord:
    return SectionRecord(
        id=row["sid"], source=row["source"], doc_index=int(row["doc_index"]),
        section_index=int(row["section_index"]), page_title=row["page_title"], document=row["document"],
        heading=row["heading"], heading_path=row["heading_path"], text=row["text"], url=row["url"] or None,
        date=row["date"] or None, year=int(row["year"]) or None, site=row["site"] or None,
        org_type=row["org_type"] or None, duplicate_of=row["duplicate_of"] or None, doc_id=row["doc_id"],
    )


def row_dict(row: tuple) -> dict:
    return dict(zip(SELECT_ATTRS, row, strict=False))
