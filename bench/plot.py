"""Plot build time, index size and query p95 against corpus size, and print the markdown table for RESULTS.md.

    python bench/plot.py [--results bench/results] [--out bench/scaling.png]

Reads ``index-N.json`` (bench/index_speed.py) and ``query-N.json`` (bench/query_speed.py) for every N found.
Needs matplotlib (``pip install -e .[bench]``); without it only the table is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def load(results: Path) -> list[dict]:
    rows = []
    for path in sorted(results.glob("index-*.json"), key=lambda p: int(p.stem.split("-")[1])):
        n = int(path.stem.split("-")[1])
        row = {"n": n, "index": json.loads(path.read_text(encoding="utf-8"))}
        q = results / f"query-{n}.json"
        if q.exists():
            row["query"] = json.loads(q.read_text(encoding="utf-8"))
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| pages | build (s) | pages/s | naive (s) | speed-up | peak RSS build (MB) | index (MB) | index ÷ text "
             "| 1 changed page (s) | p50 / p95 with snippets (ms) | p50 / p95 without snippets (ms) "
             "| server RSS (MB) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        i, q = r["index"], r.get("query", {})
        naive = i.get("naive")
        withs = q.get("http_with_snippets")
        without = q.get("http_without_snippets") or q.get("in_process_without_snippets")
        mem = q.get("server_memory_mb", {})
        lines.append(" | ".join([
            f"| {i['pages']}", f"{i['ours']['seconds']:.1f}", f"{i['ours']['pages_per_second']:.1f}",
            f"{naive['seconds_with_start']:.1f}" if naive else "–", f"{i['speedup']:.2f}×" if naive else "–",
            f"{i['ours']['peak_rss_mb_all_processes']:.0f}", f"{i['index']['size_bytes'] / 1e6:.1f}",
            f"{i['index']['ratio']:.1f}×", f"{i['incremental']['seconds']:.2f}",
            f"{withs['p50_ms']:.0f} / {withs['p95_ms']:.0f}" if withs else "–",
            f"{without['p50_ms']:.0f} / {without['p95_ms']:.0f}" if without else "–",
            (f"{mem['sum_Pss']:.0f} PSS, {len(mem['processes']) - 1} processes" if "sum_Pss" in mem
             else f"{mem['VmHWM']:.0f}") if mem else "–",
        ]) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].plot(n, [r["index"]["ours"]["seconds"] for r in rows], "o-", label="ours (2 workers)")
    naive = [(r["n"], r["index"]["naive"]["seconds_with_start"]) for r in rows if r["index"].get("naive")]
    if naive:
        axes[0].plot(*zip(*naive, strict=True), "s--", label="naive")
    axes[0].set(title="full build time", xlabel="pages", ylabel="seconds")
    axes[0].legend()
    axes[1].plot(n, [r["index"]["index"]["size_bytes"] / 1e6 for r in rows], "o-", label="index")
    axes[1].plot(n, [r["index"]["index"]["cleaned_text_bytes"] / 1e6 for r in rows], "s--", label="cleaned text")
    axes[1].set(title="size on disk", xlabel="pages", ylabel="MB")
    axes[1].legend()
    q = [(r["n"], r["query"]) for r in rows if "query" in r]
    if q:
        axes[2].plot([x for x, _ in q], [d["http_with_snippets"]["p95_ms"] for _, d in q], "o-",
                     label="p95, HTTP, with snippets")
        without = [(x, d.get("http_without_snippets") or d.get("in_process_without_snippets")) for x, d in q]
        axes[2].plot([x for x, w in without if w], [w["p95_ms"] for _, w in without if w], "s--",
                     label="p95, HTTP, no snippets")
        axes[2].legend()
    axes[2].set(title="query latency (4 clients)", xlabel="pages", ylabel="ms")
    for ax in axes:
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=BENCH / "results")
    ap.add_argument("--out", type=Path, default=BENCH / "scaling.png")
    args = ap.parse_args(argv)
    rows = load(args.results)
    if not rows:
        print(f"no results in {args.results}; run bench/index_speed.py first", file=sys.stderr)
        return 1
    print(table(rows))
    try:
        plot(rows, args.out)
        print(f"\nplot: {args.out}", file=sys.stderr)
    except ImportError:
        print("matplotlib is not installed (pip install -e .[bench]); no plot", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
