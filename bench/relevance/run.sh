#!/usr/bin/env bash
# Score relevance: the judged set (bench/relevance/queries.json: 70 queries over all of scraped/, pooled and graded
# by meaning) for ours and plain BM25 over the cleaned sections, then the 12 shared dev queries (seeds only, and
# all of scraped/) for ours and the stock-jieba baseline. SPHINX=1 also scores the sphinx backend (needs searchd).
# Usage: bench/relevance/run.sh   (from the repository root; writes bench/relevance/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared}
BIN=.venv/bin
TMP=$(mktemp -d)
trap '[ -f "$TMP/cluster.yaml" ] && $BIN/unionsearch cluster stop --config "$TMP/cluster.yaml" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/seeds" && cp scraped/0*.txt "$TMP/seeds/"
eval_line() { python3 "$SHARED/tools/eval_search.py" "$SHARED/queries/dev.json" --quiet --search-cmd "$1" | tail -1; }
$BIN/unionsearch index --source "$TMP/seeds" --index "$TMP/ours-seeds" --quiet --full >/dev/null
$BIN/unionsearch index --source scraped --index "$TMP/ours-all" --quiet --full >/dev/null
$BIN/python bench/relevance/baseline.py build "$TMP/seeds" "$TMP/base-seeds"
$BIN/python bench/relevance/baseline.py build scraped "$TMP/base-all"
{
  echo "# Relevance ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD))"
  echo
  echo "## The judged set: bench/relevance/queries.json (queries with an answer; dev / held-out / all)"
  echo
  echo "unionsearch (Whoosh, default config):"
  echo '```'
  $BIN/python bench/relevance/score.py --index "$TMP/ours-all" --shared "$SHARED"
  echo '```'
  echo "plain BM25 (k1 1.2, b 0.75) over the same cleaned sections, jieba's search-mode cut, any word, no collapse:"
  echo '```'
  $BIN/python bench/relevance/score.py --bm25 --shared "$SHARED"
  echo '```'
  if [ "${SPHINX:-0}" = 1 ]; then
    sed -e "s#^source_dir: .*#source_dir: $PWD/scraped#" -e "s#^index_dir: .*#index_dir: $TMP/sphinx#" \
        -e "s#^backend: .*#backend: sphinx#" -e "s#nodes_file: .*#nodes_file: $TMP/cluster/nodes.json#" \
        config.yaml > "$TMP/cluster.yaml"
    $BIN/unionsearch cluster start --nodes 1 --config "$TMP/cluster.yaml" >/dev/null
    $BIN/unionsearch index --full --quiet --config "$TMP/cluster.yaml" >/dev/null
    echo "unionsearch, sphinx backend (one node):"
    echo '```'
    $BIN/python bench/relevance/score.py --config "$TMP/cluster.yaml" --backend sphinx --shared "$SHARED"
    echo '```'
  fi
  echo
  echo "## The 12 shared dev queries (../shared/queries/dev.json)"
  echo
  echo "| engine | corpus | summary |"
  echo "|---|---|---|"
  echo "| unionsearch | seeds (5 pages) | $(eval_line "$BIN/unionsearch search {q} --json --limit 10 --index $TMP/ours-seeds") |"
  echo "| unionsearch | scraped/ (17 pages) | $(eval_line "$BIN/unionsearch search {q} --json --limit 10 --index $TMP/ours-all") |"
  echo "| baseline: stock ChineseAnalyzer, uncleaned pages | seeds | $(eval_line "$BIN/python bench/relevance/baseline.py search {q} --json --index $TMP/base-seeds") |"
  echo "| baseline: stock ChineseAnalyzer, uncleaned pages | scraped/ | $(eval_line "$BIN/python bench/relevance/baseline.py search {q} --json --index $TMP/base-all") |"
} > "$TMP/results.md"
cat "$TMP/results.md" bench/relevance/NOTES.md > bench/relevance/RESULTS.md
cat bench/relevance/RESULTS.md
