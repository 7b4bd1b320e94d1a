"""Index step: walk the corpus, load and clean every page, turn documents into section records, and
hand them to the store. Pages are loaded and cleaned in worker processes; failures are collected with a
one-line reason and never stop the run."""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from indexer.analysis import Analyzer, init_jieba
from indexer.config import Config
from indexer.load import LoadError, iter_pages, load_page
from indexer.model import CleanedPage, SectionRecord

BUNDLED_USER_DICT = Path(__file__).parent / "data" / "userdict.txt"
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


def page_key(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]


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


def process_file(path: str, root: str, config: Config) -> FileResult:
    """Load + clean one page. Never raises for a bad page: the failure is in ``error``."""
    from indexer.clean import CleanError, clean_page

    source = Path(path).name
    try:
        page = load_page(path, root, config.clean.max_file_bytes)
        source = page.source
        cleaned = clean_page(page, config.clean)
    except (LoadError, CleanError) as e:
        return FileResult(source, error=f"{e.reason}: {e}")
    except Exception as e:  # a cleaner bug must not stop the run; it is reported like a bad page
        return FileResult(source, error=f"internal: {type(e).__name__}: {str(e)[:120]}")
    records = section_records(cleaned)
    if not records:
        return FileResult(source, error="no_text: no document text left after cleaning")
    dups = sum(1 for d in cleaned.documents if d.duplicate_of is not None)
    return FileResult(source, records, len(cleaned.documents), dups)


def make_analyzer(config: Config) -> Analyzer:
    """Initialise jieba (cache in our own folder, user dictionaries) and build the analyser."""
    dicts = [BUNDLED_USER_DICT]
    if config.analysis.user_dict:
        dicts.append(config.path(config.analysis.user_dict))
    words = [w for group in config.analysis.synonyms for w in group]
    init_jieba(config.cache_path / "jieba", dicts, words)
    return Analyzer(config.analysis.synonyms)


def _worker_init(config: Config) -> None:
    make_analyzer(config)


def _process_star(args):
    return process_file(*args)


@dataclass
class BuildReport:
    pages: int = 0
    indexed: int = 0
    documents: int = 0
    duplicates: int = 0
    sections: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"indexed {self.indexed} of {self.pages} pages: {self.documents} documents "
                 f"({self.duplicates} near-duplicates), {self.sections} sections in {self.seconds:.1f}s"]
        if self.failures:
            reasons = Counter(r.split(":", 1)[0] for _, r in self.failures)
            lines.append(f"skipped {len(self.failures)} pages (" +
                         ", ".join(f"{k} {v}" for k, v in reasons.most_common()) + "):")
            lines += [f"  {src}: {reason}" for src, reason in self.failures]
        return "\n".join(lines)


def clean_corpus(config: Config, paths: list[Path], workers: int | None = None, progress: bool = True):
    """Yield FileResults for ``paths`` (in order), cleaning in a process pool when it pays."""
    root = str(config.source_path)
    jobs = [(str(p), root, config) for p in paths]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    bar = _progress(len(jobs), progress)
    try:
        if workers <= 1 or len(jobs) < 8:
            for job in jobs:
                yield process_file(*job)
                bar.update(1)
            return
        with ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(config,)) as pool:
            for result in pool.map(_process_star, jobs, chunksize=max(1, min(32, len(jobs) // (workers * 8)))):
                yield result
                bar.update(1)
    finally:
        bar.close()


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="page", disable=not enabled or not sys.stderr.isatty(), file=sys.stderr,
                dynamic_ncols=True, desc="indexing")


def build_index(config: Config, store, progress: bool = True, workers: int | None = None) -> BuildReport:
    """Full rebuild of ``config.source_dir`` into a new generation of ``store``."""
    started = time.perf_counter()
    root = config.source_path
    if not root.is_dir():
        raise FileNotFoundError(f"source folder not found: {root}")
    paths = list(iter_pages(root))
    report = BuildReport(pages=len(paths))

    def records():
        for result in clean_corpus(config, paths, workers, progress):
            if result.error:
                report.failures.append((result.source, result.error))
                continue
            report.indexed += 1
            report.documents += result.documents
            report.duplicates += result.duplicates
            report.sections += len(result.records)
            yield from result.records

    store.build(records(), meta={"source_dir": str(root)})
    report.seconds = time.perf_counter() - started
    return report
