"""`unionsearch fetch` against a local HTTP server on 127.0.0.1 (no network): shared pages incl. a GBK one,
a redirect, a 404, a slow response, robots.txt, retries and the size limit."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from indexer.fetch import Fetcher, FetchSettings, read_url_list, target_path
from indexer.load import load_page

from helpers import SCRAPED

PAGES = SCRAPED  # the shared dev pages, as shipped in scraped/
TIMEOUT = 30.0  # the fetcher's wait for a server: generous, a loaded machine answers slowly; only /slow times out
SLOW = 10.0  # how long /slow takes to answer


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, list[float]] = {}
    flaky_left = 1

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8", **headers):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        Handler.hits.setdefault(self.path, []).append(time.monotonic())
        path = self.path
        if path == "/robots.txt":
            return self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        if path.startswith("/pages/"):
            name = path.rsplit("/", 1)[1]
            ctype = "text/html; charset=gbk" if name == "dev02.html" else "text/html"
            return self._send(200, (PAGES / name).read_bytes(), ctype)
        if path == "/old":
            return self._send(301, b"", Location="/pages/dev01.html")
        if path == "/slow":  # far slower than the 1 s the fetcher waits for it (a daemon thread: never joined)
            time.sleep(SLOW)
            return self._send(200, b"<html>late</html>")
        if path == "/flaky":
            if Handler.flaky_left > 0:
                Handler.flaky_left -= 1
                return self._send(503, b"busy")
            return self._send(200, "<html><title>稍后</title><p>恢复正常</p></html>".encode())
        if path == "/big":
            return self._send(200, b"<html>" + b"x" * 5000 + b"</html>")
        if path == "/image.png":
            return self._send(200, b"\x89PNG", "image/png")
        if path == "/private/a.html":
            return self._send(200, b"<html>secret</html>")
        return self._send(404, b"not found")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetcher(tmp_path, **overrides):
    settings = FetchSettings(**{"delay": 0, "timeout": TIMEOUT, "retries": 1, "backoff": 0.01, **overrides})
    client = httpx.Client(timeout=settings.timeout, trust_env=False, headers={"User-Agent": settings.user_agent})
    return Fetcher(tmp_path / "scraped", settings, client=client)


def test_saves_raw_bytes_with_the_saved_from_line(server, tmp_path):
    with fetcher(tmp_path) as f:
        result = f.fetch(f"{server}/pages/dev02.html")
    assert result.ok, result.error
    port = server.rsplit(":", 1)[1]
    assert result.path == tmp_path / "scraped" / f"127.0.0.1_{port}" / "pages" / "dev02.html"
    data = result.path.read_bytes()
    assert data.endswith((PAGES / "dev02.html").read_bytes())  # GBK bytes untouched
    page = load_page(result.path, tmp_path / "scraped")
    assert page.url == f"{server}/pages/dev02.html"
    assert page.encoding == "gb18030" and "工会" in page.text
    meta = json.loads(result.path.with_name("dev02.html.fetch.json").read_text(encoding="utf-8"))
    assert meta["charset"] == "gbk" and meta["fetched_at"].endswith("Z")


def test_redirect_is_followed_and_saved_under_the_final_url(server, tmp_path):
    with fetcher(tmp_path) as f:
        result = f.fetch(f"{server}/old")
    assert result.ok and result.final_url == f"{server}/pages/dev01.html"
    assert result.path.name == "dev01.html"
    meta = json.loads(result.path.with_name("dev01.html.fetch.json").read_text(encoding="utf-8"))
    assert meta["url"] == f"{server}/old"


@pytest.mark.parametrize(("path", "reason", "timeout"), [
    ("/missing", "HTTP 404", TIMEOUT),
    ("/slow", "timed out after 1s (2 attempts)", 1.0),
    ("/big", "too large", TIMEOUT),
    ("/image.png", "not a page: content type image/png", TIMEOUT),
    ("/private/a.html", "disallowed by robots.txt", TIMEOUT),
])
def test_failures_have_one_line_reasons(server, tmp_path, path, reason, timeout):
    with fetcher(tmp_path, max_bytes=4000, timeout=timeout) as f:
        result = f.fetch(server + path)
    assert not result.ok and reason in result.error and "\n" not in result.error
    assert not (tmp_path / "scraped").exists() or not any((tmp_path / "scraped").rglob("*.html"))


def test_a_503_is_retried(server, tmp_path):
    Handler.flaky_left = 1
    with fetcher(tmp_path) as f:
        result = f.fetch(f"{server}/flaky")
    assert result.ok, result.error
    assert load_page(result.path).url == f"{server}/flaky"


def test_one_request_per_delay_per_host(server, tmp_path):
    now, sleeps = [100.0], []

    def sleep(seconds):  # a clock that moves only when the fetcher waits: the waits are the spacing
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    settings = FetchSettings(delay=0.3, timeout=TIMEOUT, retries=0)
    client = httpx.Client(timeout=TIMEOUT, trust_env=False)
    with Fetcher(tmp_path / "s", settings, client=client, sleep=sleep, clock=lambda: now[0]) as f:
        results = list(f.fetch_all([f"{server}/pages/dev03.html", f"{server}/pages/dev04.html"]))
    assert len(results) == 2 and all(r.ok for r in results), results
    assert sleeps == [0.3, 0.3]  # robots.txt, then each page, one per 0.3 s


def test_not_a_url(tmp_path):
    with fetcher(tmp_path) as f:
        assert f.fetch("ftp://example.com/x").error == "not an http(s) URL"


def test_paths_and_url_lists(tmp_path):
    assert target_path(tmp_path, "https://Example.com/a/b/").relative_to(tmp_path).as_posix() == \
        "example.com/a/b/index.html"
    assert target_path(tmp_path, "https://example.com/view?id=3").name.startswith("view_")
    assert target_path(tmp_path, "https://example.com/../../etc/x.txt", "text/plain").relative_to(tmp_path) \
        .as_posix() == "example.com/etc/x.txt"
    assert read_url_list(["# list", "", " https://a.cn/1 \n"]) == ["https://a.cn/1"]


def test_cli_fetch_prints_a_line_per_failure(server, tmp_path, runner):
    from indexer.cli import cli

    urls = tmp_path / "urls.txt"
    urls.write_text(f"{server}/pages/dev05.html\n{server}/missing\n", encoding="utf-8")
    result = runner.invoke(cli, ["fetch", "--from", str(urls), "--out", str(tmp_path / "s"), "--delay", "0",
                                      "--retries", "0"], env={"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
    assert result.exit_code == 1
    assert f"failed {server}/missing: HTTP 404" in result.output
    assert "1 saved, 1 failed" in result.output
