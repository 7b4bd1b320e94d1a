"""Index step: plan what to do, clean and write in workers, commit, report.

A manifest beside the index (indexer.manifest) says what each page gave last time, so a run re-cleans only
new or changed pages and removes the sections of deleted ones, in one store transaction; a full rebuild
(``full=True``, no manifest, or changed analyser/cleaner settings) writes a new generation that goes live
only when complete. Worker processes (indexer.workers) load, clean, analyse and write their own index segment
each; the parent hands out pages, shows progress and commits. Failures are collected with a one-line reason
and never stop the run."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TextIO

from indexer.backends.base import Backend, IndexIncompatible, IndexMissing
from indexer.config import Config
from indexer.manifest import MANIFEST_FILE, Entry, Manifest, Plan, Stat, plan, scan_folder, settings_fingerprint
from indexer.progress import Progress
from indexer.suggest import SUGGEST_FILE, suggestion_files
from indexer.workers import PageOutcome, write_segments

log = logging.getLogger(__name__)


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
    replaced: list[tuple[str, int]] = field(default_factory=list)  # pages decoded with replacement characters

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
        if self.replaced:
            lines.append(f"{len(self.replaced)} pages have bytes their encoding cannot give (shown as �): "
                         + ", ".join(f"{src} ({n})" for src, n in self.replaced[:10])
                         + (" …" if len(self.replaced) > 10 else ""))
        if self.failures:
            reasons = Counter(r.split(":", 1)[0] for _, r in self.failures)
            lines.append(f"skipped {len(self.failures)} pages (" +
                         ", ".join(f"{k} {v}" for k, v in reasons.most_common()) + "):")
            lines += [f"  {src}: {reason}" for src, reason in self.failures]
        return "\n".join(lines)

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("failures", "replaced")}
        data["failed"] = len(self.failures)
        data["replaced_pages"] = len(self.replaced)
        return data


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def index_corpus(config: Config, store: Backend, *, full: bool = False, workers: int | None = None,
                 progress: bool = True, stream: TextIO | None = None, tty: bool | None = None) -> BuildReport:
    """Bring the index of ``config.source_dir`` up to date (or rebuild it with ``full``).

    Holds the store's write lock for the whole run. A crash at any point leaves the last good index
    serving: a full build goes live only at the final flip; an update is one store commit, and the
    manifest written after it is consistent again on the next run (re-indexing a page is idempotent)."""
    started = time.perf_counter()
    root = config.source_path
    if not root.is_dir():
        raise FileNotFoundError(f"source folder not found: {root}")
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    current = scan_folder(root)
    fp = settings_fingerprint(config, store.format_version)
    with store.lock():
        store.remove_unfinished()  # a killed full build's leftovers
        old, why = _previous_manifest(store, full)
        p = plan(old, current, fp, root, full=full)
        report = BuildReport(mode="full" if p.full else "incremental", reason=why or p.reason,
                             corpus_pages=len(current), new=len(p.new), changed=len(p.changed),
                             deleted=len(p.deleted), renamed=len(p.renamed), unchanged=len(p.unchanged))
        manifest = _next_manifest(old, p, fp)
        log.info("%s of %s: %d pages to index, %d to delete", "full build" if p.full else "update", root,
                 len(p.to_index), len(p.to_delete))
        if p.nothing_to_do():
            report.mode = "unchanged"
            if p.touched and old is not None:
                manifest.updated, manifest.last_report = old.updated, old.last_report
                store.write_files({MANIFEST_FILE: manifest.to_json()})
            if old is not None and store.read_file(SUGGEST_FILE) is None:  # made before suggestions were kept
                _write_suggestions(store, old, None, None)
        else:
            work = [(str(root / source), source) for source in p.to_index]
            report.pages = len(work)
            bar = Progress(len(work), progress, stream, tty)
            try:
                on_page = _page_recorder(report, manifest, current)
                _write(config, store, p, work, workers, bar, on_page, lambda: _finish(report, manifest, started),
                       lambda: _index_files(config, manifest))
                _write_suggestions(store, manifest, p, old)
            finally:
                bar.close()
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary().splitlines()[0])
    return report


def _previous_manifest(store: Backend, full: bool) -> tuple[Manifest | None, str]:
    """The manifest of the live index, or None and why a full build is needed."""
    if full:
        return None, ""
    if not store.exists():
        return None, "no index yet"
    try:
        store.live_generation()
        return Manifest.from_json(store.read_file(MANIFEST_FILE)), ""
    except (IndexMissing, IndexIncompatible):
        return None, "the index has an old format"


def _next_manifest(old: Manifest | None, p: Plan, fp: str) -> Manifest:
    """The manifest this run starts from: the old one less deleted pages, with touched pages' new stat."""
    if p.full or old is None:
        return Manifest(fp, {}, built=_now())
    manifest = Manifest(fp, dict(old.entries), built=old.built)
    for source in p.deleted:
        manifest.entries.pop(source, None)
    for source, st in p.touched.items():
        manifest.entries[source].size, manifest.entries[source].mtime_ns = st.size, st.mtime_ns
    return manifest


def _page_recorder(report: BuildReport, manifest: Manifest, current: dict[str, Stat]
                   ) -> Callable[[PageOutcome], None]:
    def on_page(o: PageOutcome) -> None:
        st = current[o.source]
        manifest.entries[o.source] = Entry(st.size, st.mtime_ns, o.sha, o.sections, o.documents,
                                           o.duplicates, o.error, o.replaced)
        if o.replaced and not o.error:
            report.replaced.append((o.source, o.replaced))
        if o.error:
            report.failures.append((o.source, o.error))
            return
        report.indexed += 1
        report.documents += o.documents
        report.duplicates += o.duplicates
        report.sections += o.sections
    return on_page


def _write(config: Config, store: Backend, p: Plan, work: list[tuple[str, str]], workers: int, bar: Progress,
           on_page: Callable[[PageOutcome], None], finish: Callable[[], None],
           files: Callable[[], dict[str, str]]) -> None:
    """Write the pages into a new generation (full) or the live one (update), then commit."""
    if p.full:
        gen = store.new_generation()
        try:
            parts = write_segments(store, config, work, gen, workers, bar, on_page, limitmb=128)
            bar.close()
            finish()
            store.commit_generation(gen, parts, files())
        except BaseException:
            store.discard_generation(gen)
            raise
    else:
        parts = write_segments(store, config, work, store.live_generation(), workers, bar, on_page, limitmb=64)
        bar.close()
        finish()
        store.commit_update(parts, p.to_delete, files())


def _write_suggestions(store: Backend, manifest: Manifest, p: Plan | None, old: Manifest | None) -> None:
    """The suggestions as you type of the index just committed, written into its generation (indexer.suggest).
    An update reads only the pages it changed (when the suggestion state in the generation is the previous
    run's). A failure leaves the index as committed; the web app then makes the suggestions from the index."""
    pages = {source: e.sections for source, e in manifest.entries.items() if not e.error and e.sections}
    changed = None
    if p is not None and not p.full:
        changed = {*p.to_index, *p.to_delete, *(source for pair in p.renamed for source in pair)}
    try:
        store.write_files(suggestion_files(store, pages, changed, stamp=manifest.updated,
                                           previous=old.updated if old is not None else None))
    except Exception:
        log.exception("could not write %s; suggestions will be made from the index when first asked for", SUGGEST_FILE)


def _finish(report: BuildReport, manifest: Manifest, started: float) -> None:
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
        "pages_with_replacements": sum(1 for e in entries if e.replaced and not e.error),
        "last_run": {k: manifest.last_report.get(k) for k in ("mode", "pages", "new", "changed", "deleted",
                                                              "failed", "seconds")},
    }
    return {MANIFEST_FILE: manifest.to_json(), "META.json": json.dumps(meta, ensure_ascii=False, indent=1)}


def build_index(config: Config, store: Backend, progress: bool = True, workers: int | None = None) -> BuildReport:
    """Full rebuild of ``config.source_dir`` into a new generation of ``store``."""
    return index_corpus(config, store, full=True, workers=workers, progress=progress)


