#!/usr/bin/env python3
"""Experiment (tried and dropped): pseudo-relevance feedback for the any-word supplement, scored on the judged set.

    python bench/relevance/feedback.py --index DIR [--alpha 0.3] [--feedback 5] [--expand 0]

When a query's words all stand together in fewer than SUPPLEMENT_BELOW documents, the engine shows them first and
fills up with sections holding some of the words. Here the filler is re-ordered by its likeness to the first
``--feedback`` all-word sections (cosine of tf-idf vectors of their words, common words left out), mixed with
its own score: ``alpha`` × score / best score + (1 − alpha) × likeness. ``--expand M`` also adds the sections
found by the M words most typical of those all-word sections (the classic query expansion), at half the
filler's best score before the re-ordering. ``--alpha 1`` is the engine as it is.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "relevance"))

from score import experiment_parser, experiment_setup, score  # noqa: E402


def main() -> None:
    ap = experiment_parser(__doc__)
    ap.add_argument("--alpha", type=float, default=0.3)
    ap.add_argument("--feedback", type=int, default=5, help="all-word sections taken as relevant")
    ap.add_argument("--expand", type=int, default=0, help="words of those sections added as a query")
    a = ap.parse_args()

    import indexer.search as engine

    ev, store, queries = experiment_setup(a)
    df = dict(store.vocabulary("text"))
    sections = sum(store.sources().values())

    def vector(text: str) -> dict[str, float]:
        counts = Counter(t for t in store.analyzer.terms(text, "query") if len(t) > 1)
        v = {t: (1 + math.log(n)) * math.log(sections / (1 + df.get(t, 0)))
             for t, n in counts.items() if df.get(t, 0) / sections < 0.2}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    plain_match = engine._match

    def match(store, pq, fetch, sort, filters, options):
        raw, all_words, notice, counts = plain_match(store, pq, fetch, sort, filters, options)
        if notice is None or sort != "relevance" or not all_words:
            return raw, all_words, notice, counts
        head_size = len(store.search(pq, fetch, sort=sort, filters=filters).hits)
        head, tail = raw.hits[:head_size], raw.hits[head_size:]
        centroid: Counter = Counter()
        for hit in head[:a.feedback]:
            centroid.update(vector(hit.record.text))
        norm = math.sqrt(sum(x * x for x in centroid.values())) or 1.0
        best = max((h.score for h in tail), default=1.0) or 1.0
        if a.expand:
            typed = {t for c in pq.must for u in c.alternatives for t in u.terms}
            words = [t for t, _ in centroid.most_common(40) if t not in typed][:a.expand]
            seen = {h.id for h in raw.hits}
            extra = [h for h in store.search(engine.parse_query(" ".join(words), store.analyzer), fetch,
                                             any_match=True, sort=sort, filters=filters).hits if h.id not in seen]
            extra_best = max((h.score for h in extra), default=1.0) or 1.0
            for h in extra:
                h.score = h.score / extra_best * best * 0.5
            tail = tail + extra

        def key(hit) -> float:
            likeness = sum(x * centroid.get(t, 0.0) for t, x in vector(hit.record.text).items()) / norm
            return a.alpha * hit.score / best + (1 - a.alpha) * likeness

        raw.hits = head + sorted(tail, key=key, reverse=True)
        return raw, all_words, notice, counts

    if a.alpha < 1:
        engine._match = match

    def run(text):
        return [{"source": h.record.source, "heading": h.record.heading, "text": h.record.text}
                for h in engine.search(store, text, engine.SearchOptions(per_page=10, snippets=False)).hits]

    for split in ("dev", "heldout", "all"):
        s = score(run, [q for q in queries if split in ("all", q.get("split"))], ev)
        print(f"alpha={a.alpha} feedback={a.feedback} expand={a.expand} {split:8} nDCG@10={s['nDCG@10']:.3f} "
              f"MRR={s['MRR']:.3f} P@5={s['P@5']:.3f} dup@10={s['dup@10']:.3f}")


if __name__ == "__main__":
    main()
