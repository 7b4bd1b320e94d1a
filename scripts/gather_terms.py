#!/usr/bin/env python3
"""Build the bundled jieba user dictionary (indexer/data/userdict.txt).

It starts from the hand-curated union vocabulary (indexer/data/union_terms_curated.txt) and adds
collocations mined from a corpus: pairs of adjacent jieba words that occur together often (count and PMI)
in several documents and contain a union-domain morpheme (工会, 职工, 劳动, 帮扶 …).

    python scripts/gather_terms.py [CORPUS_DIR ...]    # default: scraped/
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.config import load_config  # noqa: E402
from indexer.load import iter_pages  # noqa: E402
from indexer.records import process_file  # noqa: E402

DATA = ROOT / "indexer" / "data"
CURATED = DATA / "union_terms_curated.txt"
OUT = DATA / "userdict.txt"
DOMAIN = re.compile("|".join("工会 职工 会员 劳动 劳模 女工 帮扶 慰问 职代 教代 维权 困难 工资 技能 竞赛 文体 民主 "
                             "送温暖 协商 福利".split()))
HAN = re.compile(r"^[\u4e00-\u9fff]+$")
MIN_COUNT, MIN_DOCS, MIN_PMI = 3, 2, 3.0


def mine(corpus_dirs: list[Path]) -> list[tuple[str, int]]:
    import jieba.posseg as pseg

    from indexer.analysis import init_jieba

    config = load_config(ROOT / "config.yaml")
    init_jieba(config.cache_path / "jieba", [CURATED])
    words: Counter = Counter()
    pairs: Counter = Counter()
    pair_docs: dict[tuple[str, str], set] = {}
    for root in corpus_dirs:
        for path in iter_pages(root):
            result = process_file(str(path), str(root), config)
            for rec in result.records:
                tagged = [(p.word, p.flag) for p in pseg.cut(rec.text)]
                words.update(w for w, _ in tagged)
                for (a, fa), (b, fb) in zip(tagged, tagged[1:], strict=False):
                    # Head-final noun compounds: a noun (or verbal noun) then a noun, 2+ characters each.
                    if (len(a) >= 2 and len(b) >= 2 and len(a) + len(b) <= 6 and HAN.match(a + b)
                            and (fa[0] == "n" or fa == "vn") and fb[0] == "n"):
                        pairs[a, b] += 1
                        pair_docs.setdefault((a, b), set()).add(rec.doc_id)
    total = sum(words.values()) or 1
    found = []
    for (a, b), n in pairs.items():
        term = a + b
        if n < MIN_COUNT or len(pair_docs[a, b]) < MIN_DOCS or not DOMAIN.search(term):
            continue
        pmi = math.log(n * total / (words[a] * words[b]))
        if pmi >= MIN_PMI:
            found.append((term, n))
    return sorted(found, key=lambda kv: -kv[1])


def main(argv: list[str]) -> None:
    dirs = [Path(a) for a in argv] or [ROOT / "scraped"]
    curated = [line.split()[0] for line in CURATED.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = list(dict.fromkeys(line.strip() for line in CURATED.read_text(encoding="utf-8").splitlines()
                               if line.strip()))
    mined = [(t, n) for t, n in mine(dirs) if t not in set(curated)]
    lines += [f"{t} 20 n" for t, _ in mined]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(curated)} curated + {len(mined)} mined = {len(lines)} terms → {OUT.relative_to(ROOT)}")
    for t, n in mined:
        print(f"  {t} ({n})")


if __name__ == "__main__":
    main(sys.argv[1:])
