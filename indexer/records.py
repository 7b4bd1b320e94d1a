"""Records step: one saved page → load → clean → the section records the index holds (with the document's
organisation type and year inferred from its title and text)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from indexer.clean import CleanError, clean_page
from indexer.config import Config
from indexer.load import LoadError, load_page
from indexer.model import CleanedPage, SectionRecord, page_key

log = logging.getLogger(__name__)

_YEAR = re.compile(r"(19[89]\d|20[0-4]\d)\s*年?")
# Organisation types, most specific first: (label, pattern over the title, then the text's start).
ORG_TYPES = (
    ("县区总工会", re.compile(r"[县区市州省旗]总工会")),
    ("医院", re.compile(r"医院|卫生院|卫健|卫生系统|护理")),
    ("学校", re.compile(r"学校|[大中小]学|学院|教育局|幼儿园|教职工|教代会|[^\s]校")),
    ("街道社区", re.compile(r"街道|社区")),
    ("乡镇", re.compile(r"乡镇|[^城]镇|乡")),
    ("企业", re.compile(r"公司|企业|集团|[^工]厂|车间|煤矿|银行|电力|供电")),
    ("机关", re.compile(r"机关|[^结]局|委员会|政府|办公室|事业单位")),
)


def infer_org_type(title: str, text: str) -> str | None:
    for where in (title, text[:300]):
        for label, pattern in ORG_TYPES:
            if pattern.search(where):
                return label
    return None


def infer_year(date: str | None, *texts: str) -> int | None:
    if date and date[:4].isdigit():
        return int(date[:4])
    for t in texts:
        m = _YEAR.search(t or "")
        if m:
            return int(m.group(1))
    return None


def section_records(page: CleanedPage) -> list[SectionRecord]:
    key = page_key(page.source)
    out: list[SectionRecord] = []
    for d, doc in enumerate(page.documents):
        doc_id = f"{key}-{d}"
        body = "\n".join(s.text for s in doc.sections)
        org = infer_org_type(doc.title or page.title, body)
        year = infer_year(page.date, doc.title, page.title)
        for s, sec in enumerate(doc.sections):
            dup = None
            if doc.duplicate_of is not None and s < len(page.documents[doc.duplicate_of].sections):
                dup = f"{key}-{doc.duplicate_of}.{s}"
            out.append(SectionRecord(
                id=f"{doc_id}.{s}", doc_id=doc_id, source=page.source, doc_index=d, section_index=s,
                page_title=page.title, document=doc.title or page.title, heading=sec.heading,
                heading_path=" › ".join(sec.path) if sec.path else sec.heading, text=sec.text,
                url=page.url, date=page.date, year=year, site=page.site, org_type=org, duplicate_of=dup,
            ))
    return out



@dataclass
class FileResult:
    source: str
    records: list[SectionRecord] = field(default_factory=list)
    documents: int = 0
    duplicates: int = 0
    error: str | None = None  # "reason: message"
    replaced: int = 0  # characters replaced while decoding (undecodable bytes)


def process_file(path: str, root: str, config: Config) -> FileResult:
    """Load + clean one page. Never raises for a bad page: the failure is in ``error``."""
    source = Path(path).name
    try:
        page = load_page(path, root, config.clean.max_file_bytes)
        source = page.source
        cleaned = clean_page(page, config.clean)
    except (LoadError, CleanError) as e:
        return FileResult(source, error=f"{e.reason}: {e}")
    except Exception as e:  # a cleaner bug must not stop the run: reported like a bad page, logged in full
        log.exception("internal error while cleaning %s", source)
        return FileResult(source, error=f"internal: {type(e).__name__}: {str(e)[:120]}")
    records = section_records(cleaned)
    if not records:
        return FileResult(source, error="no_text: no document text left after cleaning")
    dups = sum(1 for d in cleaned.documents if d.duplicate_of is not None)
    return FileResult(source, records, len(cleaned.documents), dups, replaced=page.replaced)
