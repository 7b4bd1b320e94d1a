#!/usr/bin/env python3
"""Grid-search the ranking constants on the dev queries, in-process (no CLI start-up per query).

    python bench/relevance/tune.py SEEDS_INDEX [ALL_INDEX]

Prints nDCG@10 / MRR per setting on each index; the chosen values live in indexer/backends/base.py
(FIELD_BOOSTS) and indexer/query.py.
"""

import itertools
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "shared" / "tools"))

from eval_search import dcg, judge  # noqa: E402

from indexer.backends import open_store  # noqa: E402
from indexer.backends.base import FIELD_BOOSTS  # noqa: E402
from indexer.backends.whoosh import render  # noqa: E402
from indexer.config import load_config  # noqa: E402
from indexer.search import SearchOptions, hit_to_json, search  # noqa: E402

QUERIES = json.loads((ROOT.parent / "shared" / "queries" / "dev.json").read_text(encoding="utf-8"))


def score(store) -> tuple[float, float]:
    nd = rr = 0.0
    for q in QUERIES:
        res = [hit_to_json(h) for h in search(store, q["q"], SearchOptions(per_page=10)).hits]
        gains, _ = judge(res, q["rel"])
        ideal = sorted((j["g"] for j in q["rel"]), reverse=True)
        nd += dcg(gains) / dcg(ideal)
        rr += next((1 / (i + 1) for i, g in enumerate(gains) if g > 0), 0.0)
    return nd / len(QUERIES), rr / len(QUERIES)


def main() -> None:
    stores = [open_store(load_config(ROOT / "config.yaml", {"index_dir": p})) for p in sys.argv[1:]]
    grid = {"heading": [1.0, 1.5, 2.0, 3.0], "document": [0.5, 1.0, 1.5], "page_title": [0.3, 0.6],
            "literal": [0.3, 0.6, 0.9]}
    rows = []
    for h, d, t, b in itertools.product(*grid.values()):
        FIELD_BOOSTS.update(text=1.0, heading=h, document=d, page_title=t)
        render.LITERAL_WEIGHT = b  # the weight of a word's literal-text match (indexer/query.py)
        scores = [score(s) for s in stores]
        rows.append(((h, d, t, b), scores))
        print(f"heading={h} document={d} page_title={t} literal={b}: " +
              "  ".join(f"nDCG={n:.3f} MRR={r:.3f}" for n, r in scores), flush=True)
    best = max(rows, key=lambda r: sum(math.fsum(x) for x in r[1]))
    print("best:", best)


if __name__ == "__main__":
    main()
