#!/usr/bin/env bash
# Score relevance on the dev queries: ours (seeds only, and all of scraped/) and the stock-jieba baseline.
# Usage: bench/relevance/run.sh   (from the repository root; writes bench/relevance/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared}
BIN=.venv/bin
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/seeds" && cp scraped/0*.txt "$TMP/seeds/"
eval_line() { python3 "$SHARED/tools/eval_search.py" "$SHARED/queries/dev.json" --quiet --search-cmd "$1" | tail -1; }
$BIN/unionsearch index --source "$TMP/seeds" --index "$TMP/ours-seeds" --quiet >/dev/null
$BIN/unionsearch index --source scraped --index "$TMP/ours-all" --quiet >/dev/null
$BIN/python bench/relevance/baseline.py build "$TMP/seeds" "$TMP/base-seeds"
$BIN/python bench/relevance/baseline.py build scraped "$TMP/base-all"
{
  echo "# Relevance on ../shared/queries/dev.json ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD))"
  echo
  echo "| engine | corpus | summary |"
  echo "|---|---|---|"
  echo "| unionsearch | seeds (5 pages) | $(eval_line "$BIN/unionsearch search {q} --json --limit 10 --index $TMP/ours-seeds") |"
  echo "| unionsearch | scraped/ (17 pages) | $(eval_line "$BIN/unionsearch search {q} --json --limit 10 --index $TMP/ours-all") |"
  echo "| baseline: stock ChineseAnalyzer, uncleaned pages | seeds | $(eval_line "$BIN/python bench/relevance/baseline.py search {q} --json --index $TMP/base-seeds") |"
  echo "| baseline: stock ChineseAnalyzer, uncleaned pages | scraped/ | $(eval_line "$BIN/python bench/relevance/baseline.py search {q} --json --index $TMP/base-all") |"
} | tee bench/relevance/RESULTS.md
