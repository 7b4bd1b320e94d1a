"""`unionsearch serve`: options reach waitress and the app; --get smoke test; a real server in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from webapp.cli import cli

from helpers import ROOT, wait_for


def serve(runner, args):
    return runner.invoke(cli, ["serve", "--config", str(ROOT / "config.yaml"), *args])


def test_get_runs_one_request(corpus_config, runner):
    result = serve(runner, ["--index", str(corpus_config.index_path), "--get", "/api/search?q=职代会"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["ok"] is True and body["total"] > 0


def test_get_exits_1_unless_200(corpus_config, runner):
    result = serve(runner, ["--index", str(corpus_config.index_path), "--get", "/api/search?per_page=1000&q=x"])
    assert result.exit_code == 1
    assert json.loads(result.output)["status"] == 400


def test_serve_without_an_index_is_one_line_error(tmp_path, runner):
    result = serve(runner, ["--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no index in ")


def test_options_reach_waitress_and_the_app(corpus_config, monkeypatch, runner):
    import waitress

    seen = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: seen.update(app=app, **kw))
    result = serve(runner, ["--index", str(corpus_config.index_path), "--port", "8123", "--threads", "7",
                            "--processes", "1", "--cors-origin", "http://a.example", "--cors-origin", "http://b.example",
                            "--frame-ancestor", "http://a.example"])
    assert result.exit_code == 0, result.output
    assert seen["port"] == 8123 and seen["threads"] == 7 and seen["host"] == "127.0.0.1"
    server = seen["app"].config["UNIONSEARCH"].server
    assert server.cors_origins == ["http://a.example", "http://b.example"]
    assert server.frame_ancestors == ["http://a.example"]
    assert "7 threads" in result.output and "http://a.example, http://b.example" in result.output
    client = seen["app"].test_client()
    allowed = client.get("/api/search?q=工会", headers={"Origin": "http://b.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://b.example"
    assert "http://a.example" in client.get("/embed").headers["Content-Security-Policy"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_url(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@pytest.fixture
def server(corpus_config, cli_env):
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "unionsearch")
    cmd = [exe if os.path.exists(exe) else sys.executable, *([] if os.path.exists(exe) else ["-m", "webapp"]),
           "serve", "--config", str(ROOT / "config.yaml"), "--index", str(corpus_config.index_path),
           "--port", str(port), "--threads", "2", "--cors-origin", "http://allowed.example"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/healthz", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def fetch(url: str, origin: str | None = None):
    req = urllib.request.Request(url, headers={"Origin": origin} if origin else {})
    with urllib.request.urlopen(req, timeout=60) as response:
        return response.status, response.headers, json.loads(response.read().decode("utf-8"))


def test_real_server_answers_with_cors_for_the_given_origin(server):
    status, headers, body = fetch(server + "/api/search?q=%E8%81%8C%E5%B7%A5%E4%B9%8B%E5%AE%B6",
                                  "http://allowed.example")
    assert status == 200 and body["ok"] is True and body["total"] > 0
    assert headers["Access-Control-Allow-Origin"] == "http://allowed.example"
    assert headers["Server"] == "unionsearch"
    _, refused, _ = fetch(server + "/api/search?q=x", "http://other.example")
    assert refused.get("Access-Control-Allow-Origin") is None
    assert body["results"][0]["doc_url"].startswith(server + "/doc/")


def children_of(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out |= {int(c) for c in (task / "children").read_text().split()}
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_several_processes_share_the_port_and_replace_a_dead_one(corpus_config, cli_env):
    port = free_port()
    cmd = [sys.executable, "-m", "webapp", "serve", "--config", str(ROOT / "config.yaml"),
           "--index", str(corpus_config.index_path), "--port", str(port), "--processes", "2", "--threads", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/api/search?q=%E8%81%8C%E5%B7%A5%E4%B9%8B%E5%AE%B6"
    try:
        wait_for_url(url, proc)
        workers = children_of(proc.pid)
        assert len(workers) == 2
        os.kill(next(iter(workers)), signal.SIGKILL)

        def new_pair() -> set[int] | None:
            now = children_of(proc.pid)
            return now if len(now) == 2 and now != workers else None

        replaced = wait_for(new_pair, timeout=60, every=0.2, what="a new worker in place of the killed one")
        for _ in range(6):
            status, _, body = fetch(url)
            assert status == 200 and body["total"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        output = proc.stdout.read()
        proc.stdout.close()
    assert "2 processes × 2 threads" in output and "starting another" in output
    # The children stopped with the parent.
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
