"""Query latency through the running server: ``unionsearch serve`` on a built index, N queries drawn from the
index's own vocabulary, C concurrent clients; p50/p95 with snippets (the API's normal answer) and without,
plus the server's CPU time per query and its memory. The clients use the standard library's http.client (they
share the cores with the server; each round has its own queries, so none is answered from the other's caches).

    python bench/query_speed.py --config var/bench/work-10000/config.yaml [--queries 200] [--clients 4]
        [--processes 2] [--in-process]

Build the index first (bench/index_speed.py writes that config). Without snippets means `snippets=0` on the
API; `--in-process` also times the same search() called by C threads without HTTP. Memory: RSS, peak RSS and
PSS of the server (with several processes, of each and summed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from procfs import tree_cpu_seconds  # noqa: E402


def draw_queries(config_file: str, n: int, seed: int = 1) -> list[str]:
    """``n`` queries: words from the index vocabulary that are neither rare nor everywhere; a third are pairs."""
    from indexer.backends import open_store
    from indexer.config import load_config

    store = open_store(load_config(config_file))
    sections = store.stats()["sections"]
    words = sorted(w for w, df in store.vocabulary("text")
                   if len(w) >= 2 and not w.isascii() and 3 <= df <= max(4, sections // 4))
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(" ".join(rng.sample(words, 2)) if i % 3 == 2 else rng.choice(words))
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def summarise(latencies: list[float], wall: float) -> dict:
    ms = [x * 1000 for x in latencies]
    return {"queries": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "max_ms": max(ms),
            "median_ms": statistics.median(ms), "throughput_qps": len(ms) / wall}


def run_clients(queries: list[str], clients: int, one) -> dict:
    """Run ``one(q)`` for every query from ``clients`` threads; latency per call."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    todo = list(queries)

    def worker():
        state = {}
        while True:
            with lock:
                if not todo:
                    return
                q = todo.pop()
            started = time.perf_counter()
            try:
                one(q, state)
            except Exception as e:  # noqa: BLE001 - counted and shown
                errors.append(f"{q}: {e}")
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = summarise(latencies, time.perf_counter() - started)
    out["errors"] = len(errors)
    if errors:
        out["first_error"] = errors[0]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_memory_mb(pid: int) -> dict:
    """RSS figures of the server: the process, and with several processes their sum and their PSS (shared
    pages counted once, split between the processes that share them)."""
    def one(p: int) -> dict:
        status = Path(f"/proc/{p}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        out = {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile") if k in fields}
        rollup = Path(f"/proc/{p}/smaps_rollup")
        if rollup.exists():
            for line in rollup.read_text().splitlines():
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1]) / 1024
        return out

    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    procs = [one(p) for p in [pid, *children]]
    out = dict(procs[0])
    if children:
        out["processes"] = procs
        for key in ("VmRSS", "RssAnon", "Pss"):
            out[f"sum_{key}"] = sum(p.get(key, 0) for p in procs)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="config.yaml of a built index")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--processes", type=int, default=1, help="server processes (serve --processes)")
    ap.add_argument("--threads", type=int, help="threads per server process (default: --clients)")
    ap.add_argument("--in-process", action="store_true", help="also time search() in-process, without HTTP")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    queries = draw_queries(args.config, args.queries)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "webapp.cli", "serve", "--config", args.config, "--port",
                               str(port), "--threads", str(args.threads or args.clients), "--processes",
                               str(args.processes)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    out: dict = {"queries": len(queries), "clients": args.clients, "processes": args.processes,
                 "examples": queries[:8]}
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"server did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")
        spec = httpx.get(f"{base}/api/openapi.json", timeout=5, trust_env=False).json()
        has_switch = "snippets" in json.dumps(spec)

        def http_query(extra: dict):
            # The standard library's client, one keep-alive connection per client thread: the clients share the
            # server's cores, and a heavier client (httpx costs several ms of CPU per request) would be measured
            # as server latency.
            def one(q, state):
                conn = state.get("conn") or state.setdefault("conn", http.client.HTTPConnection("127.0.0.1", port,
                                                                                                  timeout=30))
                conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": q, "per_page": 10, **extra}))
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}")
                json.loads(body)
            return one

        # Warm-up with other queries (drawn with another seed): every server thread opens its searcher, and the
        # per-segment columns are read, but the timed queries find nothing of theirs in the caches.
        warm = draw_queries(args.config, 10 * args.clients, seed=2)
        run_clients(warm, args.clients, http_query({}))
        for key, extra in (("http_with_snippets", {}), ("http_without_snippets", {"snippets": 0})):
            if key == "http_without_snippets" and not has_switch:
                continue
            cpu = tree_cpu_seconds(server.pid)
            # Each round its own queries (another seed for the second): none finds the other's postings cached.
            round_queries = queries if key == "http_with_snippets" else draw_queries(args.config, len(queries), 3)
            out[key] = run_clients(round_queries, args.clients, http_query(extra))
            out[key]["server_cpu_ms_per_query"] = (tree_cpu_seconds(server.pid) - cpu) / len(queries) * 1000
        out["server_memory_mb"] = proc_memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    report(out)
    if args.in_process:
        in_process_runs(args, queries, out)
        report(out)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def in_process_runs(args, queries: list[str], out: dict) -> None:
    from indexer.backends import open_store
    from indexer.config import load_config
    from indexer.search import SearchOptions, search

    store = open_store(load_config(args.config))

    def in_process(snippets: bool):
        def one(q, state):
            search(store, q, SearchOptions(per_page=10, snippets=snippets))
        return one

    run_clients(draw_queries(args.config, 10 * args.clients, seed=2), args.clients, in_process(True))
    out["in_process_without_snippets"] = run_clients(queries, args.clients, in_process(False))
    out["in_process_with_snippets"] = run_clients(queries, args.clients, in_process(True))


def report(out: dict) -> None:
    for key in [k for k in out if isinstance(out[k], dict) and "p50_ms" in out[k]]:
        r = out[key]
        cpu = f", server CPU {r['server_cpu_ms_per_query']:.0f} ms/query" if "server_cpu_ms_per_query" in r else ""
        print(f"{key}: p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, {r['throughput_qps']:.0f} q/s, "
              f"{r['errors']} errors{cpu}", file=sys.stderr)
    mem = {k: round(v) for k, v in out.get("server_memory_mb", {}).items() if not isinstance(v, list)}
    print(f"server memory (MB): {mem}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
