"""The `unionsearch` command, run as a user runs it (subprocess, temporary index)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, seed

BIN = Path(sys.executable).parent / "unionsearch"


def run(*args, env=None, cwd=ROOT):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    source = tmp / "pages"
    source.mkdir()
    for name in ("000", "002", "003"):
        shutil.copy(seed(name), source)
    shutil.copy(ROOT / "scraped" / "dev02.html", source)  # GBK
    (source / "empty.html").write_bytes(b"")
    (source / "binary.htm").write_bytes(bytes(range(256)) * 10)
    before = {p.name: p.read_bytes() for p in source.iterdir()}
    proc = run("index", "--source", source, "--index", tmp / "index", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before  # sources untouched
    return tmp, proc.stdout


def test_index_reports_pages_and_failures(cli_index):
    _, out = cli_index
    assert out.startswith("indexed 4 of 6 pages")
    assert "skipped" not in out  # --quiet keeps the first line only


def test_index_lists_failures_with_reasons(tmp_path):
    (tmp_path / "p").mkdir()
    shutil.copy(seed("003"), tmp_path / "p")
    (tmp_path / "p" / "empty.html").write_bytes(b"")
    proc = run("index", "--source", tmp_path / "p", "--index", tmp_path / "i")
    assert proc.returncode == 0
    assert "empty.html: empty" in proc.stdout


def test_search_json_has_the_documented_keys(cli_index):
    tmp, _ = cli_index
    proc = run("search", "农民工入会", "--json", "--limit", "3", "--index", tmp / "index")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["query"] == "农民工入会" and out["total"] >= 1
    first = out["results"][0]
    for key in ("id", "source", "document", "heading", "text", "snippet", "score", "url", "date"):
        assert key in first
    assert first["source"].startswith("003_")
    assert "<mark>" in first["snippet"]


def test_search_text_output(cli_index):
    tmp, _ = cli_index
    proc = run("search", "职工之家", "--index", tmp / "index")
    assert proc.returncode == 0
    assert "results" in proc.stdout.splitlines()[0]


def test_clean_json_of_a_seed():
    proc = run("clean", seed("004"), "--json")
    assert proc.returncode == 0, proc.stderr
    page = json.loads(proc.stdout)
    assert [d["title"][-5:] for d in page["documents"]] == ["【第一篇】", "【第二篇】"]
    assert all(s.keys() >= {"heading", "text"} for d in page["documents"] for s in d["sections"])


@pytest.mark.parametrize("args,message", [
    (("search", "工会", "--index", "/nonexistent/idx"), "no index in"),
    (("clean", "/nonexistent/page.html"), "Error:"),
    (("index", "--source", "/nonexistent/src", "--index", "/tmp/x"), "source folder not found"),
    (("search", "工会", "--config", "/nonexistent.yaml"), "config file not found"),
])
def test_errors_are_one_line_without_traceback(args, message):
    proc = run(*args)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_value_is_named(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("server:\n  port: high\n", encoding="utf-8")
    proc = run("search", "工会", "--config", bad)
    assert proc.returncode == 1
    assert "server.port" in proc.stderr and "Traceback" not in proc.stderr
