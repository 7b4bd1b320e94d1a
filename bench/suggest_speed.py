"""Speed of suggestions as you type (indexer/suggest.py): N calls of the function /api/suggest serves, in one
process, on an index of a synthetic corpus; p50/p95 per kind of input, plus what making the table costs.

    python bench/suggest_speed.py --pages 1000 [--queries 3000] [--corpus DIR] [--work DIR] [--no-write]

The corpus comes from bench/make_corpus.py (made when missing) and the index from `unionsearch index --full`
in a subprocess (made when ``--work`` has none; an index made by an older version gets its table made here, in
memory). Inputs are drawn from the table itself, as someone types them: Chinese prefixes (1-6 characters), the
same phrases typed in traditional characters, full pinyin cut anywhere, pinyin initials, and input that matches
nothing. Each call is ``indexer.suggest.complete`` as the web app makes it (the generation check included); the
same inputs then go through Flask's test client (``GET /api/suggest``, JSON included). Also timed: making the
table from the whole index (a full build does this), an update of one page (reusing the saved state), and
reading the table into memory (once per generation). Results: printed, and the section for this page count in
bench/results/suggest-speed.md is replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

RESULTS = BENCH / "results" / "suggest-speed.md"
TARGET_P95_MS = 20.0


def prepare(pages: int, work: Path, corpus: Path | None = None) -> Path:
    """The config of an index of ``pages`` synthetic pages in ``work`` (corpus and index made when missing)."""
    import yaml

    corpus = corpus or ROOT / "var" / "bench" / f"corpus-{pages}"
    if not corpus.is_dir():
        from make_corpus import make_corpus

        make_corpus(pages, corpus)
    config_file = work / "config.yaml"
    if not config_file.exists():
        work.mkdir(parents=True, exist_ok=True)
        analysis = (yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8")) or {}).get("analysis", {})
        config_file.write_text(yaml.safe_dump({"source_dir": str(corpus), "index_dir": str(work / "index"),
                                               "cache_dir": str(work / "cache"), "log_dir": str(work / "log"),
                                               "analysis": analysis}, allow_unicode=True), encoding="utf-8")
    if not (work / "index" / "CURRENT").exists():
        print(f"building the index of {pages} pages in {work} …", file=sys.stderr)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "webapp.cli", "index", "--full", "--quiet", "--config", str(config_file)],
                       check=True, cwd=ROOT, env=env)
    return config_file


def draw_inputs(entries: list, n: int, seed: int = 1) -> list[tuple[str, str]]:
    """(kind, input) pairs: prefixes of the table's phrases as someone types them, in equal parts."""
    from opencc import OpenCC

    rng = random.Random(seed)
    s2t = OpenCC("s2t")
    out: list[tuple[str, str]] = []
    kinds = ("chinese", "traditional", "pinyin", "initials", "nothing")
    for i in range(n):
        kind = kinds[i % len(kinds)]
        text, _, _, full, initials = entries[rng.randrange(len(entries))]
        han = re.sub(r"\W", "", text)
        if kind == "chinese":
            typed = han[: rng.randint(1, min(6, len(han)))]
        elif kind == "traditional":
            typed = s2t.convert(han[: rng.randint(2, min(6, max(2, len(han))))])
        elif kind == "pinyin":
            typed = full[: rng.randint(1, len(full))]
        elif kind == "initials":
            typed = initials[: rng.randint(1, len(initials))]
        else:
            typed = "".join(rng.choice("qxzvwk") for _ in range(rng.randint(3, 8)))
        out.append((kind, typed))
    return out


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(ordered), "median_ms": statistics.median(ordered),
            "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], "max_ms": ordered[-1]}


def time_calls(call, inputs: list[tuple[str, str]]) -> dict:
    by_kind: dict[str, list[float]] = {}
    for kind, typed in inputs:
        started = time.perf_counter()
        call(typed)
        by_kind.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    every = [t for times in by_kind.values() for t in times]
    return {"all": percentiles(every), **{k: percentiles(v) for k, v in by_kind.items()}}


def time_building(store) -> dict:
    """Making the table from the whole index, then an update of one page, then reading the table."""
    from indexer.suggest import STATE_FILE, SUGGEST_FILE, Suggester, suggestion_files

    pages = store.sources()
    started = time.perf_counter()
    files = suggestion_files(store, pages, None, stamp="bench")
    full = time.perf_counter() - started
    stored = store.read_file
    store.read_file = lambda name: files.get(name) if name in files else stored(name)  # the state just made
    try:
        started = time.perf_counter()
        suggestion_files(store, pages, {sorted(pages)[len(pages) // 2]}, stamp="bench2", previous="bench")
        update = time.perf_counter() - started
    finally:
        del store.read_file
    started = time.perf_counter()
    table = Suggester(json.loads(files[SUGGEST_FILE]))
    load = time.perf_counter() - started
    return {"full_seconds": full, "update_one_page_seconds": update, "load_seconds": load, "entries": len(table),
            "table_bytes": len(files[SUGGEST_FILE].encode()), "state_bytes": len(files[STATE_FILE].encode())}


def run(pages: int, work: Path, queries: int, limit: int, corpus: Path | None = None) -> dict:
    from indexer.backends import open_store
    from indexer.config import load_config
    from indexer.suggest import build_suggestions, complete, suggester
    from webapp import create_app

    config = load_config(prepare(pages, work, corpus))
    store = open_store(config)
    started = time.perf_counter()
    table = suggester(store, wait=True)  # as the server's warm-up does (made from the index when it has no table)
    first = time.perf_counter() - started
    entries = json.loads(store.read_file("SUGGEST.json") or "null") or build_suggestions(store)
    inputs = draw_inputs(entries["entries"], queries)
    for _, typed in inputs[:200]:  # warm up: jieba's dictionary, pypinyin's
        complete(store, typed, limit)
    result = {"pages": pages, "sections": store.check(), "entries": len(table), "first_load_seconds": first,
              "limit": limit, "python": sys.version.split()[0], "cpus": os.cpu_count(),
              "load_average_at_start": os.getloadavg()}
    result["function"] = time_calls(lambda typed: complete(store, typed, limit), inputs)
    client = create_app(config).test_client()
    suggester(client.application.extensions["unionsearch.store"], wait=True)  # its own store: read (or made) now
    result["http_test_client"] = time_calls(
        lambda typed: client.get("/api/suggest", query_string={"q": typed, "limit": limit}), inputs)
    result["building"] = time_building(store)
    result["examples"] = {typed: [s.text for s in complete(store, typed, 5)]
                          for typed in ("zgzj", "职工", "gh", "kn", "送温暖", "zhigongzhijia")}
    return result


def markdown(r: dict) -> str:
    rows = ["| input | calls | median (ms) | p95 (ms) | max (ms) |", "|---|---|---|---|---|"]
    for face in ("function", "http_test_client"):
        for kind, p in r[face].items():
            label = f"**{kind}**" if kind == "all" else kind
            rows.append(f"| {face}: {label} | {p['n']} | {p['median_ms']:.3f} | {p['p95_ms']:.3f} "
                        f"| {p['max_ms']:.2f} |")
    b = r["building"]
    ok = "✓" if r["function"]["all"]["p95_ms"] <= TARGET_P95_MS else "✗"
    lines = [
        f"## {r['pages']:,} pages",
        "",
        f"{r['sections']:,} sections, {r['entries']:,} phrases in the table; {r['function']['all']['n']:,} inputs "
        f"(limit {r['limit']}), Python {r['python']}, {r['cpus']} CPUs, load average at start "
        f"{r['load_average_at_start'][0]:.1f}. Target p95 ≤ {TARGET_P95_MS:.0f} ms: "
        f"**{r['function']['all']['p95_ms']:.3f} ms** {ok}.",
        "",
        *rows,
        "",
        f"Making the table from the whole index (a full build): {b['full_seconds']:.1f} s; an update of one page "
        f"(state reused): {b['update_one_page_seconds']:.2f} s; reading the table into memory: "
        f"{b['load_seconds'] * 1000:.0f} ms (first call of this run: {r['first_load_seconds'] * 1000:.0f} ms). "
        f"SUGGEST.json {b['table_bytes'] / 1e6:.2f} MB, SUGGEST-STATE.json {b['state_bytes'] / 1e6:.2f} MB.",
        "",
        "Examples: " + "; ".join(f"`{k}` → {'、'.join(v) or '(none)'}" for k, v in r["examples"].items()),
        "",
    ]
    return "\n".join(lines)


def write_results(r: dict) -> None:
    """Replace this page count's section of RESULTS (the other sections stay)."""
    head = ("# Suggestions as you type: speed\n\nMade by `bench/suggest_speed.py` (see its docstring for the method). "
            "Times are of one call in one process, on the machine's other load.\n\n")
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else head
    sections = re.split(r"(?m)^(?=## )", text)
    title = f"## {r['pages']:,} pages"
    kept = [s for s in sections[1:] if not s.startswith(title + "\n")]
    ordered = sorted([*kept, markdown(r) + "\n"], key=lambda s: int(re.match(r"## ([\d,]+)", s)[1].replace(",", "")))
    RESULTS.write_text(sections[0] + "".join(ordered).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--corpus", type=Path, help="corpus folder (default: var/bench/corpus-N, made if missing)")
    ap.add_argument("--work", type=Path, help="index folder (default: var/bench/suggest-N)")
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--no-write", action="store_true", help=f"print only; leave {RESULTS.name} alone")
    args = ap.parse_args(argv)
    work = (args.work or ROOT / "var" / "bench" / f"suggest-{args.pages}").resolve()
    r = run(args.pages, work, args.queries, args.limit, args.corpus)
    print(markdown(r))
    if not args.no_write:
        write_results(r)
        print(f"written to {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
