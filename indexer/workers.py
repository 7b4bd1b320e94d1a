"""Write step of a build: pages are loaded, cleaned and analysed in worker processes, each writing its own
segment of the index through a backend sink; the parent hands out batches of pages and collects outcomes."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import queue
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.backends.base import Backend, Sink
from indexer.config import Config
from indexer.manifest import file_sha
from indexer.progress import Progress
from indexer.records import process_file

log = logging.getLogger(__name__)

BATCH_PAGES = 8  # pages per job: small enough to balance workers, large enough to keep queues quiet
Work = list[tuple[str, str]]  # (path, source) of each page to index


@dataclass
class PageOutcome:
    """What one page gave (sent from a worker to the parent; records stay in the worker's segment)."""

    source: str
    sha: str
    documents: int = 0
    duplicates: int = 0
    sections: int = 0
    error: str | None = None
    replaced: int = 0


def index_page(path: str, source: str, root: str, config: Config, sink: Sink) -> PageOutcome:
    try:
        sha = file_sha(path)
    except OSError as e:
        return PageOutcome(source, "", error=f"unreadable: {e.strerror or e}")
    result = process_file(path, root, config)
    if result.error:
        return PageOutcome(source, sha, error=result.error)
    sink.add(result.records)
    return PageOutcome(source, sha, result.documents, result.duplicates, len(result.records),
                       replaced=result.replaced)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the indexing process dies (even by kill -9), so orphaned workers
    never keep running and holding the index lock. Elsewhere a no-op."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _segment_worker(store: Backend, config: Config, root: str, gen: str, limitmb: int, number: int,
                    batches: list[Work], results: Any) -> None:
    """Worker process (forked: it shares the parent's store and analyser and inherits its batches of (path,
    source)): write their sections into one new segment of ``gen``, report outcomes per batch, and the
    finished segment at the end, with the worker's number."""
    _die_with_parent()
    sink = None
    try:
        sink = store.sink(gen, limitmb)
        for batch in batches:
            results.put(("pages", [index_page(path, source, root, config, sink) for path, source in batch]))
        results.put(("done", (number, sink.finish())))
    except BaseException as e:  # the parent logs it and cancels the run
        if sink is not None:
            sink.cancel()
        results.put(("error", f"{type(e).__name__}: {e}", traceback.format_exc()))


def write_segments(store: Backend, config: Config, work: Work, gen: Path, workers: int, progress: Progress,
                   on_page: Callable[[PageOutcome], None], limitmb: int) -> list:
    """Index ``work`` into new segments of ``gen``; returns the segment handles for the store's commit."""
    root = str(config.source_path)
    if workers <= 1 or len(work) < 2 * BATCH_PAGES or "fork" not in mp.get_all_start_methods():
        return _write_here(store, config, root, work, gen, progress, on_page, limitmb)
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    batches = [work[i:i + BATCH_PAGES] for i in range(0, len(work), BATCH_PAGES)]
    workers = min(workers, max(1, len(work) // BATCH_PAGES))
    # Batches dealt in turn, not taken from a shared queue: which worker writes a page, and so the sections'
    # order in the index (the tie-break between equal scores), is then the same in every build of the same
    # pages with the same number of workers.
    procs = [ctx.Process(target=_segment_worker, args=(store, config, root, str(gen), limitmb, w,
                                                       batches[w::workers], results), daemon=True)
             for w in range(workers)]
    for proc in procs:
        proc.start()
    try:
        parts = _collect(results, procs, progress, on_page)
        for proc in procs:
            proc.join()
        return parts
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


def _write_here(store: Backend, config: Config, root: str, work: Work, gen: Path, progress: Progress,
                on_page: Callable[[PageOutcome], None], limitmb: int) -> list:
    """The same in this process (a small run, or one worker)."""
    sink = store.sink(gen, limitmb)
    try:
        for path, source in work:
            on_page(index_page(path, source, root, config, sink))
            progress.update(1)
        return [sink.finish()]
    except BaseException:
        sink.cancel()
        raise


def _collect(results: Any, procs: list, progress: Progress, on_page: Callable[[PageOutcome], None]) -> list:
    """Outcomes and finished segments from the workers, until each has sent its segment."""
    parts: list = []
    while len(parts) < len(procs):
        try:
            message = results.get(timeout=1.0)
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                raise RuntimeError("an indexing worker died (out of memory or killed?)") from None
            continue
        kind, payload = message[0], message[1]
        if kind == "pages":
            for outcome in payload:
                on_page(outcome)
            progress.update(len(payload))
        elif kind == "done":
            parts.append(payload)  # (worker number, segment)
        else:
            log.error("an indexing worker failed: %s\n%s", payload, message[2])
            raise RuntimeError(f"an indexing worker failed: {payload}")
    return [segment for _, segment in sorted(parts, key=lambda part: part[0])]
