"""The `unionsearch` command on a temporary index: in this process through click's runner (the `runner` fixture),
and as a user runs it (the installed entry point in a subprocess) where exit codes and stderr across processes
are the point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from webapp.cli import cli

from helpers import ROOT, seed

BIN = Path(sys.executable).parent / "unionsearch"


def run(*args, env=None, cwd=ROOT):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def invoke(runner: CliRunner, *args):
    """`unionsearch ARGS` in this process; fails the test on an exception other than click's own exit."""
    result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


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
    result = invoke(CliRunner(), "index", "--source", source, "--index", tmp / "index", "--quiet", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before  # sources untouched
    return tmp, result.stdout


def test_index_reports_pages_and_failures(cli_index):
    _, out = cli_index
    assert out.startswith("indexed 4 of 6 pages")
    assert "skipped" not in out  # --quiet keeps the first line only


def test_index_lists_failures_with_reasons(tmp_path, runner):
    (tmp_path / "p").mkdir()
    shutil.copy(seed("003"), tmp_path / "p")
    (tmp_path / "p" / "empty.html").write_bytes(b"")
    result = invoke(runner, "index", "--source", tmp_path / "p", "--index", tmp_path / "i", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("indexed 1 of 2 pages")
    assert "empty.html: empty" in result.stdout


def test_search_json_has_the_documented_keys(cli_index, runner):
    tmp, _ = cli_index
    result = invoke(runner, "search", "农民工入会", "--json", "--limit", "3", "--index", tmp / "index")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["query"] == "农民工入会" and out["total"] >= 1
    first = out["results"][0]
    for key in ("id", "source", "document", "heading", "text", "snippet", "score", "url", "date"):
        assert key in first
    assert first["source"].startswith("003_")
    assert "<mark>" in first["snippet"]


def test_search_text_output_from_the_installed_command(cli_index):
    """The `unionsearch` entry point itself, in a process of its own."""
    tmp, _ = cli_index
    proc = run("search", "职工之家", "--index", tmp / "index")
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    words = first.split()
    assert words[1] == "documents," and words[3] == "sections" and 0 < int(words[0]) <= int(words[2]), first


def test_clean_json_of_a_seed(runner):
    result = invoke(runner, "clean", seed("004"), "--json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [d["title"][-5:] for d in page["documents"]] == ["【第一篇】", "【第二篇】"]
    sections = [s for d in page["documents"] for s in d["sections"]]
    assert sections and all(s.keys() >= {"heading", "text"} for s in sections)


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


def test_bad_config_value_is_named(tmp_path, runner):
    bad = tmp_path / "config.yaml"
    bad.write_text("server:\n  port: high\n", encoding="utf-8")
    result = invoke(runner, "search", "工会", "--config", bad)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "server.port" in result.stderr
