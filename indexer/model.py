"""Dataclasses passed between the steps of the flow.

saved page --load--> LoadedPage --clean--> CleanedPage(Document(Section))
--index--> (store) --search--> SearchResult(Hit)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadedPage:
    """A saved page decoded to text, with what the bytes told us about its source."""

    path: str  # absolute path on disk
    source: str  # path relative to the corpus root (posix separators); the page's identity
    kind: str  # "html" or "text"
    text: str  # decoded markup (html) or plain text (text)
    encoding: str  # codec actually used to decode
    replaced: int = 0  # characters replaced while decoding (0 for a clean decode)
    url: str | None = None  # from a "saved from url=" comment, if any


@dataclass(frozen=True)
class Section:
    """A run of text under one heading; ``heading`` is "" for a lead section."""

    heading: str
    text: str  # paragraphs joined with "\n"
    path: tuple[str, ...] = ()  # heading path, outermost first, ending with ``heading``


@dataclass(frozen=True)
class Document:
    """One article of a page (a page may hold several: 篇一, 篇二 …)."""

    title: str
    sections: tuple[Section, ...]
    duplicate_of: int | None = None  # index of an earlier near-identical document on the page


@dataclass(frozen=True)
class CleanedPage:
    """A page reduced to its documents, plus metadata."""

    source: str
    title: str
    url: str | None
    date: str | None  # ISO "YYYY-MM-DD" (or "YYYY-MM" / "YYYY" when that is all we know)
    site: str | None  # domain of ``url``
    encoding: str
    documents: tuple[Document, ...]

    def to_text(self) -> str:
        """A readable dump: metadata line, then each document with its headings (path) and text."""
        out = [f"# {self.title}", f"url: {self.url or '-'}  date: {self.date or '-'}  site: {self.site or '-'}  "
               f"encoding: {self.encoding}"]
        for i, d in enumerate(self.documents):
            dup = f"  (copy of document {d.duplicate_of + 1})" if d.duplicate_of is not None else ""
            out += ["", f"== {i + 1}. {d.title}{dup}"]
            for s in d.sections:
                if s.heading:
                    out += ["", f"-- {' › '.join(s.path) or s.heading}"]
                if s.text:
                    out.append(s.text)
        return "\n".join(out)

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "date": self.date,
            "site": self.site,
            "encoding": self.encoding,
            "documents": [
                {
                    "title": d.title,
                    "duplicate_of": d.duplicate_of,
                    "sections": [
                        {"heading": s.heading, "path": list(s.path), "text": s.text} for s in d.sections
                    ],
                }
                for d in self.documents
            ],
        }


@dataclass(frozen=True)
class SectionRecord:
    """What the store keeps per section: the unit of search."""

    id: str  # stable: "<source>#<doc>.<section>"
    source: str
    doc_index: int
    section_index: int
    page_title: str
    document: str  # document title
    heading: str
    heading_path: str  # " › ".join(path)
    text: str
    url: str | None
    date: str | None
    year: int | None
    site: str | None
    org_type: str | None = None  # 机关/医院/学校/企业 … inferred from title and text
    duplicate_of: str | None = None  # id of an earlier near-identical section
    doc_id: str = ""  # "<page key>-<doc_index>": the id of the document page


@dataclass(frozen=True)
class Hit:
    """One ranked result."""

    record: SectionRecord
    score: float
    snippet: str  # HTML-escaped text with <mark> around matched terms
    similar: int = 0  # near-duplicate sections collapsed into this one
    also: tuple[Hit, ...] = ()  # other matching sections of the same document (when grouping)


@dataclass
class SearchResult:
    query: str
    total: int  # documents found (near-copies folded): the count every face shows
    page: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)
    took_ms: float = 0.0
    notice: str | None = None  # e.g. "no section has every word; showing partial matches"
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None  # "did you mean" when nothing was found
    corrected: str | None = None  # the suggestion whose results are shown, when the query itself found nothing
    partial: bool = False  # fell back to any-word matching
    incomplete: bool = False  # some index node did not answer: results may be missing (sphinx backend)
    total_sections: int = 0  # the sections found in those documents (the unit of ``group=section`` lists)
    total_estimated: bool = False  # a broad query: total and facet counts extrapolated from the first matches
    grouped: bool = True  # the list shows documents (else sections: ``group=section``)

    @property
    def pages(self) -> int:
        listed = self.total if self.grouped else self.total_sections
        return max(1, -(-listed // self.per_page)) if self.per_page else 1


def page_key(source: str) -> str:
    """The key of a saved page in section ids: ``<page key>-<document>.<section>``."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]
