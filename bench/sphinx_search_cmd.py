"""Run one search on the sphinx backend and print the CLI's JSON (for ../shared/tools/eval_search.py).

    python3 bench/sphinx_search_cmd.py QUERY --nodes var/cluster/nodes.json --index var/index [--limit 10]
    python3 bench/sphinx_search_cmd.py --build --nodes … --index …   # (re)index config.source_dir first

Until the lead wires `--backend sphinx` into the CLI, this is the `unionsearch search --json` of sphinx."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sphinx_common import index, sphinx_store  # noqa: E402

from indexer.config import find_config, load_config  # noqa: E402
from indexer.search import SearchOptions, result_to_json, search  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("query", nargs="?")
    ap.add_argument("--nodes", default="var/cluster/nodes.json", help="node list written by the cluster")
    ap.add_argument("--index", dest="index_dir", help="index folder (the sphinx state lives in <index>/sphinx)")
    ap.add_argument("--config", help="config.yaml (default: ./config.yaml)")
    ap.add_argument("--source", help="source folder, with --build")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--page", type=int, default=1)
    ap.add_argument("--sort", default="relevance")
    ap.add_argument("--build", action="store_true", help="full rebuild of the source folder first")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    overrides = {k: v for k, v in (("index_dir", args.index_dir), ("source_dir", args.source)) if v}
    config = load_config(args.config or find_config(), overrides)
    store = sphinx_store(config, args.nodes)
    if args.build:
        report = index(config, store, full=True, workers=args.workers)
        print(report.summary().splitlines()[0], file=sys.stderr)
    if args.query is not None:
        result = search(store, args.query, SearchOptions(page=args.page, per_page=args.limit, sort=args.sort,
                                                         snippet_chars=config.search.snippet_chars),
                        config.search.max_query_chars)
        print(json.dumps(result_to_json(result), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
