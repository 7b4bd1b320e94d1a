"""Where a build's CPU goes, per page: cleaning, word analysis, literal bigrams, Whoosh indexing and Whoosh commit.

    python bench/profile_build.py [--pages 300] [--corpus var/bench/corpus-1000]

One process, the same code a worker runs (load → clean → records → segment writer), under cProfile; the
shares are of the profiled time (cProfile inflates Python-heavy parts a little, evenly enough to compare).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

# (label, function key as (file suffix, function name or names)); cumulative times, so parts nest as noted
PARTS = [
    ("load + clean (process_file)", ("indexer/records.py", "process_file")),
    ("word analysis (Analyzer.tokens)", ("indexer/analysis.py", "tokens")),
    ("  of which the word cut (analysis.cut)", ("indexer/analysis.py", "cut")),
    ("normalisation, both analyses (normalise_with_map + _phrase_convert)",
     ("indexer/analysis.py", ("normalise_with_map", "_phrase_convert"))),
    ("literal bigrams (grams)", ("indexer/analysis.py", "grams")),
    ("Whoosh add_document (incl. both analyses; ours: backends/whoosh/writers.py)",
     ("indexer/backends/whoosh/writers.py", "add_document")),
    ("Whoosh segment commit (sort + write postings)", ("whoosh/writing.py", "_finalize_segment")),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--corpus", type=Path, default=ROOT / "var" / "bench" / "corpus-1000")
    args = ap.parse_args(argv)
    from indexer.analysis import TOKENIZER, make_analyzer
    from indexer.backends import open_store
    from indexer.config import load_config
    from indexer.load import iter_pages
    from indexer.progress import Progress
    from indexer.workers import write_segments

    tmp = Path(tempfile.mkdtemp())
    try:
        config = load_config(ROOT / "config.yaml", {"source_dir": str(args.corpus), "index_dir": str(tmp / "ix"),
                                                     "cache_dir": str(ROOT / "var" / "cache")})
        store = open_store(config)
        gen = store.new_generation()
        work = [(str(p), p.relative_to(args.corpus).as_posix()) for p in list(iter_pages(args.corpus))[:args.pages]]
        make_analyzer(config).tokens("工会")  # load jieba's dictionary before the clock starts
        started = time.process_time()
        write_segments(store, config, work, gen, 1, Progress(0, False), lambda o: None, 128)
        plain = time.process_time() - started
        store.discard_generation(gen)
        gen = store.new_generation()
        profile = cProfile.Profile()
        profile.enable()
        write_segments(store, config, work, gen, 1, Progress(0, False), lambda o: None, 128)
        profile.disable()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats = pstats.Stats(profile).stats
    total = sum(v[2] for v in stats.values())  # total internal time = profiled run time
    n = len(work)
    print(f"{n} pages: {1000 * plain / n:.1f} ms CPU per page without the profiler (word cut: {TOKENIZER})\n")
    print("| part | share of profiled time |\n|---|---:|")
    for label, (suffix, name) in PARTS:
        names = name if isinstance(name, tuple) else (name,)
        cum = sum(v[3] for (file, _, func), v in stats.items() if func in names and file.endswith(suffix))
        print(f"| {label} | {100 * cum / total:.0f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
