#!/usr/bin/env python3
"""Experiment: how far can re-ranking what the engine finds go on the judged set? (Measured, nothing adopted.)

    python bench/relevance/ceiling.py oracle --index DIR            # perfect re-ordering of our top N
    python bench/relevance/ceiling.py grid --index DIR --seeds DIR  # BM25 k1/b and the field weights
    python bench/relevance/ceiling.py rerank --index DIR            # a learned re-ranker over 12 features

``oracle``: nDCG@10 if the engine's top N (N = 10, 20, 30, 50) were put in the graders' order: the best any
re-ranking of what it finds can do. ``grid``: the judged set's dev and held-out splits, and the 12 shared dev
queries on the seeds index, for each setting of the field weights (indexer/backends/base.py FIELD_BOOSTS) and
of Whoosh's BM25F k1 and b. ``rerank``: a pairwise logistic re-ranker of the top 30 over features a lexical
engine has (its score and rank, all words or the supplement, the share of the query's words in the heading, the
text and the heading path, the typed text in the heading or the text, length, term frequency, an empty
heading, where the words first stand), trained on the dev split and scored on the dev split left one query out
and on the held-out split.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "relevance"))

from score import experiment_parser, experiment_setup, ideal_dcg, judged_gains  # noqa: E402

from indexer import search as engine  # noqa: E402
from indexer.analysis import literal_key  # noqa: E402
from indexer.backends import open_store  # noqa: E402
from indexer.backends.base import FIELD_BOOSTS  # noqa: E402
from indexer.backends.whoosh import arrays  # noqa: E402
from indexer.config import load_config  # noqa: E402
from indexer.query import parse_query  # noqa: E402
from indexer.search import SearchOptions, search  # noqa: E402

FEATURES = ("score", "rank", "all_words", "heading_share", "text_share", "path_share", "typed_in_heading",
            "typed_in_text", "log_length", "log_tf", "no_heading", "first_at")


def results(store, text: str, n: int) -> list:
    return search(store, text, SearchOptions(per_page=n, snippets=False)).hits


def gains_of(ev, hits, rel) -> list[int]:
    return judged_gains(ev, [h.record for h in hits], rel)


def oracle(store, ev, queries) -> None:
    for depth in (10, 20, 30, 50):
        best = ranked = 0.0
        for q in queries:
            gains, ideal = gains_of(ev, results(store, q["q"], depth), q["rel"]), ideal_dcg(ev, q["rel"])
            best += ev.dcg(sorted(gains, reverse=True)) / ideal
            ranked += ev.dcg(gains) / ideal
        print(f"top {depth:2}: as ranked {ranked / len(queries):.3f}, best order {best / len(queries):.3f}")


def clear_caches() -> None:
    for cache in (engine._RESULTS, engine._TARGETS, arrays._EVALUATED):
        cache.clear()


def grid(stores: dict, ev, queries, seed_queries) -> None:
    space = {"heading": [1.0, 1.5, 2.0, 3.0], "document": [0.6, 1.2, 2.0], "page_title": [0.3, 0.6],
             "b": [0.5, 0.75, 0.9], "k1": [0.9, 1.2, 2.0]}
    saved = dict(FIELD_BOOSTS)
    try:
        for values in itertools.product(*space.values()):
            p = dict(zip(space, values, strict=True))
            FIELD_BOOSTS.update(heading=p["heading"], document=p["document"], page_title=p["page_title"])
            for store in stores.values():
                with store.searcher() as s:
                    s.weighting.B, s.weighting.K1 = p["b"], p["k1"]
            clear_caches()
            line = []
            for split in ("dev", "heldout"):
                chosen = [q for q in queries if q.get("split") == split]
                line.append(f"{split}={mean_ndcg(stores['all'], ev, chosen):.3f}")
            if "seeds" in stores:
                line.append(f"seeds={mean_ndcg(stores['seeds'], ev, seed_queries):.3f}")
            print(json.dumps(p), " ".join(line), flush=True)
    finally:
        FIELD_BOOSTS.clear()
        FIELD_BOOSTS.update(saved)


def mean_ndcg(store, ev, queries) -> float:
    return sum(ev.dcg(gains_of(ev, results(store, q["q"], 10), q["rel"])) / ideal_dcg(ev, q["rel"])
               for q in queries) / len(queries)


def features(store, q: dict, depth: int) -> tuple[np.ndarray, list]:
    analyzer = store.analyzer
    pq = parse_query(q["q"], analyzer)
    units = [u for c in pq.must for u in c.alternatives]
    terms = list(dict.fromkeys(t for u in units for t in u.terms)) or [""]
    typed = [u.literal for u in units if u.literal]
    all_words = {h.id for h in store.search(pq, 300).hits}
    hits = results(store, q["q"], depth)
    best = max([h.score for h in hits] or [1.0]) or 1.0

    def words(text: str) -> list[str]:
        return analyzer.terms(text, "index")

    rows = []
    for i, h in enumerate(hits):
        r = h.record
        heading, text = set(words(r.heading)), words(r.text)
        path = set(words(" ".join(r.heading_path or []) + " " + (r.document or "")))
        heading_key, text_key = literal_key(r.heading), literal_key(r.text)
        first = min([text_key.find(k) for k in typed if k in text_key] or [len(text_key)])
        rows.append([
            h.score / best, 1 / math.log2(i + 2), float(r.id in all_words),
            sum(t in heading for t in terms) / len(terms), sum(t in set(text) for t in terms) / len(terms),
            sum(t in path for t in terms) / len(terms), float(any(k in heading_key for k in typed)),
            float(any(k in text_key for k in typed)), math.log1p(len(r.text)) / 8,
            math.log1p(sum(text.count(t) for t in terms)) / 3, float(not r.heading),
            min(1.0, first / max(1, len(text_key))),
        ])
    return np.array(rows).reshape(-1, len(FEATURES)), hits


def train(items, l2: float, steps: int = 300, rate: float = 0.5) -> np.ndarray:
    """Pairwise logistic regression: for each pair of one query's results with different grades."""
    pairs = [f[a] - f[b] for f, g, _ in items for a in range(len(g)) for b in range(len(g)) if g[a] > g[b]]
    x = np.array(pairs)
    w = np.zeros(len(FEATURES))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= rate * (-(x * (1 - p)[:, None]).mean(0) + l2 * w / len(x))
    return w


def reranked(items, w: np.ndarray | None, ev) -> float:
    total = 0.0
    for f, g, ideal in items:
        order = np.argsort(-(f @ w), kind="stable") if w is not None and len(g) else np.arange(len(g))
        total += ev.dcg([g[i] for i in order]) / ideal
    return total / len(items)


def rerank(store, ev, queries) -> None:
    split: dict[str, list] = {"dev": [], "heldout": []}
    for q in queries:
        f, hits = features(store, q, 30)
        split[q["split"]].append((f, gains_of(ev, hits, q["rel"]), ideal_dcg(ev, q["rel"])))
    dev, held = split["dev"], split["heldout"]
    print(f"as ranked: dev {reranked(dev, None, ev):.3f}, held-out {reranked(held, None, ev):.3f}")
    for l2 in (0.1, 1.0, 10.0):
        w = train(dev, l2)
        left_out = [reranked([dev[i]], train(dev[:i] + dev[i + 1:], l2, steps=150), ev) for i in range(len(dev))]
        print(f"l2={l2}: dev (trained on) {reranked(dev, w, ev):.3f}, dev one query left out "
              f"{sum(left_out) / len(left_out):.3f}, held-out {reranked(held, w, ev):.3f}")
        print("   " + " ".join(f"{n}={x:.2f}" for n, x in zip(FEATURES, w, strict=True)))


def main() -> None:
    ap = experiment_parser(__doc__)
    ap.add_argument("what", choices=("oracle", "grid", "rerank"))
    ap.add_argument("--seeds", help="an index of the five seeds (grid: also score the 12 shared dev queries)")
    a = ap.parse_args()
    ev, store, queries = experiment_setup(a)
    if a.what == "oracle":
        oracle(store, ev, queries)
    elif a.what == "rerank":
        rerank(store, ev, queries)
    else:
        stores = {"all": store}
        seed_queries = json.loads((Path(a.shared) / "queries" / "dev.json").read_text(encoding="utf-8"))
        if a.seeds:
            stores["seeds"] = open_store(load_config(a.config, {"index_dir": a.seeds}))
        grid(stores, ev, queries, seed_queries)


if __name__ == "__main__":
    main()
