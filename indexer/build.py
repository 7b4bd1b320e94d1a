"""Index step: walk the corpus, load and clean every page, turn documents into section records, and
hand them to the store.

A manifest beside the index (indexer.manifest) says what each page gave last time, so a run re-cleans only
new or changed pages and removes the sections of deleted ones, in one store transaction; a full rebuild
(``full=True``, no manifest, or changed analyser/cleaner settings) writes a new generation that goes live
only when complete. Worker processes load, clean, analyse and write their own index segment each; the
parent hands out pages, shows progress and commits. Failures are collected with a one-line reason and never
stop the run."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from indexer.analysis import Analyzer, init_jieba
from indexer.config import Config
from indexer.load import LoadError, iter_pages, load_page
from indexer.manifest import MANIFEST_FILE, Entry, Manifest, file_sha, files_digest, fingerprint, plan, scan
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


# ---- what an index depends on ---------------------------------------------------------------------------------

RECORDS_VERSION = 1  # bump when section_records() or the org/year inference changes what is indexed
_PKG = Path(__file__).parent


def settings_fingerprint(config: Config) -> str:
    """Hash of everything that changes what a page turns into in the index: analyser settings and
    dictionaries, stopwords, cleaner settings and code, loader and analyser code, index format."""
    from indexer import store
    from indexer.analysis import TOKENIZER

    code = sorted((_PKG / "clean").glob("*.py")) + [_PKG / "load.py", _PKG / "analysis.py"]
    user_dict = config.path(config.analysis.user_dict) if config.analysis.user_dict else None
    return fingerprint({
        "format": store.FORMAT_VERSION,
        "tokenizer": TOKENIZER,  # jieba or the jieba_fast kernel: the same words on our pages, not in every tie
        "records": RECORDS_VERSION,
        "analysis": asdict(config.analysis),
        "user_dict": files_digest([user_dict]) if user_dict else "",
        "bundled_data": files_digest(sorted((_PKG / "data").glob("*.txt"))),
        "clean": asdict(config.clean),
        "code": code_digest(code),
        "clean_data": files_digest(sorted((_PKG / "clean").glob("*.txt"))),
    })


def code_digest(paths: list[Path]) -> str:
    """Hash of Python modules' code, ignoring comments, docstrings and formatting (an edit of the docs
    does not force a full rebuild; a change of logic does)."""
    import ast

    h = hashlib.sha1()
    for p in paths:
        try:
            tree = ast.parse(p.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            h.update(b"-")
            continue
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        h.update(p.name.encode() + ast.dump(tree).encode())
    return h.hexdigest()[:16]


# ---- progress ---------------------------------------------------------------------------------------------------

class Progress:
    """A tqdm bar (pages/s, ETA) on a terminal; plain log lines every few seconds otherwise; or nothing."""

    def __init__(self, total: int, enabled: bool = True, stream=None, tty: bool | None = None,
                 every: float = 5.0, desc: str = "indexing"):
        self.stream = stream or sys.stderr
        tty = self.stream.isatty() if tty is None else tty
        self.total, self.done, self.every, self.desc = total, 0, every, desc
        self.started = self.last = time.perf_counter()
        self.bar = None
        self.plain = enabled and not tty and total > 0
        if enabled and tty and total > 0:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="page", file=self.stream, dynamic_ncols=True, desc=desc,
                            smoothing=0.1)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.plain:
            now = time.perf_counter()
            if now - self.last >= self.every and self.done < self.total:
                self.last = now
                print(self._line(now), file=self.stream, flush=True)

    def _line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0
        return f"{self.desc}: {self.done}/{self.total} pages ({rate:.1f} pages/s, ETA {eta:.0f}s)"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.plain and self.done:
            print(self._line(time.perf_counter()), file=self.stream, flush=True)
        self.bar, self.plain = None, False


# ---- workers ----------------------------------------------------------------------------------------------------

@dataclass
class PageOutcome:
    """What one page gave (sent from a worker to the parent; records stay in the worker's segment)."""

    source: str
    sha: str
    documents: int = 0
    duplicates: int = 0
    sections: int = 0
    error: str | None = None


def _index_page(path: str, source: str, root: str, config: Config, sink) -> PageOutcome:
    try:
        sha = file_sha(path)
    except OSError as e:
        return PageOutcome(source, "", error=f"unreadable: {e.strerror or e}")
    result = process_file(path, root, config)
    if result.error:
        return PageOutcome(source, sha, error=result.error)
    sink.add(result.records)
    return PageOutcome(source, sha, result.documents, result.duplicates, len(result.records))


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the indexing process dies (even by kill -9), so orphaned workers
    never keep running and holding the index lock. Elsewhere a no-op."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _segment_worker(config: Config, root: str, gen: str, limitmb: int, jobs, results) -> None:
    """Worker process: take batches of (path, source) off ``jobs``, write their sections into one new
    segment of ``gen``, report outcomes per batch, and the finished segment at the end."""
    _die_with_parent()
    from indexer.engine import open_store

    sink = None
    try:
        # jieba initialised once per worker; sets the analyser the tokenizers use
        sink = open_store(config).sink(gen, limitmb)
        while (batch := jobs.get()) is not None:
            results.put(("pages", [_index_page(path, source, root, config, sink) for path, source in batch]))
        results.put(("done", sink.finish()))
    except BaseException as e:  # the parent reports it and cancels the run
        if sink is not None:
            sink.cancel()
        results.put(("error", f"{type(e).__name__}: {e}"))


def _write_segments(config: Config, work: list[tuple[str, str]], gen: Path, workers: int, progress: Progress,
                    on_page, limitmb: int) -> list:
    """Index ``work`` into new segments of ``gen``; returns the segment handles for the store's commit."""
    from indexer.engine import open_store

    root = str(config.source_path)
    batch_size = 8
    if workers <= 1 or len(work) < 2 * batch_size:
        sink = open_store(config).sink(gen, limitmb)
        try:
            for path, source in work:
                on_page(_index_page(path, source, root, config, sink))
                progress.update(1)
            return [sink.finish()]
        except BaseException:
            sink.cancel()
            raise
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    jobs, results = ctx.Queue(), ctx.Queue()
    for i in range(0, len(work), batch_size):
        jobs.put(work[i:i + batch_size])
    workers = min(workers, max(1, len(work) // batch_size))
    for _ in range(workers):
        jobs.put(None)
    procs = [ctx.Process(target=_segment_worker, args=(config, root, str(gen), limitmb, jobs, results),
                         daemon=True) for _ in range(workers)]
    for proc in procs:
        proc.start()
    parts, finished = [], 0
    try:
        while finished < workers:
            try:
                kind, payload = results.get(timeout=1.0)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise RuntimeError("an indexing worker died (out of memory or killed?)") from None
                continue
            if kind == "pages":
                for outcome in payload:
                    on_page(outcome)
                progress.update(len(payload))
            elif kind == "done":
                parts.append(payload)
                finished += 1
            else:
                raise RuntimeError(f"an indexing worker failed: {payload}")
        for proc in procs:
            proc.join()
        return parts
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


# ---- the run ----------------------------------------------------------------------------------------------------

@dataclass
class BuildReport:
    pages: int = 0  # pages cleaned in this run (all of them in a full build)
    indexed: int = 0  # of those, pages that gave sections
    documents: int = 0
    duplicates: int = 0  # near-duplicate documents (within pages)
    sections: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    mode: str = "full"  # "full", "incremental" or "unchanged"
    reason: str = ""  # why a full rebuild
    corpus_pages: int = 0  # page files in the source folder
    new: int = 0
    changed: int = 0
    deleted: int = 0
    renamed: int = 0
    unchanged: int = 0
    identical_pages: int = 0  # pages whose bytes equal another page's (extra copies)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lines = [f"indexed {self.indexed} of {self.pages} pages: {self.documents} documents "
                 f"({self.duplicates} near-duplicates), {self.sections} sections in {self.seconds:.1f}s"
                 + (f" ({self.pages_per_second:.1f} pages/s)" if self.pages >= 20 else "")]
        if self.mode == "full":
            lines.append(f"full rebuild ({self.reason}): {self.corpus_pages} pages in the source folder")
        else:
            lines.append(f"{self.mode}: {self.new} new, {self.changed} changed, {self.deleted} deleted"
                         + (f" ({self.renamed} renamed)" if self.renamed else "")
                         + f", {self.unchanged} unchanged of {self.corpus_pages} pages")
        if self.identical_pages:
            lines.append(f"{self.identical_pages} pages are byte-identical copies of another page")
        if self.failures:
            reasons = Counter(r.split(":", 1)[0] for _, r in self.failures)
            lines.append(f"skipped {len(self.failures)} pages (" +
                         ", ".join(f"{k} {v}" for k, v in reasons.most_common()) + "):")
            lines += [f"  {src}: {reason}" for src, reason in self.failures]
        return "\n".join(lines)

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k != "failures"}
        data["failed"] = len(self.failures)
        return data


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def index_corpus(config: Config, store, *, full: bool = False, workers: int | None = None,
                 progress: bool = True, stream=None, tty: bool | None = None) -> BuildReport:
    """Bring the index of ``config.source_dir`` up to date (or rebuild it with ``full``).

    Holds the store's write lock for the whole run. A crash at any point leaves the last good index
    serving: a full build goes live only at the final flip; an update is one store commit, and the
    manifest written after it is consistent again on the next run (re-indexing a page is idempotent)."""
    from indexer.store import IndexIncompatible, IndexMissing

    started = time.perf_counter()
    root = config.source_path
    if not root.is_dir():
        raise FileNotFoundError(f"source folder not found: {root}")
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    current = scan(root, list(iter_pages(root)))
    fp = settings_fingerprint(config)
    with store.lock():
        if hasattr(store, "remove_unfinished"):  # the Whoosh store's leftovers of a killed full build
            store.remove_unfinished()
        old, why = None, ""
        if not full:
            if not store.exists():
                why = "no index yet"
            else:
                try:
                    store.live_generation()
                    old = Manifest.from_json(store.read_file(MANIFEST_FILE))
                except (IndexMissing, IndexIncompatible):
                    why = "the index has an old format"
        p = plan(old, current, fp, root, full=full)
        report = BuildReport(mode="full" if p.full else "incremental", reason=why or p.reason,
                             corpus_pages=len(current), new=len(p.new), changed=len(p.changed),
                             deleted=len(p.deleted), renamed=len(p.renamed), unchanged=len(p.unchanged))
        manifest = Manifest(fp, {} if p.full else dict(old.entries), built=_now() if p.full else old.built)
        for source in p.deleted:
            manifest.entries.pop(source, None)
        for source, st in p.touched.items():
            manifest.entries[source].size, manifest.entries[source].mtime_ns = st.size, st.mtime_ns
        if p.nothing_to_do():
            report.mode = "unchanged"
            if p.touched:
                manifest.updated, manifest.last_report = old.updated, old.last_report
                store.write_files({MANIFEST_FILE: manifest.to_json()})
            report.seconds = time.perf_counter() - started
            return report

        def on_page(o: PageOutcome) -> None:
            st = current[o.source]
            manifest.entries[o.source] = Entry(st.size, st.mtime_ns, o.sha, o.sections, o.documents,
                                               o.duplicates, o.error)
            if o.error:
                report.failures.append((o.source, o.error))
                return
            report.indexed += 1
            report.documents += o.documents
            report.duplicates += o.duplicates
            report.sections += o.sections

        work = [(str(root / source), source) for source in p.to_index]
        report.pages = len(work)
        bar = Progress(len(work), progress, stream, tty)
        try:
            if p.full:
                gen = store.new_generation()
                try:
                    parts = _write_segments(config, work, gen, workers, bar, on_page, limitmb=128)
                    bar.close()
                    _finish_report(report, manifest, started)
                    store.commit_generation(gen, parts, _index_files(config, manifest))
                except BaseException:
                    store.discard_generation(gen)
                    raise
            else:
                parts = _write_segments(config, work, store.live_generation(), workers, bar, on_page, limitmb=64)
                bar.close()
                _finish_report(report, manifest, started)
                store.commit_update(parts, p.to_delete, _index_files(config, manifest))
        finally:
            bar.close()
    report.seconds = time.perf_counter() - started
    return report


def _finish_report(report: BuildReport, manifest: Manifest, started: float) -> None:
    shas = Counter(e.sha for e in manifest.entries.values() if e.sha)
    report.identical_pages = sum(n - 1 for n in shas.values())
    report.seconds = time.perf_counter() - started
    manifest.updated = _now()
    manifest.last_report = report.to_json()


def _index_files(config: Config, manifest: Manifest) -> dict[str, str]:
    """The manifest and the figures `unionsearch stats` and /api/stats show, kept beside the index."""
    entries = manifest.entries.values()
    meta = {
        "source_dir": str(config.source_path), "fingerprint": manifest.fingerprint, "last_full_build": manifest.built,
        "last_update": manifest.updated, "indexed_pages": sum(1 for e in entries if not e.error),
        "failed_pages": sum(1 for e in entries if e.error), "documents": sum(e.documents for e in entries),
        "last_run": {k: manifest.last_report.get(k) for k in ("mode", "pages", "new", "changed", "deleted",
                                                              "failed", "seconds")},
    }
    return {MANIFEST_FILE: manifest.to_json(), "META.json": json.dumps(meta, ensure_ascii=False, indent=1)}


def build_index(config: Config, store, progress: bool = True, workers: int | None = None) -> BuildReport:
    """Full rebuild of ``config.source_dir`` into a new generation of ``store``."""
    return index_corpus(config, store, full=True, workers=workers, progress=progress)


def clean_corpus(config: Config, paths: list[Path], workers: int | None = None, progress: bool = True):
    """Yield FileResults for ``paths`` (in order), cleaning in a process pool when it pays."""
    from concurrent.futures import ProcessPoolExecutor

    root = str(config.source_path)
    jobs = [(str(p), root, config) for p in paths]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    bar = Progress(len(jobs), progress, desc="cleaning")
    try:
        if workers <= 1 or len(jobs) < 8:
            for job in jobs:
                yield process_file(*job)
                bar.update(1)
            return
        with ProcessPoolExecutor(workers, initializer=make_analyzer, initargs=(config,)) as pool:
            for result in pool.map(_process_star, jobs, chunksize=max(1, min(32, len(jobs) // (workers * 8)))):
                yield result
                bar.update(1)
    finally:
        bar.close()


def _process_star(args):
    return process_file(*args)
