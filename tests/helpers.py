"""What several test modules share: where the data is, a config for a temporary index, hostile queries, the
local searchd cluster. Test modules import from here, never from conftest.py or from each other."""

from __future__ import annotations

import re
import shutil
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from indexer.analysis import make_analyzer
from indexer.backends.sphinx import cluster
from indexer.backends.sphinx.store import SphinxStore
from indexer.build import BuildReport, index_corpus
from indexer.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
SCRAPED = ROOT / "scraped"
SHARED = ROOT.parent / "shared"
SEEDS = sorted(SCRAPED.glob("0*.txt"))

# Query text that must never crash the parser or a backend (syntax characters, injection attempts, very long
# or invisible text, full-width field syntax).
ODD_QUERIES = ['"', '""', '*', '?', 'AND', 'OR', 'NOT', 'title:', 'site:', 'year:', 'year:abc', 'year:3000..1',
               '-', '--', '(', ')', '[', '{', '\\', ':', 'a' * 600, '职' * 600, '😀😀 工会', "'; DROP TABLE x; --",
               "1' OR '1'='1", '<script>alert(1)</script>', '\x00\x01', '“', '”职工', 'title:"未闭合', '%s%n',
               '\u202e反转', 'ｔｉｔｌｅ：工会']

NO_SEARCHD = "searchd not installed (apt-get install -y sphinxsearch); .ci/run installs it and skips nothing"

T = TypeVar("T")


def seed(prefix: str) -> Path:
    """The seed page whose name starts with ``prefix`` (e.g. "000")."""
    return next(p for p in SEEDS if p.name.startswith(prefix))


def make_config(tmp: Path, source: Path = SCRAPED, **overrides) -> Config:
    return load_config(ROOT / "config.yaml", {"source_dir": str(source), "index_dir": str(tmp / "index"),
                                              "cache_dir": str(tmp / "cache"), **overrides})


def corpus_of(tmp: Path, names: list[str]) -> tuple[Config, Path]:
    """A config over a fresh source folder holding copies of these scraped/ pages (tests change it freely)."""
    src = tmp / "src"
    src.mkdir()
    for name in names:
        shutil.copy(SCRAPED / name, src)
    return make_config(tmp, src), src


def wait_for(condition: Callable[[], T], timeout: float = 30.0, every: float = 0.05, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something true; fail the test after ``timeout`` seconds (generous:
    CI machines are loaded, and a deadline is there to stop a hang, not to measure speed)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


# ---- the local searchd cluster ----------------------------------------------------------------------------------

def start_cluster(var: Path, nodes: int = 3, shards: int = 2) -> cluster.ClusterSpec:
    if cluster.searchd_binary() is None:
        pytest.skip(NO_SEARCHD)
    return cluster.start(var, nodes, shards)


def new_sphinx_store(config: Config, spec: cluster.ClusterSpec, state: Path) -> SphinxStore:
    return SphinxStore(state, make_analyzer(config), spec)


def index_sphinx(config: Config, store: SphinxStore, full: bool = False) -> BuildReport:
    return index_corpus(config, store, full=full, workers=1, progress=False)


# Scoring a converted file's documents against a gold page (the office tests): as ../shared/tools/score_cleaner.py.
WS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def norm(s: str | None) -> str:
    return WS.sub("", unicodedata.normalize("NFKC", s or ""))


def doc_text(docs: list[dict]) -> str:
    return norm("".join(d["title"] + "".join(s["heading"] + s["text"] for s in d["sections"]) for d in docs))


def bigrams(s: str) -> Counter:
    return Counter(s[i:i + 2] for i in range(len(s) - 1))


def scores(pairs: list[tuple[list[dict], dict]]) -> tuple[float, float]:
    """(text F1 over character bigrams, heading recall), micro-averaged as ../shared/tools/score_cleaner.py does."""
    ov = no = ng = hit = n = 0
    for out, gold in pairs:
        o, g = bigrams(doc_text(out)), bigrams(doc_text(gold["documents"]))
        ov, no, ng = ov + sum((o & g).values()), no + sum(o.values()), ng + sum(g.values())
        gh = Counter(norm(s["heading"]) for d in gold["documents"] for s in d["sections"] if s["heading"])
        oh = Counter(norm(s["heading"]) for d in out for s in d["sections"] if s["heading"])
        hit, n = hit + sum((gh & oh).values()), n + sum(gh.values())
    p, r = ov / max(no, 1), ov / max(ng, 1)
    return (2 * p * r / (p + r) if p + r else 0.0), hit / max(n, 1)
