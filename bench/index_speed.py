"""Indexing speed: our build against the naive build on the same pages, in one run; then one changed page.

    python bench/index_speed.py --pages 1000 [--workers 2] [--no-naive] [--json bench/results/index-1000.json]

* ours: ``unionsearch index --full`` as a user runs it (worker processes that load, clean, analyse and write
  their own segment; the parent commits), timed end to end in a subprocess.
* naive: the same pages loaded and cleaned in one process, jieba's stock ``ChineseAnalyzer`` on the text fields
  (no bigram field), one ``add_document`` per section, ``ix.writer()`` with its defaults, one commit.
* incremental: one page changed, then ``unionsearch index`` (end to end, process start included).
* peak RSS of each build (the parent, and the largest worker), index size against the cleaned text.
The corpus comes from bench/make_corpus.py (made when missing). Speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from procfs import tree_rss_mb  # noqa: E402


def _config(corpus: Path, work: Path):
    from indexer.config import load_config

    return load_config(ROOT / "config.yaml", {"source_dir": str(corpus), "index_dir": str(work / "index"),
                                              "cache_dir": str(work / "cache")})


def _cli(*args: str) -> tuple[float, subprocess.CompletedProcess, float]:
    """Run `unionsearch ARGS`; returns (seconds, process, peak RSS of its process tree in MB)."""
    # `python -m webapp.cli` from this tree, so that the code measured is the code next to this script
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"`unionsearch {' '.join(args)}` failed:\n{stderr[-2000:]}")
    return elapsed, subprocess.CompletedProcess(args, proc.returncode, stdout, stderr), peak


def run_ours(corpus: Path, work: Path, workers: int) -> dict:
    """Full build through the CLI in a child process; its peak RSS from the child's rusage."""
    from indexer.manifest import settings_fingerprint  # noqa: F401 - fail early if the package is broken

    shutil.rmtree(work / "index", ignore_errors=True)
    config_file = work / "config.yaml"
    config_file.write_text(f"source_dir: {corpus}\nindex_dir: {work / 'index'}\ncache_dir: {work / 'cache'}\n"
                           + _analysis_block(), encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, proc, peak = _cli("index", "--full", "--quiet", "--workers", str(workers), "--config", str(config_file))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    first = proc.stdout.splitlines()[0]
    return {"seconds": seconds, "summary": first, "cpu_seconds": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime), "peak_rss_mb_all_processes": peak, "config": str(config_file)}


def _analysis_block() -> str:
    """The analysis settings of the repository's config.yaml (synonyms), so ours matches a real setup."""
    import yaml

    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8")) or {}
    return yaml.safe_dump({"analysis": data.get("analysis", {})}, allow_unicode=True)


NAIVE = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
from index_speed import naive_build
print(json.dumps(naive_build(Path({corpus!r}), Path({work!r}))))
"""


def naive_build(corpus: Path, work: Path) -> dict:
    """The build most people write first (see the module docstring)."""
    import jieba
    from jieba.analyse import ChineseAnalyzer
    from whoosh import fields as wf
    from whoosh import index as wi

    from indexer.load import iter_pages
    from indexer.records import process_file

    jieba.setLogLevel(60)
    started = time.perf_counter()
    ana = ChineseAnalyzer()
    schema = wf.Schema(
        id=wf.ID(stored=True, unique=True), doc_id=wf.ID(stored=True), source=wf.ID(stored=True),
        page_title=wf.TEXT(analyzer=ana, stored=True), document=wf.TEXT(analyzer=ana, stored=True),
        heading=wf.TEXT(analyzer=ana, stored=True), text=wf.TEXT(analyzer=ana, stored=True),
        url=wf.STORED(), date=wf.ID(stored=True), year=wf.NUMERIC(stored=True), site=wf.ID(stored=True),
    )
    target = work / "naive-index"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    ix = wi.create_in(str(target), schema)
    writer = ix.writer()
    config = _config(corpus, work)
    pages = sections = 0
    for path in iter_pages(corpus):
        result = process_file(str(path), str(corpus), config)
        pages += 1
        for r in result.records:
            writer.add_document(id=r.id, doc_id=r.doc_id, source=r.source, page_title=r.page_title,
                                document=r.document, heading=r.heading, text=r.text, url=r.url,
                                date=r.date or "", year=r.year, site=r.site or "")
            sections += 1
    writer.commit()
    return {"seconds": time.perf_counter() - started, "pages": pages, "sections": sections,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "size_bytes": sum(p.stat().st_size for p in target.rglob("*") if p.is_file())}


def _median_run(runs: list[dict], key: str) -> dict:
    """The run with the median ``key`` (the middle one of an odd number, the faster middle one of an even)."""
    return dict(sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2])


def run_naive(corpus: Path, work: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = NAIVE.format(root=str(ROOT), bench=str(BENCH), corpus=str(corpus), work=str(work))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise SystemExit(f"naive build failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["seconds_with_start"] = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def one_changed_page(corpus: Path, config_file: str) -> dict:
    """Append a paragraph to one page, run `unionsearch index`, and time it end to end."""
    from indexer.load import iter_pages

    page = next(p for p in iter_pages(corpus) if p.suffix == ".html")
    original = page.read_bytes()
    marker = "增量索引测试段落：职工书屋新增图书一千二百册。"
    try:
        page.write_bytes(original.replace(b"</body>", f"<p>{marker}</p></body>".encode(), 1))
        seconds, proc, _ = _cli("index", "--quiet", "--config", config_file)
        _, found, _ = _cli("search", "职工书屋新增图书", "--json", "--config", config_file)
    finally:
        page.write_bytes(original)
    restore, _, _ = _cli("index", "--quiet", "--config", config_file)
    return {"seconds": seconds, "summary": proc.stdout.splitlines()[0], "restore_seconds": restore,
            "found_after_update": json.loads(found.stdout)["total"] > 0}


def cleaned_text_bytes(config_file: str) -> tuple[int, int]:
    """(bytes of stored section text, index size) of the live index."""
    from indexer.backends import open_store
    from indexer.backends.whoosh.schema import load_record
    from indexer.config import load_config

    store = open_store(load_config(config_file))
    total = 0
    with store.searcher() as s:
        for docnum in s.reader().all_doc_ids():
            total += len(load_record(s, docnum).text.encode("utf-8"))
    return total, store.stats()["size_bytes"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--corpus", type=Path, help="corpus folder (default: var/bench/corpus-N, made if missing)")
    ap.add_argument("--work", type=Path, help="scratch folder (default: var/bench/work-N)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-naive", action="store_true", help="skip the naive build (e.g. at 10k pages)")
    ap.add_argument("--repeat", type=int, default=1, help="builds of each kind; medians are reported")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    corpus = args.corpus or ROOT / "var" / "bench" / f"corpus-{args.pages}"
    work = (args.work or ROOT / "var" / "bench" / f"work-{args.pages}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not corpus.is_dir():
        from make_corpus import make_corpus

        make_corpus(args.pages, corpus)
    pages = sum(1 for _ in __import__("indexer.load", fromlist=["iter_pages"]).iter_pages(corpus))
    out: dict = {"pages": pages, "workers": args.workers, "cpus": os.cpu_count(),
                 "load_average_at_start": os.getloadavg(), "python": sys.version.split()[0]}
    print(f"corpus: {pages} pages in {corpus}", file=sys.stderr)
    runs: dict[str, list[dict]] = {"ours": [], "naive": []}
    for i in range(args.repeat):  # alternate, so that a busy moment on the machine hits both
        ours = run_ours(corpus, work, args.workers)
        runs["ours"].append(ours)
        print(f"ours #{i + 1}:  {ours['seconds']:.1f}s ({pages / ours['seconds']:.1f} pages/s, "
              f"{ours['cpu_seconds']:.0f} CPU s) — {ours['summary']}", file=sys.stderr)
        if not args.no_naive:
            naive = run_naive(corpus, work)
            runs["naive"].append(naive)
            print(f"naive #{i + 1}: {naive['seconds_with_start']:.1f}s ({pages / naive['seconds_with_start']:.1f} "
                  f"pages/s, {naive['cpu_seconds']:.0f} CPU s)", file=sys.stderr)
    out["runs"] = runs
    out["ours"] = ours = _median_run(runs["ours"], "seconds")
    ours["pages_per_second"] = pages / ours["seconds"]
    ours["cpu_ms_per_page"] = 1000 * ours["cpu_seconds"] / pages
    if runs["naive"]:
        out["naive"] = naive = _median_run(runs["naive"], "seconds_with_start")
        naive["pages_per_second"] = pages / naive["seconds_with_start"]
        naive["cpu_ms_per_page"] = 1000 * naive["cpu_seconds"] / pages
        out["speedup"] = naive["seconds_with_start"] / ours["seconds"]
        print(f"median: ours {ours['seconds']:.1f}s, naive {naive['seconds_with_start']:.1f}s: "
              f"ours is {out['speedup']:.2f}x", file=sys.stderr)
    text, size = cleaned_text_bytes(ours["config"])
    out["index"] = {"size_bytes": size, "cleaned_text_bytes": text, "ratio": size / text if text else None}
    print(f"index: {size / 1e6:.1f} MB for {text / 1e6:.1f} MB of cleaned text ({size / text:.1f}x)",
          file=sys.stderr)
    out["incremental"] = inc = one_changed_page(corpus, ours["config"])
    print(f"one changed page: {inc['seconds']:.2f}s end to end — {inc['summary']}", file=sys.stderr)
    out["load_average_at_end"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
