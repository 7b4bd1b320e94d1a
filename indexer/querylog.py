"""What people searched: the opt-in query log (``search.log_queries``) and ``unionsearch report``'s reader.

Each search of a web face appends one JSON line to ``<log_dir>/queries-YYYY-MM-DD.jsonl`` (the server's local
day)::

    {"time": "2024-05-01T10:00:00+08:00", "q": "职代会", "results": 9, "ms": 12.3, "face": "site", "page": 1}

plus ``"filters"`` when the search was narrowed (year, site, org_type) and ``"corrected"`` when the query as
typed found nothing and a spelling correction's results were shown. Never an IP address, a cookie, a user agent
or anything else about the person: the caller passes only the search and its result.

Rotation is by day, and nothing is ever renamed. ``logging.handlers.RotatingFileHandler`` rotates by renaming
``queries.jsonl`` → ``.1`` → ``.2`` from inside one process; with several server processes (``server.processes``)
each keeps its own open file and its own idea of the size, so one renames the file under the others, which then
write into the renamed file or rotate it again, and lines are lost or scattered. Here every write opens the day's
file with ``O_APPEND``, writes one whole line in one ``write()`` and closes it: the kernel places each ``O_APPEND``
write at the end of the file, so lines from threads and processes never interleave (on a local file system; not
on NFS), and a new day is just a new file name every process agrees on. Files older than ``KEEP_DAYS`` are
deleted (by whichever process starts a day first; deleting twice is harmless), and a day's file stops growing at
``MAX_DAY_BYTES``, so the log stays bounded. A write that fails (a full disk, a read-only folder) is logged once
to ``unionsearch.log`` and the search goes on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from indexer.model import SearchResult

log = logging.getLogger(__name__)

PREFIX, SUFFIX = "queries-", ".jsonl"
_DAY_FILE = re.compile(r"^queries-(\d{4}-\d{2}-\d{2})\.jsonl$")
KEEP_DAYS = 90  # day files kept; older ones are deleted when a new day starts
MAX_DAY_BYTES = 20_000_000  # a day's file stops growing here (about 150,000 searches)
FACES = ("site", "api", "widget")


def _now() -> datetime:
    return datetime.now().astimezone()


def day_file(log_dir: Path, day: date) -> Path:
    return log_dir / f"{PREFIX}{day.isoformat()}{SUFFIX}"


def entry(result: SearchResult, face: str, filters: Iterable[tuple[str, str]] = (),
          when: datetime | None = None) -> dict:
    """The log line of one search: what was searched and how it went, nothing about who searched."""
    out: dict = {"time": (when or _now()).isoformat(timespec="seconds"), "q": result.query,
                 "results": result.total, "ms": round(result.took_ms, 1), "face": face, "page": result.page}
    active = {k: v for k, v in filters if v}
    if active:
        out["filters"] = active
    if result.corrected:
        out["corrected"] = result.corrected
    return out


@dataclass
class QueryLog:
    """Appends search lines to the day's file; safe to share between threads and server processes."""

    log_dir: Path
    keep_days: int = KEEP_DAYS
    max_day_bytes: int = MAX_DAY_BYTES
    clock: Callable[[], datetime] = _now
    _started_day: date | None = field(default=None, init=False)
    _full_day: date | None = field(default=None, init=False)
    _failing: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def record(self, result: SearchResult, face: str, filters: Iterable[tuple[str, str]] = ()) -> bool:
        """Log one search. Returns whether the line was written; never raises."""
        when = self.clock()
        try:
            return self.append(entry(result, face, filters, when), when.date())
        except Exception as e:  # the log must never break a search
            self._failed(e)
            return False

    def append(self, line: dict, day: date) -> bool:
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8", "replace")
        if day != self._started_day:
            self._start(day)
        path = day_file(self.log_dir, day)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                if os.fstat(fd).st_size >= self.max_day_bytes:
                    self._day_full(day, path)
                    return False
                written = os.write(fd, data)  # one write() of one line: O_APPEND puts it whole at the end
            finally:
                os.close(fd)
        except OSError as e:
            self._failed(e)
            return False
        if written != len(data):
            self._failed(OSError(f"short write to {path} ({written} of {len(data)} bytes)"))
            return False
        if self._failing:
            self._failing = False
            log.info("the query log %s can be written again", self.log_dir)
        return True

    def _start(self, day: date) -> None:
        """A new day for this process: make the folder and delete the day files past ``keep_days``."""
        with self._lock:  # the other threads wait for the folder rather than fail to open a file in it
            if day == self._started_day:
                return
            try:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                oldest = day - timedelta(days=self.keep_days - 1)
                for path, file_day in day_files(self.log_dir):
                    if file_day < oldest:
                        path.unlink(missing_ok=True)
            except OSError as e:
                self._failed(e)
            self._started_day = day

    def _day_full(self, day: date, path: Path) -> None:
        if self._full_day != day:
            self._full_day = day
            log.warning("query log %s reached %d bytes: no more searches are logged today", path,
                        self.max_day_bytes)

    def _failed(self, error: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.warning("cannot write the query log in %s (%s); searches go on without it", self.log_dir, error)


# ---- reading: `unionsearch report` -------------------------------------------------------------------------------


def day_files(log_dir: Path) -> list[tuple[Path, date]]:
    """The query log's day files, oldest first."""
    out = []
    try:
        names = os.listdir(log_dir)
    except OSError:
        return []
    for name in names:
        m = _DAY_FILE.match(name)
        if m:
            try:
                out.append((log_dir / name, date.fromisoformat(m.group(1))))
            except ValueError:
                continue
    return sorted(out, key=lambda pair: pair[1])


def _parse(raw: bytes) -> tuple[dict, datetime] | None:
    """One log line, or None for a line that is not ours (a torn write, a hand edit)."""
    try:
        item = json.loads(raw)
        when = datetime.fromisoformat(item["time"])
        if not isinstance(item["q"], str) or item["face"] not in FACES:
            return None
        item["results"], item["ms"], item["page"] = int(item["results"]), float(item["ms"]), int(item.get("page", 1))
    except (ValueError, TypeError, KeyError):
        return None
    if when.tzinfo is None:
        when = when.astimezone()
    return item, when


def read_entries(log_dir: Path, since: datetime | None = None) -> Iterator[dict]:
    """The logged searches at or after ``since`` (all of them with None), oldest file first; bad lines skipped."""
    for path, file_day in day_files(log_dir):
        if since is not None and file_day < since.date() - timedelta(days=1):  # a day file is in local time
            continue
        try:
            with path.open("rb") as f:
                for raw in f:
                    parsed = _parse(raw)
                    if parsed is not None and (since is None or parsed[1] >= since):
                        yield parsed[0]
        except OSError as e:
            log.warning("cannot read %s: %s", path, e)


def _key(query: str) -> str:
    return " ".join(query.split())


def report(entries: Iterable[dict], limit: int = 20) -> dict:
    """Top queries (first pages of results only, so paging does not count twice; with the result count of the
    last unfiltered search), the queries that found nothing as typed (unfiltered; with the correction shown, if
    any) and the slowest queries (each once, at its slowest)."""
    searches, faces = 0, Counter[str]()
    first, last = "", ""
    top, zero = Counter[str](), Counter[str]()
    latest_results: dict[str, int] = {}
    corrected: dict[str, str] = {}
    slowest: dict[str, dict] = {}
    for item in entries:
        q = _key(item["q"])
        if not q:
            continue
        searches += 1
        faces[item["face"]] += 1
        first, last = first or item["time"], item["time"]
        if item["page"] == 1:
            top[q] += 1
            if not item.get("filters") or q not in latest_results:
                latest_results[q] = item["results"]
            if (item["results"] == 0 or item.get("corrected")) and not item.get("filters"):
                zero[q] += 1
                corrected[q] = item.get("corrected") or ""
        if q not in slowest or item["ms"] > slowest[q]["ms"]:
            slowest[q] = {"query": q, "ms": item["ms"], "face": item["face"], "time": item["time"],
                          "results": item["results"]}
    return {
        "searches": searches, "queries": len(top), "faces": dict(faces), "first": first or None, "last": last or None,
        "top": [{"query": q, "searches": n, "results": latest_results[q]} for q, n in _most_common(top, limit)],
        "zero_results": [{"query": q, "searches": n, "corrected": corrected[q] or None}
                         for q, n in _most_common(zero, limit)],
        "slowest": sorted(slowest.values(), key=lambda s: (-s["ms"], s["query"]))[:limit],
    }


def _most_common(counts: Counter[str], limit: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
