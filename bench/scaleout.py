"""Scale-out comparison: Whoosh against a sphinx cluster of 1 node and of 3 nodes (2 shards + 1 mirror), on one
corpus — full build throughput, index size, and query latency over HTTP through `unionsearch serve`.

    python bench/scaleout.py --pages 10000 [--corpus DIR] [--workers 2] [--clients 4 32] [--queries 200]
                             [--processes 2] [--steps build query] [--json bench/results/scaleout-10000.json]
    python bench/scaleout.py --quick          # smoke test: 12 pages, 8 queries, 2 clients, in a temporary folder

* build: ``unionsearch index --full --quiet --workers W --config <work>/<setup>/config.yaml`` in a child
  process, wall time, CPU of the index command and its workers (rusage) plus the CPU the searchd nodes spent
  (/proc/<pid>/stat), peak RSS of the command's process tree. A sphinx setup first gets its own local cluster
  (`indexer.cluster.start`, free 127.0.0.1 ports, under <work>/<setup>/cluster). Index size: the Whoosh index
  folder; for sphinx the live shard indexes as searchd reports them (RAM + disk chunks, every replica) and the
  node data folders on disk (du, both generations and binlog).
* query: ``unionsearch serve --processes P --threads C`` per setup and client count C, 200 queries drawn once
  from the Whoosh index's vocabulary (bench/query_speed.py's draw_queries) and sent by C client threads
  (run_clients) to ``/api/search``, with snippets and with ``snippets=false``; p50/p95/q/s, server RSS.
  Whoosh is also served with one process (``--whoosh-one-process``, on by default).
* Every figure carries the load averages (os.getloadavg) before and after it: the machine may be shared.

A build is kept in <work>/<setup>/ with its figures in build.json; ``--steps query`` reuses it (the clusters
are started again from their data). Every searchd started here is stopped at the end (``--keep-clusters`` not).
Speed is reported, never asserted. Table: ``--table results.json``; plot: ``--plot bench/scaleout.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from procfs import tree_rss_mb  # noqa: E402
from query_speed import draw_queries, free_port, run_clients  # noqa: E402

SETUPS = {"whoosh": None, "sphinx1": 1, "sphinx3": 3}  # setup name -> searchd nodes (None: Whoosh)
LABELS = {"whoosh": "Whoosh", "sphinx1": "sphinx, 1 node", "sphinx3": "sphinx, 3 nodes (2 shards + mirror)"}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_head() -> dict:
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()

    import hashlib

    diff = git("diff", "HEAD", "--", "indexer", "webapp")  # the code measured is the working tree
    return {"head": git("log", "-1", "--format=%H %cI %s"),
            "dirty": [ln for ln in git("status", "--porcelain", "--untracked-files=no").splitlines() if ln],
            "code_diff_sha1": hashlib.sha1(diff.encode()).hexdigest() if diff else None}


# ---------------------------------------------------------------------------------------------- setups


def setup_dir(work: Path, setup: str) -> Path:
    return work / setup


def write_config(corpus: Path, work: Path, setup: str) -> Path:
    """config.yaml of one setup: absolute paths, the repository's analysis settings, the backend."""
    import yaml

    base = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8")) or {}
    folder = setup_dir(work, setup)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"source_dir": str(corpus.resolve()), "index_dir": str(folder / "index"),
            "cache_dir": str(work / "cache"), "analysis": base.get("analysis", {}),
            "search": base.get("search", {})}
    if SETUPS[setup] is not None:
        data["backend"] = "sphinx"
        data["sphinx"] = {**base.get("sphinx", {}), "nodes_file": str(folder / "cluster" / "nodes.json")}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def start_cluster(work: Path, setup: str):
    from indexer.backends.sphinx import cluster

    nodes = SETUPS[setup]
    return cluster.start(setup_dir(work, setup) / "cluster", nodes, min(2, nodes))


def stop_cluster(work: Path, setup: str) -> list[str]:
    from indexer.backends.sphinx import cluster

    return cluster.stop(setup_dir(work, setup) / "cluster")


def searchd_pids(work: Path, setup: str) -> list[int]:
    from indexer.backends.sphinx import cluster

    path = setup_dir(work, setup) / "cluster" / cluster.NODES_FILE
    if not path.exists():
        return []
    return [p for p in (cluster.node_pid(n) for n in cluster.ClusterSpec.load(path).nodes) if p]


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (Linux /proc), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(ln.split()[1]) / 1024 for ln in status.splitlines() if ln.startswith(field + ":")), 0.0)


def memory_mb(pids: list[int]) -> dict:
    """Summed memory of processes: VmRSS counts the index files Whoosh maps (once per mapping, page cache that
    is shared), RssAnon the process's own memory; VmHWM is the peak VmRSS."""
    return {f: round(sum(proc_rss_mb(p, f) for p in pids), 1) for f in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}


def cli_env() -> dict:
    # `python -m webapp.cli` from this tree, so that the code measured is the code next to this script
    return {**os.environ, "PYTHONPATH": str(ROOT)}


# ---------------------------------------------------------------------------------------------- build


def du_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def index_size(config_file: Path, setup: str) -> dict:
    from indexer.backends import open_store
    from indexer.config import load_config

    config = load_config(str(config_file))
    stats = open_store(config).stats()
    folder = setup_dir(config_file.parent.parent, setup)
    out = {"reported_bytes": stats.get("size_bytes"), "sections": stats.get("sections"),
           "documents": stats.get("documents"), "pages": stats.get("pages"), "terms": stats.get("terms"),
           "index_dir_bytes": du_bytes(folder / "index")}
    if SETUPS[setup] is not None:
        # searchd's own figure counts every replica; the folders hold both generations and the binlog
        out["node_data_bytes"] = du_bytes(folder / "cluster")
    return out


def build(corpus: Path, work: Path, setup: str, workers: int) -> dict:
    """Full build of one setup through the CLI, timed end to end; figures also saved in <setup>/build.json."""
    config_file = write_config(corpus, work, setup)
    folder = setup_dir(work, setup)
    shutil.rmtree(folder / "index", ignore_errors=True)
    if SETUPS[setup] is not None:
        stop_cluster(work, setup)
        shutil.rmtree(folder / "cluster", ignore_errors=True)
        start_cluster(work, setup)
    pids = searchd_pids(work, setup)
    searchd_cpu = {p: proc_cpu_seconds(p) for p in pids}
    out: dict = {"setup": setup, "workers": workers, "load_before": load(), "started": time.strftime("%H:%M:%S")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", "index", "--full", "--quiet", "--workers",
                             str(workers), "--config", str(config_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=cli_env())
    peak, peak_searchd, loads = 0.0, 0.0, []
    next_load = time.monotonic()
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        peak_searchd = max(peak_searchd, sum(proc_rss_mb(p) for p in pids))
        if time.monotonic() >= next_load:
            loads.append(load()[0])
            next_load += 30
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"build of {setup} failed:\n{stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu_searchd = sum(proc_cpu_seconds(p) - c for p, c in searchd_cpu.items())
    pages = int(stdout.split(" of ")[0].split()[-1]) if " of " in stdout else None
    out.update({"seconds": seconds, "summary": stdout.splitlines()[0], "pages": pages,
                "pages_per_second": pages / seconds if pages else None, "cpu_seconds_python": cpu,
                "cpu_seconds_searchd": cpu_searchd, "cpu_seconds": cpu + cpu_searchd,
                "peak_rss_mb_python": peak, "peak_rss_mb_searchd": peak_searchd, "load_1min_during": loads,
                "load_after": load(), "config": str(config_file), "git": git_head()})
    out["size"] = index_size(config_file, setup)
    text = json.dumps(out, ensure_ascii=False, indent=1)
    (folder / "build.json").write_text(text, encoding="utf-8")
    (folder / f"build-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(text, encoding="utf-8")  # history
    print(f"build {setup}: {seconds:.0f}s, {out['pages_per_second'] or 0:.1f} pages/s, {cpu:.0f}+{cpu_searchd:.0f} "
          f"CPU s, {out['size']['reported_bytes'] / 1e6:.0f} MB, load {out['load_before']} -> {out['load_after']}",
          file=sys.stderr)
    return out


# ---------------------------------------------------------------------------------------------- query


def tree_pids(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


class Server:
    """``unionsearch serve`` of one setup in a child process, on a free loopback port."""

    def __init__(self, config_file: Path, processes: int, threads: int):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", "serve", "--config", str(config_file),
                                      "--port", str(self.port), "--threads", str(threads), "--processes",
                                      str(processes)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     cwd=ROOT, env=cli_env())

    def wait(self) -> None:
        import httpx

        for _ in range(600):
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit("server did not start within 60 s")

    def cpu_seconds(self) -> float:
        return sum(proc_cpu_seconds(p) for p in tree_pids(self.proc.pid))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def http_query(base: str, extra: dict, timeout: float):
    import httpx

    def one(q, state):
        client = state.setdefault("client", httpx.Client(base_url=base, timeout=timeout, trust_env=False))
        r = client.get("/api/search", params={"q": q, "per_page": 10, **extra})
        r.raise_for_status()
        body = r.json()
        if extra.get("snippets") == "false" and any(h.get("snippet") for h in body.get("results", [])):
            raise AssertionError("snippets=false still returned snippets")
    return one


def measure(server: Server, queries: list[str], clients: int, extra: dict, searchd: list[int],
            timeout: float) -> dict:
    cpu_server, cpu_searchd = server.cpu_seconds(), sum(proc_cpu_seconds(p) for p in searchd)
    before = load()
    out = run_clients(queries, clients, http_query(server.base, extra, timeout))
    out.update({"load_before": before, "load_after": load(), "cpu_seconds_server": server.cpu_seconds() - cpu_server,
                "cpu_seconds_searchd": sum(proc_cpu_seconds(p) for p in searchd) - cpu_searchd,
                "time": time.strftime("%H:%M:%S")})
    return out


def query_runs(work: Path, setup: str, queries: list[str], warmup: list[str], clients_list: list[int],
               processes_list: list[int], timeout: float, round_no: int = 1) -> list[dict]:
    config_file = setup_dir(work, setup) / "config.yaml"
    searchd = searchd_pids(work, setup)
    runs = []
    for processes in processes_list:
        for clients in clients_list:
            server = Server(config_file, processes, clients)
            try:
                server.wait()
                # warm-up (other queries than the timed ones): every server thread opens its searcher first
                run_clients(warmup[: max(4 * clients, 40)], clients, http_query(server.base, {}, timeout))
                run = {"setup": setup, "round": round_no, "processes": processes, "threads_per_process": clients,
                       "clients": clients}
                run["with_snippets"] = measure(server, queries, clients, {}, searchd, timeout)
                run["without_snippets"] = measure(server, queries, clients, {"snippets": "false"}, searchd, timeout)
                run["server_memory_mb"] = memory_mb(tree_pids(server.proc.pid))
                run["searchd_memory_mb"] = memory_mb(searchd)
            finally:
                server.stop()
            runs.append(run)
            w, wo = run["with_snippets"], run["without_snippets"]
            print(f"query {setup} P={processes} C={clients}: with snippets p50 {w['p50_ms']:.0f} / p95 "
                  f"{w['p95_ms']:.0f} ms, {w['throughput_qps']:.1f} q/s ({w['errors']} err); without p50 "
                  f"{wo['p50_ms']:.0f} / p95 {wo['p95_ms']:.0f} ms, {wo['throughput_qps']:.1f} q/s ({wo['errors']} "
                  f"err); load {w['load_before']} -> {wo['load_after']}", file=sys.stderr)
    return runs


# ---------------------------------------------------------------------------------------------- report


def _mb(n) -> str:
    return f"{n / 1e6:.0f}" if n else "–"


def _median(runs: list[dict], *path: str) -> float | None:
    import statistics

    values = []
    for r in runs:
        for key in path:
            r = r.get(key) if isinstance(r, dict) else None
        if isinstance(r, (int, float)):
            values.append(r)
    return statistics.median(values) if values else None


def _lat(runs: list[dict], key: str) -> str:
    if not runs:
        return "–"
    errors = sum(r[key].get("errors", 0) for r in runs)
    err = f" ({errors} err.)" if errors else ""
    return f"{_median(runs, key, 'p50_ms'):.0f} / {_median(runs, key, 'p95_ms'):.0f}{err}"


def table(data: dict) -> str:
    """One markdown table, a row per setup and server process count; every figure is the median of the rounds
    (builds: of the build runs kept in the work folder; queries: of the query rounds)."""
    clients = data.get("clients", [4, 32])
    head = ["backend", "full build s (pages/s)", "build CPU ms/page", "index MB"]
    for c in clients:
        head += [f"p50 / p95 ms, {c} cl., snippets", f"p50 / p95 ms, {c} cl., no snippets",
                 f"q/s {c} cl. (snippets / none)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for setup, entry in data.get("setups", {}).items():
        builds = entry.get("build_runs") or [entry.get("build", {})]
        pages = builds[-1].get("pages") or data.get("pages") or 0
        seconds = _median(builds, "seconds")
        cpu = _median(builds, "cpu_seconds")
        size = _median(builds, "size", "reported_bytes")
        runs = entry.get("query", [])
        for processes in sorted({r["processes"] for r in runs}, reverse=True) or [None]:
            name = LABELS.get(setup, setup) + (f", serve ×{processes}" if processes else "")
            row = [name, f"{seconds:.0f} ({pages / seconds:.1f})" if seconds and pages else "–",
                   f"{1000 * cpu / pages:.0f}" if cpu and pages else "–", _mb(size)]
            for c in clients:
                sel = [x for x in runs if x["clients"] == c and x["processes"] == processes]
                qps = "–"
                if sel:
                    qps = (f"{_median(sel, 'with_snippets', 'throughput_qps'):.1f} / "
                           f"{_median(sel, 'without_snippets', 'throughput_qps'):.1f}")
                row += [_lat(sel, "with_snippets"), _lat(sel, "without_snippets"), qps]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def cpu_table(data: dict) -> str:
    """CPU per query (server processes + searchd nodes), median over rounds: the figure a busy machine
    disturbs least; and the memory of the server and of the nodes after the run."""
    import statistics

    head = ["backend", "clients", "CPU ms/query, snippets (Python + searchd)", "CPU ms/query, no snippets",
            "server RssAnon MB (max)", "searchd RssAnon MB (max)", "rounds"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for setup, entry in data.get("setups", {}).items():
        groups: dict = {}
        for r in entry.get("query", []):
            groups.setdefault((r["processes"], r["clients"]), []).append(r)
        for (processes, clients), runs in sorted(groups.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
            cells = []
            for key in ("with_snippets", "without_snippets"):
                py = statistics.median(1000 * r[key]["cpu_seconds_server"] / r[key]["queries"] for r in runs)
                sd = statistics.median(1000 * r[key]["cpu_seconds_searchd"] / r[key]["queries"] for r in runs)
                cells.append(f"{py + sd:.0f} ({py:.0f} + {sd:.0f})")
            mem = [r for r in runs if "server_memory_mb" in r]
            server = f"{max(r['server_memory_mb']['RssAnon'] for r in mem):.0f}" if mem else "–"
            nodes = f"{max(r['searchd_memory_mb']['RssAnon'] for r in mem):.0f}" if mem and SETUPS[setup] else "–"
            lines.append(f"| {LABELS.get(setup, setup)}, serve ×{processes} | {clients} | {cells[0]} | {cells[1]} "
                         f"| {server} | {nodes} | {len(runs)} |")
    return "\n".join(lines)


def plot(points: dict[int, dict], out: Path) -> None:
    """Per setup and corpus size: build time, CPU per query, and query p95 with 4 and 32 clients (snippets,
    ``serve --processes 2``): the median of the rounds, with bars from the best to the worst round."""
    import statistics

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(points)
    panels = [("full build, 2 workers (s)", None), ("CPU per query, 4 clients (ms)\nPython + searchd", None),
              ("query p95, 4 clients (ms)", 4), ("query p95, 32 clients (ms)", 32)]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 4.4))
    width = 0.8 / len(SETUPS)
    for k, setup in enumerate(SETUPS):
        for i, n in enumerate(sizes):
            entry = points[n].get("setups", {}).get(setup)
            if not entry:
                continue
            x = i + (k - (len(SETUPS) - 1) / 2) * width
            runs = [r for r in entry.get("query", []) if r["processes"] == 2]
            builds = [b["seconds"] for b in entry.get("build_runs", [entry.get("build", {})]) if b.get("seconds")]
            cpu = [1000 * (r["with_snippets"]["cpu_seconds_server"] + r["with_snippets"]["cpu_seconds_searchd"])
                   / r["with_snippets"]["queries"] for r in runs if r["clients"] == 4]
            values = [builds, cpu] + [[r["with_snippets"]["p95_ms"] for r in runs if r["clients"] == c]
                                      for c in (4, 32)]
            for ax, ys in zip(axes, values, strict=True):
                if not ys:
                    continue
                mid = statistics.median(ys)
                ax.bar(x, mid, width, color=f"C{k}", label=LABELS[setup] if i == 0 else None,
                       yerr=[[mid - min(ys)], [max(ys) - mid]] if len(ys) > 1 else None, capsize=3)
    for ax, (title, _) in zip(axes, panels, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(sizes)))
        ax.set_xticklabels([f"{n:,} pages" for n in sizes])
        ax.grid(True, axis="y", alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(SETUPS), fontsize=9)
    fig.suptitle("unionsearch: Whoosh vs sphinx (Sphinx 2.2 searchd) on a shared 2-core machine; "
                 "HTTP, serve --processes 2, with snippets; bars: median of rounds, whiskers: best–worst", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10000, help="corpus size (default corpus: var/bench/corpus-N)")
    ap.add_argument("--corpus", type=Path, help="corpus folder (made with bench/make_corpus.py when missing)")
    ap.add_argument("--work", type=Path, help="work folder (default var/bench/scaleout/N)")
    ap.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    ap.add_argument("--steps", nargs="*", choices=["build", "query"], default=["build", "query"],
                    help="what to run (none: only gather the saved builds, and with --keep-query-runs the saved "
                         "query rounds, into --json and the tables)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, nargs="+", default=[4, 32])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--warmup", type=int, help="warm-up queries per server (default: 4 per client, at least 40)")
    ap.add_argument("--processes", type=int, default=2, help="server processes (unionsearch serve --processes)")
    ap.add_argument("--no-whoosh-one-process", dest="whoosh_one_process", action="store_false",
                    help="do not also serve Whoosh with one process")
    ap.add_argument("--rounds", type=int, default=1, help="query rounds (setup order reversed every other round)")
    ap.add_argument("--keep-query-runs", action="store_true",
                    help="add this run's query rounds to those already in the --json file")
    ap.add_argument("--timeout", type=float, default=120, help="seconds a client waits for one answer")
    ap.add_argument("--json", type=Path, help="write the figures here (e.g. bench/results/scaleout-10000.json)")
    ap.add_argument("--keep-clusters", action="store_true", help="leave the searchd nodes running")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 12 pages, Whoosh and 3 nodes, 8 queries, 2 clients, 1 process, temp folder")
    ap.add_argument("--table", type=Path, help="only print the table of this results file")
    ap.add_argument("--plot", type=Path, help="only plot the scaleout-N.json files given with --results to here")
    ap.add_argument("--results", type=Path, nargs="*", default=[], help="scaleout-N.json files for --plot")
    args = ap.parse_args(argv)
    if args.table:
        data = json.loads(args.table.read_text(encoding="utf-8"))
        print(table(data) + "\n\n" + cpu_table(data))
        return 0
    if args.plot:
        points = {}
        for path in args.results:
            data = json.loads(path.read_text(encoding="utf-8"))
            points[data["pages"]] = data
        plot(points, args.plot)
        return 0
    tmp = None
    if args.quick:
        tmp = tempfile.TemporaryDirectory(prefix="scaleout-")
        args.pages, args.queries, args.clients, args.processes, args.warmup = 12, 8, [2], 1, 4
        if args.setups == list(SETUPS):
            args.setups = ["whoosh", "sphinx3"]  # one sphinx setup: the 3-node one exercises the most
        args.work = Path(tmp.name) / "work"
        args.corpus = args.corpus or Path(tmp.name) / "corpus"
        args.whoosh_one_process = False
    corpus = (args.corpus or ROOT / "var" / "bench" / f"corpus-{args.pages}").resolve()
    work = (args.work or ROOT / "var" / "bench" / "scaleout" / str(args.pages)).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not corpus.is_dir():
        from make_corpus import make_corpus

        make_corpus(args.pages, corpus)
    from indexer.backends.sphinx.cluster import searchd_binary

    setups = [s for s in args.setups if SETUPS[s] is None or searchd_binary()]
    if setups != args.setups:
        print("searchd not found: sphinx setups skipped", file=sys.stderr)
    from indexer.load import iter_pages

    out: dict = {"pages": sum(1 for _ in iter_pages(corpus)), "corpus": str(corpus), "work": str(work),
                 "workers": args.workers, "clients": args.clients, "cpus": os.cpu_count(),
                 "python": sys.version.split()[0], "git": git_head(), "load_at_start": load(),
                 "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "setups": {}}
    try:
        for setup in setups:
            entry = out["setups"].setdefault(setup, {})
            if "build" in args.steps:
                build(corpus, work, setup, args.workers)
            elif not (setup_dir(work, setup) / "build.json").exists():
                raise SystemExit(f"no build of {setup} in {work}: run with --steps build first")
            # every build of this setup kept in its folder (the table shows medians)
            history = [json.loads(p.read_text(encoding="utf-8"))
                       for p in sorted(setup_dir(work, setup).glob("build-*.json"))]
            entry["build_runs"] = history
            entry["build"] = min(history, key=lambda b: b["seconds"])
        kept: dict = {}
        if args.keep_query_runs and args.json and args.json.exists():
            previous = json.loads(args.json.read_text(encoding="utf-8"))
            if previous.get("pages") == out["pages"]:
                kept = {k: v.get("query", []) for k, v in previous.get("setups", {}).items()}
                out["query_rounds_before"] = previous.get("query_rounds", [])
                for key in ("queries", "query_examples", "query_started", "git_at_query"):
                    if key in previous:
                        out[key] = previous[key]
                if "query" not in args.steps:  # only the builds were redone: the query rounds stay as they were
                    out["query_rounds"] = out.pop("query_rounds_before")
                    for setup in setups:
                        out["setups"][setup]["query"] = list(kept.get(setup, []))
        if "query" in args.steps:
            # the same queries for every setup, from the first setup's vocabulary (the analyser is the same)
            first = setup_dir(work, setups[0]) / "config.yaml"
            if SETUPS[setups[0]] is not None and not searchd_pids(work, setups[0]):
                start_cluster(work, setups[0])
            queries = draw_queries(str(first), args.queries, seed=1)
            warmup = draw_queries(str(first), args.warmup or max(4 * max(args.clients), 40), seed=2)
            out["queries"], out["query_examples"] = len(queries), queries[:10]
            if not kept:
                out["query_started"], out["git_at_query"] = time.strftime("%Y-%m-%d %H:%M:%S %Z"), git_head()
            first_round = 1 + max((r.get("round", 1) for runs in kept.values() for r in runs), default=0)
            out["query_rounds"] = out.get("query_rounds_before", [])
            for setup in setups:
                out["setups"][setup]["query"] = list(kept.get(setup, []))
            for round_no in range(first_round, first_round + args.rounds):
                order = setups if round_no % 2 else setups[::-1]  # alternate, so a busy spell hits every setup
                out["query_rounds"].append({"round": round_no, "order": order, "git": git_head(),
                                            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load": load()})
                for setup in order:
                    if SETUPS[setup] is not None and not searchd_pids(work, setup):
                        start_cluster(work, setup)
                    procs = [args.processes] + ([1] if setup == "whoosh" and args.whoosh_one_process
                                                and args.processes != 1 else [])
                    out["setups"][setup]["query"] += query_runs(work, setup, queries, warmup, args.clients, procs,
                                                                args.timeout, round_no)
                    if SETUPS[setup] is not None and not args.keep_clusters:
                        stop_cluster(work, setup)
    finally:
        if not args.keep_clusters:
            for setup in setups:
                if SETUPS[setup] is not None:
                    stop_cluster(work, setup)
        out["load_at_end"], out["finished"] = load(), time.strftime("%Y-%m-%d %H:%M:%S %Z")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
        if tmp is not None:
            tmp.cleanup()
    print(table(out) + "\n\n" + cpu_table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
