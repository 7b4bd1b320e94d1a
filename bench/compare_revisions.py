"""Two git revisions side by side, in one run: full build time of a generated corpus (``unionsearch index
--full`` end to end, default settings), one-page incremental update, and in-process search latency on the
same queries. Rounds alternate between the revisions so machine noise hits both alike; medians are reported.

    python bench/compare_revisions.py BEFORE [AFTER] [--pages 1000] [--rounds 3] [--queries 200] [--out FILE]

AFTER defaults to the working tree. Each revision runs from its own git worktree (var/bench/rev-<sha>) with
this venv's packages; its own code comes first on PYTHONPATH. For a refactoring, the figures should match within
noise; the search results of one-worker builds are also compared (the top 10 of every query must be the same)."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from make_corpus import make_corpus  # noqa: E402

# Run inside a revision's tree: time the queries through that revision's search().
QUERY_SCRIPT = r"""
import json, statistics, sys, time
try:
    from indexer.backends import open_store
except ImportError:  # revisions before the backend interface
    from indexer.engine import open_store
from indexer.config import load_config
from indexer.search import SearchOptions, search
store = open_store(load_config(sys.argv[1]))
queries = json.loads(open(sys.argv[2], encoding="utf-8").read())
search(store, "工会", SearchOptions(per_page=1))  # jieba and the speller loaded before the clock
times, tops = [], {}
for q in queries:
    started = time.perf_counter()
    result = search(store, q, SearchOptions(page=1, per_page=10))
    times.append((time.perf_counter() - started) * 1000)
    tops[q] = sorted((round(h.score, 4), h.record.id) for h in result.hits) + [result.total]
print(json.dumps({"median_ms": statistics.median(times), "p95_ms": sorted(times)[int(0.95 * len(times))],
                  "tops": tops}, ensure_ascii=False))
"""


def worktree(rev: str) -> tuple[Path, str]:
    if rev == "WORKTREE":
        return ROOT, "working tree"
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    path = ROOT / "var" / "bench" / f"rev-{sha}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), sha], cwd=ROOT, check=True,
                       capture_output=True)
    return path, sha


def run(tree: Path, args: list[str], env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from webapp.cli import main; main()", *args], cwd=tree,
                          env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{tree}: unionsearch {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - started


def draw_queries(corpus: Path, n: int) -> list[str]:
    """Words and word pairs from the corpus's own headings (deterministic)."""
    words: list[str] = []
    for page in sorted(corpus.rglob("*.html"))[:200]:
        text = page.read_text(encoding="utf-8", errors="replace")
        words += re.findall(r"[\u4e00-\u9fff]{2,6}", text)[:40]
    picked = sorted(set(words))[:: max(1, len(set(words)) // n)][:n]
    return [w if i % 3 else f"{w} {picked[(i * 7) % len(picked)]}" for i, w in enumerate(picked)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after", nargs="?", default="WORKTREE")
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "compare-revisions.md")
    args = ap.parse_args(argv)
    work = ROOT / "var" / "bench" / "compare"
    corpus = work / f"corpus-{args.pages}"
    if not corpus.is_dir():
        make_corpus(args.pages, corpus)
    queries_file = work / "queries.json"
    queries_file.write_text(json.dumps(draw_queries(corpus, args.queries), ensure_ascii=False), encoding="utf-8")
    revs = [worktree(args.before), worktree(args.after)]
    figures: dict[str, dict[str, list[float]]] = {label: {} for _, label in revs}
    tops: dict[str, dict] = {}
    pages = sorted(corpus.rglob("*.html"))
    originals = {p: p.read_bytes() for p in pages[:args.rounds]}
    for tree, label in revs:
        # Results from a one-worker build: with several workers, which worker writes which page changes document
        # numbers, so ties and near-copy folding (and with them totals) vary from build to build of one revision.
        env = {**os.environ, "PYTHONPATH": str(tree)}
        config = work / f"det-{label.replace(' ', '-')}.yaml"
        config.write_text(f"source_dir: {corpus}\nindex_dir: {work / ('index-' + config.stem)}\n"
                          f"cache_dir: {work / 'cache'}\n", encoding="utf-8")
        run(tree, ["index", "--full", "--quiet", "--workers", "1", "--config", str(config)], env)
        proc = subprocess.run([sys.executable, "-c", QUERY_SCRIPT, str(config), str(queries_file)], cwd=tree,
                              env=env, capture_output=True, text=True, check=True)
        tops[label] = json.loads(proc.stdout)["tops"]
    for round_ in range(args.rounds):
        for tree, label in revs if round_ % 2 == 0 else revs[::-1]:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            config = work / f"config-{label.replace(' ', '-')}.yaml"
            config.write_text(f"source_dir: {corpus}\nindex_dir: {work / ('index-' + config.stem)}\n"
                              f"cache_dir: {work / 'cache'}\n", encoding="utf-8")
            into = figures[label]
            into.setdefault("full build (s)", []).append(run(tree, ["index", "--full", "--quiet", "--config",
                                                                     str(config)], env))
            proc = subprocess.run([sys.executable, "-c", QUERY_SCRIPT, str(config), str(queries_file)], cwd=tree,
                                  env=env, capture_output=True, text=True, check=True)
            answer = json.loads(proc.stdout)
            into.setdefault("search median (ms)", []).append(answer["median_ms"])
            into.setdefault("search p95 (ms)", []).append(answer["p95_ms"])
            page = pages[round_ % len(pages)]
            page.write_bytes(page.read_bytes() + b"\n")
            into.setdefault("one changed page (s)", []).append(run(tree, ["index", "--quiet", "--config",
                                                                          str(config)], env))
    for page, data in originals.items():
        page.write_bytes(data)
    (a, b) = [label for _, label in revs]
    same = sum(tops[a][q] == tops[b][q] for q in tops[a])
    lines = [f"# {a} vs {b}: {args.pages} pages, {args.rounds} rounds (medians), {len(tops[a])} queries",
             "", f"| figure | {a} | {b} | ratio |", "|---|---:|---:|---:|"]
    for name in figures[a]:
        x, y = statistics.median(figures[a][name]), statistics.median(figures[b][name])
        lines.append(f"| {name} | {x:.2f} | {y:.2f} | {y / x:.2f} |")
    lines += ["", f"same top 10 (scores, ids, totals; one-worker builds) for {same} of {len(tops[a])} queries"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
