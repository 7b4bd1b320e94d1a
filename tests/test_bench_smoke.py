"""The benchmark scripts run end to end on a tiny corpus (speed is judged in bench/RESULTS.md, never here)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from helpers import ROOT

BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))


def test_make_corpus_is_deterministic_and_mixed(tmp_path):
    from make_corpus import make_corpus

    a = make_corpus(25, tmp_path / "a")
    b = make_corpus(25, tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    kinds = {p.suffix for p in a}
    assert kinds == {".html", ".txt"}
    assert any(b"charset=gbk" in p.read_bytes()[:400] for p in a)
    assert all(p.read_bytes().lstrip().startswith((b"<!DOCTYPE", b"<!-- saved from")) for p in a)
    assert len({p.parts[-3] for p in a}) > 2  # several sites


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    from make_corpus import make_corpus

    make_corpus(12, tmp / "corpus")
    proc = subprocess.run([sys.executable, str(BENCH / "index_speed.py"), "--pages", "12", "--corpus",
                           str(tmp / "corpus"), "--work", str(tmp / "work"), "--workers", "1", "--json",
                           str(tmp / "results" / "index-12.json")], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return tmp


def test_index_speed_reports_ours_naive_and_incremental(bench_run):
    data = json.loads((bench_run / "results" / "index-12.json").read_text(encoding="utf-8"))
    assert data["pages"] == 12 and data["ours"]["seconds"] > 0 and data["naive"]["sections"] > 0
    assert data["incremental"]["found_after_update"] and "indexed 1 of 1 pages" in data["incremental"]["summary"]
    assert data["index"]["cleaned_text_bytes"] > 0


def test_query_speed_and_plot(bench_run):
    out = bench_run / "results" / "query-12.json"
    proc = subprocess.run([sys.executable, str(BENCH / "query_speed.py"), "--config",
                           str(bench_run / "work" / "config.yaml"), "--queries", "8", "--clients", "2", "--processes",
                           "2", "--json", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["http_with_snippets"]["errors"] == 0 and data["http_with_snippets"]["queries"] == 8
    assert data["http_without_snippets"]["errors"] == 0
    assert data["server_memory_mb"]["VmHWM"] > 0 and len(data["server_memory_mb"]["processes"]) == 3
    png = bench_run / "plot.png"
    proc = subprocess.run([sys.executable, str(BENCH / "plot.py"), "--results", str(bench_run / "results"),
                           "--out", str(png)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("| pages |") and "| 12 |" in proc.stdout
    if importlib.util.find_spec("matplotlib") is None:  # the optional `bench` extra
        assert "matplotlib is not installed" in proc.stderr and not png.exists()
    else:
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_scaleout_quick(tmp_path):
    """bench/scaleout.py --quick: Whoosh and a 3-node sphinx cluster (when searchd is installed), built and
    queried over HTTP on 12 pages; every searchd it started is stopped again."""
    from pathlib import Path

    from indexer.backends.sphinx.cluster import searchd_binary

    out = tmp_path / "scaleout-12.json"
    proc = subprocess.run([sys.executable, str(BENCH / "scaleout.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    expected = {"whoosh", "sphinx3"} if searchd_binary() else {"whoosh"}
    assert set(data["setups"]) == expected and data["pages"] == 12
    for setup, entry in data["setups"].items():
        assert entry["build"]["pages"] == 12 and entry["build"]["size"]["sections"] > 0, setup
        (run,) = entry["query"]
        for key in ("with_snippets", "without_snippets"):
            assert run[key]["queries"] == 8 and run[key]["errors"] == 0, (setup, key, run[key])
    assert proc.stdout.startswith("| backend |")
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if data["work"] in cmdline.read_bytes().decode("utf-8", "replace"):
                left.append(cmdline.parent.name)
        except OSError:
            continue
    assert not left, f"processes of the bench still running: {left}"
