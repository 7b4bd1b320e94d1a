"""Logging: a page that breaks the cleaner is one report line on the terminal and a full traceback in
var/log/unionsearch.log; `-v` shows the log on the terminal too."""

from __future__ import annotations

import shutil

import pytest

import indexer.records as records
from indexer.cli import cli

from helpers import SCRAPED


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pages").mkdir()
    for name in ("dev02.html", "dev03.html"):
        shutil.copy(SCRAPED / name, tmp_path / "pages")
    (tmp_path / "config.yaml").write_text("source_dir: pages\nindex_dir: var/index\ncache_dir: var/cache\n"
                                          "log_dir: var/log\n", encoding="utf-8")
    return tmp_path


def test_a_cleaner_bug_is_one_line_here_and_a_traceback_in_the_log(project, runner, monkeypatch):
    real = records.clean_page

    def broken(page, settings):
        if page.source == "dev03.html":
            raise KeyError("a cleaner bug")
        return real(page, settings)

    monkeypatch.setattr(records, "clean_page", broken)
    result = runner.invoke(cli, ["index", "--config", str(project / "config.yaml"), "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "indexed 1 of 2 pages" in result.output
    assert "Traceback" not in result.output
    log_file = project / "var" / "log" / "unionsearch.log"
    assert f"tracebacks in {log_file}" in result.output
    log = log_file.read_text(encoding="utf-8")
    assert "internal error while cleaning dev03.html" in log
    assert "Traceback" in log and "KeyError: 'a cleaner bug'" in log


def test_verbose_shows_the_log(project, runner):
    result = runner.invoke(cli, ["-v", "index", "--config", str(project / "config.yaml"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "INFO indexer.build: full build of" in result.output
    quiet = runner.invoke(cli, ["index", "--config", str(project / "config.yaml"), "--workers", "1"])
    assert "INFO" not in quiet.output
    assert "INFO indexer.build: update of" in (project / "var" / "log" / "unionsearch.log").read_text("utf-8")
