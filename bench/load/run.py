"""Load test: concurrent clients against `unionsearch serve` on 127.0.0.1 while a full reindex runs and swaps in.

    python bench/load/run.py                 # 32 clients, 60 s, 10,000-page index, reindex to 10,500 pages
    python bench/load/run.py --quick         # 8 clients, ~5 s, 36 → 40 pages (what the test suite runs)

The live index holds the first ``--base-pages`` pages of the synthetic corpus (bench/make_corpus.py, built once
and reused); the reindex (`unionsearch index --full`) adds pages up to ``--pages``, so the two generations give
different totals for a fixed query. Clients mix the JSON API, the HTML results page, document pages and
/healthz. The load window opens when the reindex's ETA falls to half the window (so the swap lands inside it)
and stays open until ``--seconds`` have passed and the swap is a few seconds old (a full build's last phase,
writing out the workers' segments, is not in the ETA: on 2 CPUs the window lasts several minutes).

Pass criteria: no failed request (non-200, timeout, connection error, bad JSON) and every answer to the fixed
query reports the old generation's total or the new one's, nothing in between (a half-built index would). The
full run writes its numbers to bench/load/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
BIN = Path(sys.executable).parent / "unionsearch"
FIXED = "工会"
QUERIES = ["职代会", "职工之家", "困难职工 慰问", '"送温暖"', "女职工 OR 女工", "劳动竞赛 -煤炭", "title:总结",
           "工会经费", "年度工作计划", "安全生产", "职工代表大会 提案", "year:2020", "农民工入会", "文体活动"]
ETA = re.compile(r"indexing: (\d+)/(\d+) pages .*ETA (\d+)s")


@dataclass
class Sample:
    t: float  # seconds since the window opened
    kind: str
    ms: float
    ok: bool
    total: int | None = None
    error: str = ""


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    swap_at: float | None = None  # seconds into the window when the reindex finished
    reindex_seconds: float | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def corpus(pages: int, folder: Path) -> Path:
    """The first ``pages`` pages of the synthetic corpus in ``folder`` (made once; reused when the count fits)."""
    stamp = folder / ".pages"
    if not (stamp.exists() and stamp.read_text() == str(pages)):
        from make_corpus import make_corpus

        make_corpus(pages, folder)
        stamp.write_text(str(pages))
    return folder


def unionsearch(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *map(str, args)], cwd=ROOT, capture_output=True, text=True, **kw)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def client(n: int, http: httpx.AsyncClient, run: Run, started: float, stop: asyncio.Event,
                 doc_ids: list[str]) -> None:
    rng = random.Random(n)
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.4:
            kind, url = "api-fixed", f"/api/search?q={FIXED}&per_page=10"
        elif roll < 0.65:
            kind, url = "api", f"/api/search?q={rng.choice(QUERIES)}&page={rng.randint(1, 3)}&group=document"
        elif roll < 0.85:
            kind, url = "html", f"/search?q={rng.choice(QUERIES)}"
        elif roll < 0.97:
            kind, url = "doc", f"/doc/{rng.choice(doc_ids)}"
        else:
            kind, url = "health", "/healthz"
        t0 = time.perf_counter()
        sample = Sample(t0 - started, kind, 0.0, False)
        try:
            response = await http.get(url)
            sample.ms = (time.perf_counter() - t0) * 1000
            sample.ok = response.status_code == 200
            if not sample.ok:
                sample.error = f"HTTP {response.status_code} {url}"
            elif kind.startswith("api"):
                body = response.json()
                sample.ok = body.get("ok") is True
                sample.total = body.get("total") if kind == "api-fixed" else None
        except (httpx.HTTPError, json.JSONDecodeError) as e:
            sample.ms = (time.perf_counter() - t0) * 1000
            sample.error = f"{type(e).__name__}: {e} {url}"
        run.samples.append(sample)


def drain(stream, tail: collections.deque) -> threading.Thread:
    """Read a child's output as it comes, keeping its last lines for error messages. Undrained, the pipe fills
    and blocks the child at its next write: waitress logs a "Task queue depth" warning per burst of queued
    requests, and a server blocked on that write stops answering."""

    def read() -> None:
        for line in stream:
            tail.append(line)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


async def wait_healthy(base: str, server: subprocess.Popen, tail: collections.deque, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                await asyncio.sleep(0.2)  # let the drain thread read the last lines
                raise SystemExit(f"server exited: {''.join(tail)}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server did not come up")


async def fixed_total(base: str) -> tuple[int, list[str]]:
    """The fixed query's total on the live index. The timeout is long: after the window the server may still be
    working through requests whose clients gave up (waitress finishes them)."""
    async with httpx.AsyncClient(base_url=base, timeout=900) as http:
        body = (await http.get(f"/api/search?q={FIXED}&per_page=50")).json()
        return body["total"], [r["doc_id"] for r in body["results"]]


async def load(args, base: str, source: Path, index: Path) -> tuple[Run, int, int]:
    total_old, doc_ids = await fixed_total(base)
    run = Run()
    # The reindex runs niced, as docs/operating.md advises while serving: the server keeps the CPU it needs.
    nice = ["nice", "-n", str(args.nice)] if args.nice and shutil.which("nice") else []
    reindex = subprocess.Popen([*nice, str(BIN), "index", "--full", "--source", str(source), "--index", str(index),
                                "--workers", str(args.workers)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    reindex_started = time.monotonic()
    progress: asyncio.Queue = asyncio.Queue()

    async def read_progress():
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, reindex.stderr.readline)
            if not line:
                return
            m = ETA.search(line)
            if m:
                await progress.put(int(m.group(3)))
                print(f"  reindex: {line.strip()}", file=sys.stderr)

    reader = asyncio.create_task(read_progress())
    try:
        if not args.quick:  # open the window so that the swap lands in its middle
            while reindex.poll() is None:
                try:
                    eta = await asyncio.wait_for(progress.get(), 10)
                except TimeoutError:
                    continue
                if eta <= args.seconds / 2:
                    break
        stop = asyncio.Event()
        started = time.perf_counter()
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base, timeout=args.timeout, limits=limits) as http:
            tasks = [asyncio.create_task(client(i, http, run, started, stop, doc_ids)) for i in range(args.clients)]
            # The window stays open until the swap: a full build's last phase (each worker finishing its
            # segment) is not in the progress ETA and takes minutes on a 10,000-page corpus.
            limit = started + (args.seconds * 12 if args.quick else 3600)
            while True:
                await asyncio.sleep(0.1)
                now = time.perf_counter()
                if run.swap_at is None and reindex.poll() is not None:
                    run.swap_at = now - started
                    run.reindex_seconds = time.monotonic() - reindex_started
                done = now - started >= args.seconds and run.swap_at is not None and now - started > run.swap_at + (
                    1 if args.quick else 5)
                if done or now > limit:
                    break
            stop.set()
            await asyncio.gather(*tasks)
    finally:
        if reindex.poll() is None:
            os.killpg(reindex.pid, signal.SIGTERM)
        reindex.wait()
        await reader
    if reindex.returncode != 0:
        raise SystemExit(f"reindex failed ({reindex.returncode}): {reindex.stdout.read()}")
    total_new, _ = await fixed_total(base)
    return run, total_old, total_new


def report(args, run: Run, total_old: int, total_new: int) -> tuple[str, bool]:
    s = run.samples
    failed = [x for x in s if not x.ok]
    fixed = [x for x in s if x.kind == "api-fixed" and x.ok]
    wrong = [x for x in fixed if x.total not in (total_old, total_new)]
    after = [x for x in fixed if run.swap_at is not None and x.t > run.swap_at + 1]
    stale_after = [x for x in after if x.total != total_new]
    window = max((x.t for x in s), default=0.0)
    ms = [x.ms for x in s if x.ok]
    lines = [
        f"- clients: {args.clients}, window: {window:.0f} s, requests: {len(s)} ({len(s) / max(window, 1e-9):.1f}/s), "
        f"server threads: {args.threads}",
        f"- failed requests: **{len(failed)}**" + (f" (first: {failed[0].error})" if failed else ""),
        f"- fixed query `{FIXED}`: {len(fixed)} answers; total {total_old} before the swap, {total_new} after; "
        f"answers with any other total: **{len(wrong)}**; old total still served >1 s after the swap: "
        f"{len(stale_after)}",
        "- swap: " + (f"at {run.swap_at:.1f} s into the window" if run.swap_at is not None else "NOT within the window")
        + (f" (full reindex took {run.reindex_seconds:.0f} s under load)" if run.reindex_seconds else ""),
        f"- latency (ms), all requests: p50 {percentile(ms, 50):.0f}, p95 **{percentile(ms, 95):.0f}**, "
        f"p99 {percentile(ms, 99):.0f}, max {max(ms, default=0):.0f}",
    ]
    if run.swap_at is not None:
        for label, part in (("before the swap", [x.ms for x in s if x.ok and x.t < run.swap_at]),
                            ("after the swap", [x.ms for x in s if x.ok and x.t >= run.swap_at])):
            lines.append(f"  - {label}: {len(part)} requests, p50 {percentile(part, 50):.0f}, "
                         f"p95 {percentile(part, 95):.0f}")
    for kind in ("api-fixed", "api", "html", "doc", "health"):
        part = [x.ms for x in s if x.ok and x.kind == kind]
        if part:
            lines.append(f"  - {kind}: {len(part)} requests, p50 {percentile(part, 50):.0f}, "
                         f"p95 {percentile(part, 95):.0f}, mean {statistics.fmean(part):.0f}")
    ok = not failed and not wrong and run.swap_at is not None and not stale_after
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny corpus, 8 clients, ~5 s (the test suite's run)")
    ap.add_argument("--clients", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--base-pages", type=int, help="pages in the live index before the reindex")
    ap.add_argument("--pages", type=int, help="pages the reindex indexes")
    ap.add_argument("--threads", type=int, default=4, help="waitress threads (the config default)")
    ap.add_argument("--workers", type=int, default=2, help="reindex worker processes")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="server processes")
    ap.add_argument("--nice", type=int, default=10, help="niceness of the reindex (0: not niced)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds before a request counts as failed")
    ap.add_argument("--work", type=Path, help="folder for corpora and the index (default var/bench/load)")
    ap.add_argument("--write", action="store_true", help="write bench/load/RESULTS.md (default for full runs)")
    args = ap.parse_args(argv)
    quick = args.quick
    args.clients = args.clients or (8 if quick else 32)
    args.seconds = args.seconds or (5.0 if quick else 60.0)
    base_pages = args.base_pages or (36 if quick else 10_000)
    pages = args.pages or (40 if quick else 10_500)
    work = args.work or ROOT / "var" / "bench" / ("load-quick" if quick else "load")
    work.mkdir(parents=True, exist_ok=True)
    small = corpus(base_pages, work / f"corpus-{base_pages}")
    big = corpus(pages, work / f"corpus-{pages}")
    index = work / "index"
    stamp = index / ".built-from"
    if not (stamp.exists() and stamp.read_text() == str(small)):  # the live index: the smaller corpus
        shutil.rmtree(index, ignore_errors=True)
        print(f"building the live index of {base_pages} pages …", file=sys.stderr)
        built = unionsearch("index", "--full", "--source", small, "--index", index, "--workers", args.workers,
                            "--quiet")
        if built.returncode:
            raise SystemExit(built.stderr)
        stamp.write_text(str(small))
    else:  # reuse it: bring it up to date (another format or settings → rebuilt by `index` itself); a previous
        # run's reindex may have swapped in the bigger corpus: go back with a full build
        unionsearch("index", "--source", small, "--index", index, "--workers", args.workers, "--quiet")
        live = unionsearch("stats", "--json", "--index", index)
        if live.returncode or json.loads(live.stdout).get("pages") != base_pages:
            unionsearch("index", "--full", "--source", small, "--index", index, "--workers", args.workers, "--quiet")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN), "serve", "--index", str(index), "--port", str(port), "--threads",
                               str(args.threads), "--processes", str(args.processes)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    server_log: collections.deque = collections.deque(maxlen=50)
    drainer = drain(server.stderr, server_log)
    try:
        asyncio.run(wait_healthy(base, server, server_log))
        run, total_old, total_new = asyncio.run(load(args, base, big, index))
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited on its own (the error is shown)
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        drainer.join(5)
        server.stderr.close()
    text, ok = report(args, run, total_old, total_new)
    print(text)
    if (args.write or not quick) and not args.quick:
        cpu = os.cpu_count()
        header = (f"## {time.strftime('%Y-%m-%d %H:%M')} — {base_pages:,} → {pages:,} pages, "
                  f"{'PASS' if ok else 'FAIL'}\n\nMachine: {platform.machine()}, {cpu} CPUs, Python "
                  f"{platform.python_version()}; `python bench/load/run.py "
                  f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n")
        results = Path(__file__).with_name("RESULTS.md")
        old = results.read_text(encoding="utf-8") if results.exists() else ""
        intro = "# Load test results\n\nNewest first. See bench/load/run.py for what is measured.\n\n"
        body = old[len(intro):] if old.startswith(intro) else ""
        results.write_text(intro + header + text + "\n\n" + body, encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
