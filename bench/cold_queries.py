"""A cold query set for bench/realistic.py: queries as people type them, drawn from the mutated corpus's words.

    python bench/cold_queries.py [--pages 1000] [--n 200] [--seed 1] [--out bench/queries/cold.json]

The words are the corpus's own: the first ``--pages`` pages of bench/make_mutated_corpus.py (seed 7, so the
first 1,000 pages of a 10k corpus are the same pages), cleaned by the real cleaner and cut by the engine's jieba
with its dictionaries; a word's frequency is the number of sections holding it. Of the queries:

* 40 % topic compounds: terms of the bundled dictionaries (indexer/data/userdict.txt, union_terms_curated.txt)
  that at least 3 sections hold (职代会, 困难职工, 劳动竞赛 …);
* 30 % one common word: among the 300 words the most sections hold (stop words and dictionary terms aside);
* 30 % two words, a common one and a rarer one, separated by a space: the rarer one is a word of the scraped/
  pages themselves, from the quarter of those words the fewest sections hold (at least 3).

Common and rarer words are words of jieba's dictionary (a mutation can glue characters into a "word" nobody
would type).

Every query is 2 to 8 characters (the space aside) and all are distinct; ``warmup`` holds 20 more, drawn the
same way and none of them timed, to open the index before the clock runs. The same pages and seed give the same
file.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

OUT = BENCH / "queries" / "cold.json"
SHARES = {"compound": 0.4, "common": 0.3, "pair": 0.3}
COMMON_TOP = 300  # the common words: this many, by the sections holding them
RARE_QUARTER = 4  # a pair's rarer word: among the 1/4 of the sources' words the fewest sections hold
MIN_DF = 3
WARMUP = 20
HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")


def dictionary_terms() -> list[str]:
    """The bundled dictionaries' terms (first column), in file order, without repeats."""
    terms: dict[str, None] = {}
    for name in ("userdict.txt", "union_terms_curated.txt"):
        for line in (ROOT / "indexer" / "data" / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                terms[line.split()[0]] = None
    return list(terms)


def corpus_texts(pages: int, seed: int = 7) -> list[str]:
    """Section texts (heading and text) of the first ``pages`` mutated pages (the corpus made when missing)."""
    from make_mutated_corpus import corpus_ready, folder_records, make_corpus

    folder = ROOT / "var" / "bench" / f"mutated-{pages}"
    if not corpus_ready(folder, pages, seed):
        make_corpus(pages, folder, seed)
    return [text for _page, _src, text in folder_records(folder, with_heading=True)]


def frequencies(texts: list[str]) -> Counter:
    """How many sections hold each Han word of two characters or more, as the engine cuts."""
    from indexer.analysis import cut, make_analyzer
    from indexer.config import load_config

    make_analyzer(load_config(ROOT / "config.yaml"))  # jieba with the engine's dictionaries
    df: Counter = Counter()
    for text in texts:
        df.update({w for w in cut(text) if HAN_WORD.fullmatch(w)})
    return df


def pools(texts: list[str], df: Counter) -> dict[str, list[str]]:
    """The words each kind of query is drawn from, in a stable order."""
    stop = set((ROOT / "indexer" / "data" / "stopwords.txt").read_text(encoding="utf-8").split())
    terms = dictionary_terms()
    compounds = [t for t in terms if 2 <= len(t) <= 8 and sum(t in x for x in texts) >= MIN_DF]
    import jieba

    # Only words jieba's dictionary knows: a mutation can glue characters into a new "word" nobody types.
    ranked = [w for w, _ in sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))
              if w not in stop and w not in terms and len(w) <= 4 and jieba.dt.FREQ.get(w)]
    # Every source page has dozens of copies, so a real word is never as rare as a mutation's accident: the rarer
    # word is one of the sources' own words, from the quarter of them the fewest sections hold.
    from make_mutated_corpus import load_material

    own = {w for words in load_material().vocab.values() for w in words}
    real = sorted((df[w], w) for w in ranked if w in own and df[w] >= MIN_DF)
    rare = [w for _, w in real[: len(real) // RARE_QUARTER]]
    return {"compound": compounds, "common": ranked[:COMMON_TOP], "rare": rare}


def draw(words: dict[str, list[str]], n: int, rng: random.Random, taken: set[str]) -> list[dict]:
    """``n`` queries in the stated shares, none already in ``taken`` (which grows)."""
    counts = {kind: round(n * share) for kind, share in SHARES.items()}
    counts["pair"] = n - counts["compound"] - counts["common"]
    out: list[dict] = []
    for kind, count in counts.items():
        tries = 0
        while sum(q["kind"] == kind for q in out) < count and tries < 100 * count:
            tries += 1
            if kind == "pair":
                q = f"{rng.choice(words['common'])} {rng.choice(words['rare'])}"
            else:
                q = rng.choice(words[kind])
            if q not in taken and 2 <= len(q.replace(" ", "")) <= 8 and len(set(q.split())) == len(q.split()):
                taken.add(q)
                out.append({"q": q, "kind": kind})
    rng.shuffle(out)
    return out


def make_queries(pages: int = 1000, n: int = 200, seed: int = 1) -> dict:
    texts = corpus_texts(pages)
    df = frequencies(texts)
    words = pools(texts, df)
    rng = random.Random(seed)
    taken: set[str] = set()
    queries = draw(words, n, rng, taken)
    warmup = [q["q"] for q in draw(words, WARMUP, rng, taken)]
    from make_mutated_corpus import corpus_stamp

    return {"about": "bench/cold_queries.py: cold queries drawn from the mutated corpus's words",
            "pages": pages, "corpus": corpus_stamp(pages, 7), "seed": seed, "shares": SHARES,
            "pool_sizes": {k: len(v) for k, v in words.items()}, "sections": len(texts),
            "queries": queries, "warmup": warmup}


def load_queries(path: Path = OUT) -> dict:
    """The query set (made with the defaults when the file is missing)."""
    if not path.exists():
        write(make_queries(), path)
    return json.loads(path.read_text(encoding="utf-8"))


def write(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000, help="draw from the first PAGES mutated pages")
    ap.add_argument("--n", type=int, default=200, help="timed queries")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = make_queries(args.pages, args.n, args.seed)
    write(data, args.out)
    kinds = Counter(q["kind"] for q in data["queries"])
    print(f"wrote {len(data['queries'])} queries ({dict(kinds)}) to {args.out}; pools {data['pool_sizes']}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
