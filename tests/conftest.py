"""Fixtures that build the real thing: an index of the sample corpus in scraped/, built once per run."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from hypothesis import settings

from indexer.backends import open_store
from indexer.build import build_index
from indexer.config import Config

from helpers import SEEDS, make_config

# Property tests explore the same examples on every run, so CI is repeatable; HYPOTHESIS_PROFILE=explore
# searches afresh (run it on demand, e.g. before a release).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

STRICT_VARIABLE = "UNIONSEARCH_STRICT"


def _strict() -> bool:
    """CI sets UNIONSEARCH_STRICT=1: there every dependency is installed, so a skip means a test did not run."""
    return os.environ.get(STRICT_VARIABLE) == "1"


def _skip_reason(longrepr) -> str:
    """The reason of a skip report (pytest keeps it as (path, line, "Skipped: reason"))."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _strict_failure(reason: str) -> str:
    return f"skipped in strict mode ({STRICT_VARIABLE}=1): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In strict mode a skipped test (a skip mark, pytest.skip() in a fixture or test, an empty parameter set)
    is a failure that gives the skip's reason; an expected failure (xfail) stays what it is."""
    outcome = yield
    report = outcome.get_result()
    if _strict() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = _strict_failure(_skip_reason(report.longrepr))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """In strict mode a module skipped while it is collected (pytest.importorskip at module level) is an error."""
    outcome = yield
    report = outcome.get_result()
    if _strict() and report.skipped:
        report.outcome = "failed"
        report.longrepr = _strict_failure(_skip_reason(report.longrepr))


@pytest.fixture
def runner() -> CliRunner:
    """Runs `unionsearch` commands in this process (click's test runner): for CLI tests where starting a
    process is not the point. Tests of the installed entry point, exit codes across processes, kill -9 or a
    server still start a subprocess."""
    return CliRunner()


@pytest.fixture(autouse=True)
def fresh_result_cache():
    """Each test searches for itself: answers cached by an earlier test (search() keeps the last answers per
    index version) would hide what a test changes, such as a monkeypatched limit. test_result_cache.py tests
    the cache itself."""
    from indexer.search import _RESULTS

    _RESULTS.clear()
    yield


@pytest.fixture(scope="session")
def corpus_config(tmp_path_factory) -> Config:
    """Config over scraped/ with an index built once for the whole test run."""
    tmp = tmp_path_factory.mktemp("corpus")
    config = make_config(tmp)
    report = build_index(config, open_store(config), progress=False, workers=1)
    assert report.indexed == report.pages, report.summary()
    return config


@pytest.fixture(scope="session")
def store(corpus_config):
    return open_store(corpus_config)


@pytest.fixture(scope="session")
def app(corpus_config):
    from webapp import create_app

    app = create_app(corpus_config)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli_env(tmp_path):
    """Environment for running the `unionsearch` command in a subprocess."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="session")
def seeds_config(tmp_path_factory) -> Config:
    """Config with an index of the five seed pages only (the issue's ranking checks use it)."""
    tmp = tmp_path_factory.mktemp("seeds")
    source = tmp / "pages"
    source.mkdir()
    for p in SEEDS:
        (source / p.name).write_bytes(p.read_bytes())
    config = make_config(tmp, source)
    build_index(config, open_store(config), progress=False, workers=1)
    return config


@pytest.fixture(scope="session")
def seeds_store(seeds_config):
    return open_store(seeds_config)
