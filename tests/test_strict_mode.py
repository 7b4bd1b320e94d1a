"""Strict mode (UNIONSEARCH_STRICT=1, set by CI): a skipped test fails with its skip reason, so a missing
dependency can never leave the suite green by not running tests. Proved on a tiny generated suite run by pytest
in a subprocess with tests/conftest.py loaded as a plugin (what the real suite's conftest does, nothing else)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from helpers import ROOT

SAMPLE = '''
import pytest


def test_runs():
    assert 1 + 1 == 2


def test_skips_itself():
    pytest.skip("searchd is not installed here")


@pytest.mark.skipif(True, reason="needs chromium at /usr/bin/chromium")
def test_marked_skip():
    pass


@pytest.fixture
def cluster():
    pytest.skip("cannot start the cluster")


def test_fixture_skips(cluster):
    pass


@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    assert False
'''

MODULE_SKIP = '''
import pytest

pytest.importorskip("no_such_module_for_strict_mode", reason="needs no_such_module_for_strict_mode")


def test_never_collected():
    pass
'''


@pytest.fixture
def sample(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # rootdir here, not the project's ini
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "test_module_skip.py").write_text(MODULE_SKIP, encoding="utf-8")
    return tmp_path


def run_sample(folder, strict: bool, name: str = "test_sample.py") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "UNIONSEARCH_STRICT"}
    env["PYTHONPATH"] = str(ROOT / "tests")  # tests/conftest.py, loaded below as the plugin "conftest"
    if strict:
        env["UNIONSEARCH_STRICT"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", "-rfEsx",
                           "-c", str(folder / "pytest.ini"), name],
                          capture_output=True, text=True, cwd=folder, env=env, timeout=300)


def summary(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """The counts of pytest's last line, e.g. {"passed": 1, "skipped": 4, "xfailed": 1}."""
    last = proc.stdout.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def test_skips_are_skips_without_strict_mode(sample):
    proc = run_sample(sample, strict=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary(proc) == {"passed": 1, "skipped": 3, "xfailed": 1}, proc.stdout
    module = run_sample(sample, strict=False, name="test_module_skip.py")
    assert module.returncode == 5 and summary(module) == {"skipped": 1}, module.stdout  # 5: no test ran


def test_strict_mode_fails_every_skip_with_its_reason(sample):
    proc = run_sample(sample, strict=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # A skip in the test fails it; a skip mark or a fixture that skips fails its setup, which pytest counts as an
    # error. The expected failure stays one.
    assert summary(proc) == {"failed": 1, "errors": 2, "passed": 1, "xfailed": 1}, proc.stdout
    for reason in ("searchd is not installed here", "needs chromium at /usr/bin/chromium", "cannot start the cluster"):
        assert f"skipped in strict mode (UNIONSEARCH_STRICT=1): {reason}" in proc.stdout, (reason, proc.stdout)


def test_strict_mode_makes_a_module_skipped_at_collection_an_error(sample):
    """pytest.importorskip at module level skips while collecting: in strict mode that is a collection error
    (which stops the run: pytest runs nothing after an error during collection)."""
    proc = run_sample(sample, strict=True, name="test_module_skip.py")
    assert proc.returncode == 2, proc.stdout + proc.stderr  # 2: interrupted
    assert summary(proc) == {"error": 1}, proc.stdout
    assert ("skipped in strict mode (UNIONSEARCH_STRICT=1): needs no_such_module_for_strict_mode"
            in proc.stdout), proc.stdout
