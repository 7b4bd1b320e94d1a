"""The realistic benchmark: what a user gets with the default settings on pages like real ones.

    python bench/realistic.py [--pages 10000] [--tuned SETTINGS.yaml] [--clients 4] [--naive] [--skip-build]

1. The corpus: bench/make_mutated_corpus.py's N pages (scraped/ pages copied with mutations, no two
   near-copies) in var/bench/mutated-N, made when missing.
2. The build: `unionsearch index --full` with the repository's config.yaml, only the paths changed (pages, index,
   caches, logs: var/bench/realistic-N/config.yaml), timed end to end with its CPU time and peak memory;
   ``--naive`` also times bench/index_speed.py's naive Whoosh + jieba build of the same pages.
3. Cold queries (bench/queries/cold.json, bench/cold_queries.py; each query asked once, after 20 other warm-up
   queries): in this process through indexer.search.search on a freshly opened index, one at a time; then
   through `unionsearch serve` as it starts with no flags (a fresh server per round; only the port is chosen),
   one client at a time and ``--clients`` at once. p50/p95 of each, the server's CPU per query and memory.

``--tuned FILE`` merges a YAML file of settings over config.yaml (e.g. ``server: {processes: 2}``) and names the
result after it. Figures go to bench/results/realistic-N[-NAME].json and a markdown table to stdout. Speed is
reported, never asserted: the machine may be shared (the load averages are in the JSON).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from index_speed import _cli, run_naive  # noqa: E402
from procfs import tree_cpu_seconds  # noqa: E402
from query_speed import free_port, percentile, proc_memory_mb, run_clients, summarise  # noqa: E402

# The issue's figures for this benchmark at 10,000 pages (issue 20), quoted in the table for comparison.
ISSUE_10K = {"build_pages_per_second": 58, "serial_p50_ms": 60, "serial_p95_ms": 107, "clients_p50_ms": 199,
             "clients_p95_ms": 318, "server_rss_mb": 287}


def write_config(corpus: Path, work: Path, overrides: dict | None = None) -> Path:
    """A copy of the repository's config.yaml with only the paths changed (pages, index, caches, logs), and
    ``overrides`` merged over it (one level deep)."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8")) or {}
    data.update(source_dir=str(corpus), index_dir=str(work / "index"), cache_dir=str(work / "cache"),
                log_dir=str(work / "log"))
    for key, value in (overrides or {}).items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    work.mkdir(parents=True, exist_ok=True)
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def build(config_file: Path) -> dict:
    """`unionsearch index --full` as a user runs it (the default workers), timed end to end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, proc, peak = _cli("index", "--full", "--quiet", "--config", str(config_file))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 1), "peak_rss_mb_all_processes": round(peak),
            "summary": proc.stdout.splitlines()[0]}


def index_counts(config_file: Path) -> dict:
    """What the index holds, and the cleaned text it was made from (its stored section texts)."""
    from index_speed import cleaned_text_bytes

    from indexer.backends import open_store
    from indexer.config import load_config

    stats = open_store(load_config(config_file)).stats()
    out = {k: stats.get(k) for k in ("pages", "documents", "sections", "size_bytes")}
    out["cleaned_text_bytes"] = cleaned_text_bytes(str(config_file))[0]
    return out


def corpus_counts(corpus: Path) -> dict:
    """Files by type and encoding, and their bytes."""
    from indexer.load import declared_charset, iter_pages

    kinds: dict[str, int] = {}
    size = 0
    for p in iter_pages(corpus):
        kind = "text" if p.suffix == ".txt" else f"html {declared_charset(p.read_bytes()[:2048]) or 'undeclared'}"
        kinds[kind] = kinds.get(kind, 0) + 1
        size += p.stat().st_size
    return {"files": kinds, "bytes": size}


def timed(queries: list[dict], one) -> dict:
    """Each query once, one after another: latency summary overall and by kind of query."""
    rows = []
    started = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        one(q["q"])
        rows.append((q["kind"], time.perf_counter() - t))
    out = summarise([s for _, s in rows], time.perf_counter() - started)
    out["by_kind"] = {kind: {"queries": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}
                      for kind in sorted({k for k, _ in rows})
                      for ms in [[s * 1000 for k2, s in rows if k2 == kind]]}
    return out


def in_process(config_file: Path, queries: list[dict], warmup: list[str]) -> dict:
    """indexer.search.search on a freshly opened index, one query at a time (snippets on, 10 a page)."""
    from indexer.backends import open_store
    from indexer.config import load_config
    from indexer.search import SearchOptions, search

    store = open_store(load_config(config_file))
    options = SearchOptions(per_page=10)
    for q in warmup:
        search(store, q, options)
    seen = {"zero": 0, "hits": 0, "folded": 0}

    def one(q: str) -> None:
        result = search(store, q, options)
        seen["zero"] += result.total == 0
        seen["hits"] += len(result.hits)
        seen["folded"] += sum(1 for h in result.hits if h.similar)

    out = timed(queries, one)
    out.update(queries_without_results=seen["zero"], hits_shown=seen["hits"], hits_folding_near_copies=seen["folded"])
    return out


class Server:
    """`unionsearch serve --config FILE --port P`: the settings' defaults, a free port; its log in the work folder."""

    def __init__(self, config_file: Path, log: Path):
        self.port = free_port()
        self.log = open(log, "ab")  # noqa: SIM115 - closed in __exit__, the server writes to it meanwhile
        self.proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", "serve", "--config", str(config_file),
                                      "--port", str(self.port)], stdout=self.log, stderr=self.log, cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})

    def __enter__(self) -> Server:
        for _ in range(600):
            if self.proc.poll() is not None:
                raise SystemExit(f"the server stopped (exit {self.proc.returncode}); see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"the server did not answer in a minute; see {self.log.name}")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()

    def ask(self, q: str, state: dict) -> None:
        """GET /api/search?q=… (10 a page, snippets on: the API's normal answer) on a kept-alive connection."""
        conn = state.get("conn") or state.setdefault("conn", http.client.HTTPConnection("127.0.0.1", self.port,
                                                                                          timeout=60))
        conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": q, "per_page": 10}))
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}")
        json.loads(body)


def http_round(config_file: Path, work: Path, queries: list[dict], warmup: list[str], clients: int) -> dict:
    """A fresh server; the warm-up queries from ``clients`` clients, then the timed ones; its CPU and memory."""
    with Server(config_file, work / "serve.log") as server:
        run_clients(warmup, clients, server.ask)
        cpu = tree_cpu_seconds(server.proc.pid)
        if clients == 1:
            state: dict = {}
            out = timed(queries, lambda q: server.ask(q, state))
            out["errors"] = 0
        else:
            out = run_clients([q["q"] for q in queries], clients, server.ask)
        out["clients"] = clients
        out["server_cpu_ms_per_query"] = (tree_cpu_seconds(server.proc.pid) - cpu) / len(queries) * 1000
        out["server_memory_mb"] = proc_memory_mb(server.proc.pid)
    return out


def run(pages: int, tuned: Path | None, clients: int, naive: bool, skip_build: bool, seed: int = 7) -> dict:
    from cold_queries import load_queries
    from make_mutated_corpus import corpus_ready, make_corpus

    started = time.perf_counter()
    corpus = ROOT / "var" / "bench" / f"mutated-{pages}"
    if not corpus_ready(corpus, pages, seed):
        print(f"making {pages} mutated pages in {corpus} …", file=sys.stderr)
        make_corpus(pages, corpus, seed)
    name = f"realistic-{pages}" + (f"-{tuned.stem}" if tuned else "")
    work = ROOT / "var" / "bench" / name
    overrides = yaml.safe_load(tuned.read_text(encoding="utf-8")) if tuned else None
    config_file = write_config(corpus, work, overrides)
    out: dict = {"pages": pages, "corpus": str(corpus.relative_to(ROOT)), "corpus_seed": seed,
                 "corpus_files": corpus_counts(corpus),
                 "settings": str(tuned) if tuned else "default config.yaml (paths changed)", "overrides": overrides,
                 "cpus": os.cpu_count(), "python": sys.version.split()[0], "load_average_at_start": os.getloadavg()}
    if not skip_build:
        out["build"] = build(config_file)
        out["build"]["pages_per_second"] = round(pages / out["build"]["seconds"], 1)
        print(f"build: {out['build']['summary']}", file=sys.stderr)
        if naive:
            out["naive"] = run_naive(corpus, work)
            out["speedup_over_naive"] = round(out["naive"]["seconds_with_start"] / out["build"]["seconds"], 2)
    out["index"] = index_counts(config_file)
    qs = load_queries()
    queries, warmup = qs["queries"], qs["warmup"]
    out["queries"] = {"file": "bench/queries/cold.json", "count": len(queries), "shares": qs["shares"]}
    out["in_process_serial"] = in_process(config_file, queries, warmup)
    out["http_serial"] = http_round(config_file, work, queries, warmup, 1)
    if clients > 1:
        out[f"http_{clients}_clients"] = http_round(config_file, work, queries, warmup, clients)
    out["load_average_at_end"] = os.getloadavg()
    out["total_seconds"] = round(time.perf_counter() - started, 1)
    return out


def table(out: dict) -> str:
    """The figures as a markdown table, beside the issue's figures at 10,000 pages."""
    idx, b = out["index"], out.get("build")
    files = out["corpus_files"]
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(files["files"].items()))
    rows = [("pages / documents / sections", f"{idx['pages']} / {idx['documents']} / {idx['sections']}", ""),
            ("pages on disk; cleaned text", f"{files['bytes'] / 1e6:.1f} MB ({kinds}); "
             f"{idx['cleaned_text_bytes'] / 1e6:.1f} MB", ""),
            ("index size", f"{idx['size_bytes'] / 1e6:.1f} MB ({idx['size_bytes'] / idx['cleaned_text_bytes']:.1f}× "
             "the cleaned text)", "")]
    if b:
        rows.append(("full build", f"{b['seconds']:.1f} s = **{b['pages_per_second']} pages/s**, "
                     f"{b['cpu_seconds']:.0f} CPU s, peak RSS {b['peak_rss_mb_all_processes']} MB (all processes)",
                     f"{ISSUE_10K['build_pages_per_second']} pages/s"))
    if "naive" in out:
        rows.append(("naive build, same pages", f"{out['naive']['seconds_with_start']:.1f} s: ours is "
                     f"**{out['speedup_over_naive']}×**", "1.84×"))
    rows += _query_rows(out)
    mem = out["http_serial"]["server_memory_mb"]
    rows.append(("server memory after the serial round", f"RSS {mem['VmRSS']:.0f} MB"
                 + (f" (parent), {mem['sum_VmRSS']:.0f} MB summed, PSS {mem['sum_Pss']:.0f} MB summed over "
                    f"{len(mem['processes'])} processes" if "processes" in mem else ""),
                 f"{ISSUE_10K['server_rss_mb']} MB"))
    ip = out["in_process_serial"]
    rows.append(("queries with no result; hits shown folding a near-copy", f"{ip['queries_without_results']} of "
                 f"{ip['queries']}; {ip['hits_folding_near_copies']} of {ip['hits_shown']}", ""))
    lines = [f"| {out['pages']} pages, {out['settings']} | this run | issue 20 at 10k |", "|---|---|---|"]
    return "\n".join(lines + [f"| {a} | {b_} | {c} |" for a, b_, c in rows])


def _query_rows(out: dict) -> list[tuple[str, str, str]]:
    rows = []
    ref = f"{ISSUE_10K['serial_p50_ms']} / {ISSUE_10K['serial_p95_ms']} ms"
    for key, label, issue in (("in_process_serial", "in-process, one at a time", ""),
                              ("http_serial", "via `serve`, one at a time", ref)):
        r = out[key]
        cpu = f" (server CPU {r['server_cpu_ms_per_query']:.0f} ms/query)" if "server_cpu_ms_per_query" in r else ""
        rows.append((f"cold queries {label}: p50 / p95", f"**{r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms**{cpu}", issue))
    for key in [k for k in out if k.startswith("http_") and k.endswith("_clients")]:
        r = out[key]
        rows.append((f"cold queries via `serve`, {r['clients']} clients at once: p50 / p95",
                     f"**{r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms**, {r['throughput_qps']:.1f} q/s, "
                     f"{r['errors']} errors", f"{ISSUE_10K['clients_p50_ms']} / {ISSUE_10K['clients_p95_ms']} ms"))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--tuned", type=Path, help="YAML settings merged over config.yaml")
    ap.add_argument("--clients", type=int, default=4, help="clients at once in the last round (1: no such round)")
    ap.add_argument("--naive", action="store_true", help="also time the naive build")
    ap.add_argument("--skip-build", action="store_true", help="query the index the last run built")
    ap.add_argument("--json", type=Path, help="default: bench/results/realistic-N[-NAME].json")
    args = ap.parse_args(argv)
    out = run(args.pages, args.tuned, args.clients, args.naive, args.skip_build)
    path = args.json or BENCH / "results" / (f"realistic-{args.pages}"
                                             + (f"-{args.tuned.stem}" if args.tuned else "") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"figures in {path} ({out['total_seconds']:.0f} s in all)", file=sys.stderr)
    print(table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
