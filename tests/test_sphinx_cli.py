"""The sphinx backend from the command line: cluster start → index --backend sphinx → search / serve → stop."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, seed

BIN = Path(sys.executable).parent / "unionsearch"
pytestmark = pytest.mark.skipif(shutil.which("searchd") is None, reason="Sphinx's searchd is not installed "
                                "(.ci/run installs the sphinxsearch package)")


def run(*args, cwd):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sphinx_cli")
    (tmp / "pages").mkdir()
    for name in ("000", "003", "004"):
        shutil.copy(seed(name), tmp / "pages")
    shutil.copy(ROOT / "scraped" / "dev02.html", tmp / "pages")
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config.update(source_dir="pages", index_dir="var/index", cache_dir="var/cache")
    (tmp / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    started = run("cluster", "start", "--nodes", "3", cwd=tmp)
    assert started.returncode == 0, started.stderr
    try:
        yield tmp
    finally:
        run("cluster", "stop", cwd=tmp)


def test_index_search_and_serve_on_the_cluster(project):
    indexed = run("index", "--backend", "sphinx", "--quiet", cwd=project)
    assert indexed.returncode == 0, indexed.stderr
    assert indexed.stdout.startswith("indexed 4 of 4 pages")
    found = run("search", "农民工入会", "--backend", "sphinx", "--json", cwd=project)
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert body["results"][0]["source"].startswith("003_") and body["incomplete"] is False
    served = run("serve", "--backend", "sphinx", "--get", "/api/search?q=职工之家", cwd=project)
    assert served.returncode == 0 and json.loads(served.stdout)["total"] > 0
    status = run("cluster", "status", cwd=project)
    assert status.stdout.count(" up ") == 3


def test_whoosh_stays_the_default(project):
    # Nothing was indexed into Whoosh here: the default backend says so instead of using the cluster.
    proc = run("search", "工会", cwd=project)
    assert proc.returncode == 1 and "no index in" in proc.stderr
