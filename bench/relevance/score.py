#!/usr/bin/env python3
"""Score the judged set (bench/relevance/queries.json) with ../shared/tools/eval_search.py's own functions.

    python bench/relevance/score.py --index DIR [--backend whoosh|sphinx] [--config config.yaml]
    python bench/relevance/score.py --bm25 [--source scraped]

Prints one line per split (dev: the queries tuned on; heldout: 22 queries drawn at random before any tuning,
looked at only as a total; all), over the queries that have an answer, plus how many of those found nothing,
and nDCG@10 of the queries with no good answer left out. The same figures as eval_search.py run query by query
through `unionsearch search --json` (bench/relevance/run.sh does that too), in one process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
JUDGED = ROOT / "bench" / "relevance" / "queries.json"


def eval_module(shared: Path):
    spec = importlib.util.spec_from_file_location("eval_search", shared / "tools" / "eval_search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def experiment_parser(doc: str) -> argparse.ArgumentParser:
    """The options every experiment on the judged set takes: the index of scraped/, the config, ../shared."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, help="an index of all of scraped/")
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    return ap


def experiment_setup(a: argparse.Namespace):
    """(eval_search.py as a module, the store of ``a.index``, the judged queries that have an answer)."""
    from indexer.backends import open_store
    from indexer.config import load_config

    store = open_store(load_config(a.config, {"index_dir": a.index}))
    queries = [q for q in json.loads(JUDGED.read_text(encoding="utf-8")) if q["rel"]]
    return eval_module(Path(a.shared)), store, queries


def judged_gains(ev, records, rel: list[dict]) -> list[int]:
    """The graders' gain of each section (anything with source, heading and text), in order (eval_search.judge)."""
    return ev.judge([{"source": r.source, "heading": r.heading, "text": r.text} for r in records], rel)[0]


def ideal_dcg(ev, rel: list[dict]) -> float:
    return ev.dcg(sorted((j["g"] for j in rel), reverse=True))


def score(run, queries: list[dict], ev) -> dict:
    """run(query text) → result dicts (source, heading, text) in rank order."""
    ndcg = rr = p5 = dup = 0.0
    empty = []
    for q in queries:
        results = run(q["q"])[:10]
        if not results:
            empty.append(q["q"])
        gains, dups = ev.judge(results, q["rel"])
        ideal = ev.dcg(sorted((j["g"] for j in q["rel"]), reverse=True))
        ndcg += ev.dcg(gains) / ideal if ideal else 0.0
        rr += next((1 / (i + 1) for i, g in enumerate(gains) if g > 0), 0.0)
        p5 += sum(1 for g in gains[:5] if g > 0) / 5
        dup += dups / max(1, len(results))
    n = max(1, len(queries))
    return {"nDCG@10": ndcg / n, "MRR": rr / n, "P@5": p5 / n, "dup@10": dup / n, "queries": len(queries),
            "zero_result": empty}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index")
    ap.add_argument("--backend", default="whoosh")
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--bm25", action="store_true", help="score the plain BM25 baseline (pool.py) instead")
    ap.add_argument("--source", default=str(ROOT / "scraped"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--queries", default=str(JUDGED))
    a = ap.parse_args()
    ev = eval_module(Path(a.shared))
    queries = json.loads(Path(a.queries).read_text(encoding="utf-8"))
    if a.bm25:
        sys.path.insert(0, str(ROOT / "bench" / "relevance"))
        from pool import BM25, corpus

        bm25 = BM25(corpus(a.source))

        def run(text):
            return [s for _, s in bm25.search(text, 10)]
    else:
        from indexer.backends import open_store
        from indexer.config import load_config
        from indexer.search import SearchOptions, search

        overrides = {"backend": a.backend} | ({"index_dir": a.index} if a.index else {})
        store = open_store(load_config(a.config, overrides))

        def run(text):
            return [{"source": h.record.source, "heading": h.record.heading, "text": h.record.text}
                    for h in search(store, text, SearchOptions(per_page=10, snippets=False)).hits]

    for split in ("dev", "heldout", "all"):
        chosen = [q for q in queries if q["rel"] and split in ("all", q.get("split"))]
        s = score(run, chosen, ev)
        print(f"{split:8} nDCG@10={s['nDCG@10']:.3f} MRR={s['MRR']:.3f} P@5={s['P@5']:.3f} "
              f"dup@10={s['dup@10']:.3f} zero-result={len(s['zero_result'])} queries={s['queries']}"
              + (f"  (found nothing: {', '.join(s['zero_result'])})" if s["zero_result"] else ""))
    no_answer = [q["q"] for q in queries if not q["rel"]]
    print(f"queries with no good answer (left out above): {len(no_answer)}: {', '.join(no_answer)}")


if __name__ == "__main__":
    main()
