"""Save pages from the web into the source folder, politely: ``unionsearch fetch URL…``.

Each page goes to ``<out>/<host>/<path>`` as the raw bytes the server sent, preceded (for HTML) by the line a
browser writes, ``<!-- saved from url=(NNNN)URL -->``, which the loader reads back as the page's URL. A sidecar
``<file>.fetch.json`` keeps the requested and final URL, the fetch time, the HTTP status and headers that matter
(content type, charset) and the hash of the body. Plain-text responses get the sidecar only.

Polite by default: robots.txt is honoured (and its Crawl-delay), one request per ``delay`` seconds per host,
timeouts, retries with exponential backoff on timeouts, connection errors, 429 and 5xx (Retry-After is
respected), redirects followed one hop at a time (each hop checked against robots.txt), and a size limit.
Every failure is one line: the URL and the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from indexer import __version__
from indexer.load import PAGE_SUFFIXES

RETRY_STATUSES = {429, 500, 502, 503, 504}
PAGE_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt"}
_UNSAFE = re.compile(r'[\\:*?"<>|\x00-\x1f]')
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


@dataclass(frozen=True)
class FetchSettings:
    delay: float = 1.0  # seconds between two requests to one host
    timeout: float = 15.0
    retries: int = 3
    backoff: float = 1.0  # first retry waits this long, then twice as long each time
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    robots: bool = True
    user_agent: str = f"unionsearch/{__version__} (saved-page search indexer)"


@dataclass
class FetchResult:
    url: str
    path: Path | None = None
    final_url: str | None = None
    status: int | None = None
    size: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FetchError(Exception):
    """A page that could not be saved; the message is the one-line reason."""


def read_url_list(lines: Iterable[str]) -> list[str]:
    """URLs from a file: one a line; blank lines and # comments skipped."""
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def target_path(out: Path, url: str, content_type: str = "text/html") -> Path:
    """Where a URL is saved: ``out/<host>/<path>``, with a page suffix, the query as a short hash."""
    parts = urlsplit(url)
    host = (parts.hostname or "unknown").lower() + (f"_{parts.port}" if parts.port else "")
    segments = [_UNSAFE.sub("_", s) for s in unquote(parts.path).split("/")]
    segments = [s for s in segments if s not in ("", ".", "..")]
    if not segments or parts.path.endswith("/"):
        segments.append("index")
    stem, suffix = os.path.splitext(segments[-1])
    if suffix.lower() not in PAGE_SUFFIXES:
        stem, suffix = segments[-1], PAGE_TYPES.get(content_type, ".html")
    if parts.query:
        stem += "_" + hashlib.sha1(parts.query.encode("utf-8")).hexdigest()[:8]
    segments[-1] = stem[:150] + suffix
    return out.joinpath(host, *segments)


class Fetcher:
    """Fetches URLs one by one (use as a context manager, or call close())."""

    def __init__(self, out: str | Path, settings: FetchSettings | None = None, client: httpx.Client | None = None,
                 sleep=time.sleep, clock=time.monotonic):
        self.out = Path(out)
        self.settings = settings or FetchSettings()
        self.client = client or httpx.Client(timeout=self.settings.timeout, follow_redirects=False,
                                             headers={"User-Agent": self.settings.user_agent})
        self._own_client = client is None
        self._sleep, self._clock = sleep, clock
        self._last: dict[str, float] = {}  # host → time of the last request
        self._robots: dict[str, RobotFileParser | None] = {}  # origin → rules (None: allow everything)
        self._blocked: dict[str, str] = {}  # origin → why robots.txt could not be read

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    # ---- public ------------------------------------------------------------------------------------------
    def fetch_all(self, urls: Iterable[str]) -> Iterator[FetchResult]:
        for url in urls:
            yield self.fetch(url)

    def fetch(self, url: str) -> FetchResult:
        """Fetch and save one page; never raises for a bad URL or server (the reason is in ``error``)."""
        result = FetchResult(url)
        try:
            self._fetch(url, result)
        except FetchError as e:
            result.error = str(e)
        return result

    # ---- steps -------------------------------------------------------------------------------------------
    def _fetch(self, url: str, result: FetchResult) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("not an http(s) URL")
        current = url
        for _ in range(self.settings.max_redirects + 1):
            self._check_robots(current)
            status, headers, body = self._get(current)
            result.status = status
            if 300 <= status < 400 and headers.get("location"):
                current = urljoin(current, headers["location"])
                if urlsplit(current).scheme not in ("http", "https"):
                    raise FetchError(f"redirected to a non-http URL {current}")
                continue
            if status != 200:
                raise FetchError(f"HTTP {status}" + (f" (after redirect to {current})" if current != url else ""))
            content_type = headers.get("content-type", "text/html").split(";")[0].strip().lower()
            if content_type not in PAGE_TYPES:
                raise FetchError(f"not a page: content type {content_type}")
            result.final_url = current
            result.path = self._save(url, current, content_type, headers, body)
            result.size = len(body)
            return
        raise FetchError(f"more than {self.settings.max_redirects} redirects")

    def _wait_turn(self, host: str, delay: float) -> None:
        last = self._last.get(host)
        if last is not None:
            wait = last + delay - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last[host] = self._clock()

    def _get(self, url: str, retries: int | None = None) -> tuple[int, httpx.Headers, bytes]:
        """GET with rate limit, retries and size limit; returns (status, headers, body)."""
        s = self.settings
        host = urlsplit(url).netloc.lower()
        retries = s.retries if retries is None else retries
        reason = "no attempt"
        for attempt in range(retries + 1):
            if attempt:
                self._sleep(min(60.0, s.backoff * 2 ** (attempt - 1)))
            self._wait_turn(host, self._delay_for(url))
            try:
                with self.client.stream("GET", url) as response:
                    if response.status_code in RETRY_STATUSES and attempt < retries:
                        reason = f"HTTP {response.status_code}"
                        retry_after = response.headers.get("retry-after", "")
                        if retry_after.isdigit():
                            self._sleep(min(60.0, float(retry_after)))
                        continue
                    return response.status_code, response.headers, self._read(response)
            except httpx.TimeoutException:
                reason = f"timed out after {s.timeout:g}s"
            except httpx.TransportError as e:
                reason = f"connection failed ({type(e).__name__}: {e})"
        raise FetchError(f"{reason} ({retries + 1} attempts)" if retries else reason)

    def _read(self, response: httpx.Response) -> bytes:
        limit = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"too large: {int(declared)} bytes is over the {limit} byte limit")
        chunks, size = [], 0
        for chunk in response.iter_bytes():  # the body as sent (gzip undone), never decoded to text
            size += len(chunk)
            if size > limit:
                raise FetchError(f"too large: over the {limit} byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    # ---- robots.txt --------------------------------------------------------------------------------------
    def _origin(self, url: str) -> str:
        p = urlsplit(url)
        return f"{p.scheme}://{p.netloc.lower()}"

    def _rules(self, url: str) -> RobotFileParser | None:
        origin = self._origin(url)
        if origin in self._robots:
            return self._robots[origin]
        rules: RobotFileParser | None = None
        try:
            status, _, body = self._get(origin + "/robots.txt", retries=1)
            if status == 200:
                rules = RobotFileParser()
                rules.parse(body.decode("utf-8", "replace").splitlines())
            elif status >= 500:
                self._blocked[origin] = f"robots.txt unavailable (HTTP {status}); not fetching from this host"
        except FetchError as e:
            self._blocked[origin] = f"robots.txt unavailable ({e}); not fetching from this host"
        self._robots[origin] = rules  # 4xx (no robots.txt): everything allowed
        return rules

    def _delay_for(self, url: str) -> float:
        rules = self._robots.get(self._origin(url))
        crawl_delay = rules.crawl_delay(self.settings.user_agent) if rules else None
        return max(self.settings.delay, float(crawl_delay or 0))

    def _check_robots(self, url: str) -> None:
        if not self.settings.robots:
            return
        rules = self._rules(url)
        blocked = self._blocked.get(self._origin(url))
        if blocked:
            raise FetchError(blocked)
        if rules is not None and not rules.can_fetch(self.settings.user_agent, url):
            raise FetchError("disallowed by robots.txt")

    # ---- saving ------------------------------------------------------------------------------------------
    def _save(self, url: str, final_url: str, content_type: str, headers: httpx.Headers, body: bytes) -> Path:
        path = target_path(self.out, final_url, content_type)
        if path.is_dir():
            path = path / ("index" + PAGE_TYPES[content_type])
        path.parent.mkdir(parents=True, exist_ok=True)
        data = body
        if PAGE_TYPES[content_type] == ".html" and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
            saved = f"<!-- saved from url=({len(final_url):04d}){final_url} -->\r\n".encode("ascii", "replace")
            bom = b"\xef\xbb\xbf" if body.startswith(b"\xef\xbb\xbf") else b""
            data = bom + saved + body[len(bom):]
        charset = _CHARSET.search(headers.get("content-type", ""))
        sidecar = {
            "url": url, "final_url": final_url, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "status": 200, "content_type": content_type, "charset": charset.group(1).lower() if charset else None,
            "last_modified": headers.get("last-modified"), "bytes": len(body),
            "sha1": hashlib.sha1(body).hexdigest(),
        }
        _write_atomic(path.with_name(path.name + ".fetch.json"),
                      json.dumps(sidecar, ensure_ascii=False, indent=1).encode("utf-8"))
        _write_atomic(path, data)  # an index run never sees half a page
        return path


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
