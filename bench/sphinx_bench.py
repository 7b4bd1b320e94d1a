"""Build throughput and in-process query latency: Whoosh vs a sphinx cluster of 1 and 3 nodes.

    python3 bench/sphinx_bench.py CORPUS_DIR [--workers 2] [--clients 4 32] [--queries 200]

Starts its own local clusters under a temporary folder (stopped at the end). Latency is of search() in
threads (no HTTP); prints one markdown table."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sphinx_common import index, sphinx_store  # noqa: E402

from indexer.backends import open_store  # noqa: E402
from indexer.backends.sphinx import cluster  # noqa: E402
from indexer.build import index_corpus  # noqa: E402
from indexer.config import load_config  # noqa: E402
from indexer.search import SearchOptions, search  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ["职工之家", "农民工入会", "女职工拔河比赛", "劳模座谈会", "职代会 民主管理", "厂务公开", "工资集体协商",
           "春节 困难职工 慰问金", "女职工 体检", "献血", '"送温暖基金"', "劳动竞赛 -煤炭", "工会 OR 协会",
           "title:工会 年度", "year:2019..2022 安全生产"]


def latency(store, clients: int, n: int) -> tuple[float, float, float]:
    times: list[float] = []
    lock = threading.Lock()

    def client(k):
        for i in range(n // clients):
            q = QUERIES[(k + i) % len(QUERIES)]
            t = time.perf_counter()
            search(store, q, SearchOptions(per_page=10))
            with lock:
                times.append(time.perf_counter() - t)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95) - 1] * 1000, len(times) / wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, nargs="+", default=[4, 32])
    ap.add_argument("--queries", type=int, default=320)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = load_config(ROOT / "config.yaml", {"source_dir": str(args.corpus), "index_dir": str(tmp / "w"),
                                                   "cache_dir": str(tmp / "cache")})
        setups = [("whoosh", None), ("sphinx 1 node", 1), ("sphinx 3 nodes (2 shards + mirror)", 3)]
        for name, nodes in setups:
            var = tmp / f"cluster{nodes}"
            try:
                if nodes is None:
                    store = open_store(config)
                    t = time.perf_counter()
                    report = index_corpus(config, store, full=True, workers=args.workers, progress=False)
                else:
                    spec = cluster.start(var, nodes, 2)
                    store = sphinx_store(config, var / cluster.NODES_FILE, tmp / f"state{nodes}")
                    t = time.perf_counter()
                    report = index(config, store, full=True, workers=args.workers)
                    del spec
                build = time.perf_counter() - t
                row = [name, f"{report.pages / build:.1f}", f"{report.sections}"]
                for c in args.clients:
                    p50, p95, qps = latency(store, c, args.queries)
                    row += [f"{p50:.1f}", f"{p95:.1f}", f"{qps:.0f}"]
                rows.append(row)
            finally:
                if nodes is not None:
                    cluster.stop(var)
    head = ["backend", "build pages/s", "sections"]
    for c in args.clients:
        head += [f"p50 ms ({c} cl.)", f"p95 ms ({c} cl.)", f"q/s ({c} cl.)"]
    print(f"corpus: {args.corpus} ({sum(1 for _ in args.corpus.rglob('*') if _.is_file())} pages), "
          f"workers={args.workers}")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
