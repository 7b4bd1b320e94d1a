#!/usr/bin/env python3
"""Relevance baseline: jieba's stock ChineseAnalyzer over *uncleaned* pages, one Whoosh document per page.

    python bench/relevance/baseline.py build SRC_DIR IDX_DIR
    python bench/relevance/baseline.py search QUERY --index IDX_DIR [--json] [--limit N]

The search command prints the same JSON shape as `unionsearch search --json`, so
../shared/tools/eval_search.py scores both the same way (see bench/relevance/run.sh).
"""

import argparse
import json
import logging
import sys
from pathlib import Path

import jieba
from bs4 import BeautifulSoup
from jieba.analyse import ChineseAnalyzer
from whoosh import fields, index
from whoosh.qparser import QueryParser

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from indexer.load import iter_pages, load_page  # noqa: E402  (bytes→text only; no cleaning)

jieba.setLogLevel(logging.WARNING)


def build(src: str, idx: str) -> None:
    Path(idx).mkdir(parents=True, exist_ok=True)
    schema = fields.Schema(source=fields.ID(stored=True), text=fields.TEXT(analyzer=ChineseAnalyzer(), stored=True))
    ix = index.create_in(idx, schema)
    with ix.writer() as w:
        for path in iter_pages(src):
            page = load_page(path, src)
            text = BeautifulSoup(page.text, "lxml").get_text("\n") if page.kind == "html" else page.text
            w.add_document(source=page.source, text=text)


def search(q: str, idx: str, limit: int) -> dict:
    ix = index.open_dir(idx)
    with ix.searcher() as s:
        query = QueryParser("text", ix.schema).parse(q)
        hits = s.search(query, limit=limit)
        return {"query": q, "total": len(hits),
                "results": [{"source": h["source"], "heading": "", "text": h["text"], "score": h.score}
                            for h in hits]}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("src")
    b.add_argument("idx")
    s = sub.add_parser("search")
    s.add_argument("q")
    s.add_argument("--index", required=True)
    s.add_argument("--limit", type=int, default=10)
    s.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.cmd == "build":
        build(a.src, a.idx)
    else:
        print(json.dumps(search(a.q, a.index, a.limit), ensure_ascii=False))


if __name__ == "__main__":
    main()
