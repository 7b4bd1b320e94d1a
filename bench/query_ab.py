"""Serial query CPU of two or more variants of the query path on one built index, alternated in fresh processes.

    python bench/query_ab.py --config var/bench/work-100000/config.yaml --rounds 3 \
        --variant "default:" \
        --variant "no trailer:import indexer.backends.whoosh.arrays as a; a.read_trailer = lambda *x: None"

A variant is ``name:python`` — statements run in the measuring process before the index is opened (set a module
constant, replace a function); ``default:`` runs the code as it is. Each round runs every variant once, in turn,
each in a new process (its caches cold): 40 warm-up queries (seed 2), then ``--queries`` timed queries (seed 1)
drawn from the index's vocabulary as bench/query_speed.py draws them, one at a time, through search() with
snippets. Reports CPU milliseconds per query (p50, p95, mean) per run and the median over rounds; the same
queries in every run, so the variants are compared query for query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

ONE_RUN = r"""
import json, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
{setup}
from query_speed import draw_queries, percentile
from indexer.backends import open_store
from indexer.config import load_config
from indexer.search import SearchOptions, search
store = open_store(load_config({config!r}))
for q in draw_queries({config!r}, 40, seed=2):
    search(store, q, SearchOptions(per_page=10))
times = []
for q in draw_queries({config!r}, {queries}, seed=1):
    started = time.process_time()
    search(store, q, SearchOptions(per_page=10))
    times.append((time.process_time() - started) * 1000)
print(json.dumps({{"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
                   "mean_ms": sum(times) / len(times), "per_query_ms": times}}))
"""


def run(config: str, setup: str, queries: int) -> dict:
    code = ONE_RUN.format(root=str(ROOT), bench=str(BENCH), setup=setup, config=config, queries=queries)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="config.yaml of a built index")
    ap.add_argument("--variant", action="append", required=True, help="name:python statements")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    variants = [v.split(":", 1) for v in args.variant]
    if any(len(v) != 2 for v in variants):
        raise SystemExit("a variant is name:python statements")
    runs: dict[str, list[dict]] = {name: [] for name, _ in variants}
    for r in range(args.rounds):
        for name, setup in variants:
            out = run(str(Path(args.config).resolve()), setup, args.queries)
            runs[name].append(out)
            print(f"round {r + 1} {name}: p50 {out['p50_ms']:.1f} ms, p95 {out['p95_ms']:.1f} ms, "
                  f"mean {out['mean_ms']:.1f} ms", file=sys.stderr)
    summary = {name: {key: statistics.median(o[key] for o in outs) for key in ("p50_ms", "p95_ms", "mean_ms")}
               for name, outs in runs.items()}
    for name, s in summary.items():
        print(f"{name}: median of {args.rounds} runs: p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
              f"mean {s['mean_ms']:.1f} ms CPU per query", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"config": args.config, "queries": args.queries, "rounds": args.rounds,
                                         "variants": dict(variants), "summary": summary,
                                         "runs": {n: [{k: v for k, v in o.items() if k != "per_query_ms"}
                                                      for o in outs] for n, outs in runs.items()}},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
