"""Run the app under waitress, in one process or several sharing one listening socket.

Searching is pure Python, so one process uses one core however many threads it has. With
``server.processes`` > 1 the parent binds the socket once, forks that many children that each run waitress
on it (the kernel hands each connection to one of them), restarts a child that dies, and stops them all on
SIGINT/SIGTERM. Children die with the parent (PR_SET_PDEATHSIG), so a killed parent leaves no orphans.
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
import signal
import socket
import sys
import time

import waitress
import waitress.parser

from indexer.config import Config
from indexer.search import warm_up
from webapp.store import KEY

_NOT_ASCII = re.compile(rb"[\x80-\xff]")


def accept_raw_utf8() -> None:
    """Answer request lines with raw UTF-8 (``curl "…/api/search?q=职工之家"``, a pasted link): waitress refuses
    non-ASCII URIs ("Bad URI"), so their bytes are percent-encoded before it splits the URI, as a browser does.
    Flask then reads the query as UTF-8. Idempotent."""
    split_uri = waitress.parser.split_uri
    if getattr(split_uri, "accepts_raw_utf8", False):
        return

    def split_encoded(uri: bytes):
        return split_uri(_NOT_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], uri))

    split_encoded.accepts_raw_utf8 = True  # type: ignore[attr-defined]
    waitress.parser.split_uri = split_encoded


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (what MALLOC_ARENA_MAX=2 does) before the server's threads start: by default
    each thread that allocates gets an arena of its own, and the numpy arrays of a query, freed in one thread's
    arena, leave memory the next query in another thread does not reuse. At 10,000 pages with 4 threads a
    serving process grew to 286–302 MB RSS after 650 queries, and to 258–263 MB with 2 arenas, at the same
    speed (bench/query_speed.py, eleventh session). True when the cap was set (glibc only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def serve(app, config: Config, echo=print) -> None:
    """Serve ``app`` until interrupted (raises OSError when the address is taken)."""
    accept_raw_utf8()
    limit_malloc_arenas()
    warm_up(app.extensions[KEY])
    s = config.server
    if s.process_count <= 1:
        waitress.serve(app, host=s.host, port=s.port, threads=s.threads, ident="unionsearch")
        return
    sock = _bind(s.host, s.port)
    gc.freeze()  # objects made so far stay shared with the children (copy-on-write) instead of being touched

    def start_child() -> int:
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                waitress.serve(app, sockets=[sock], threads=s.threads, ident="unionsearch")
            finally:
                os._exit(0)
        return pid

    children = {start_child() for _ in range(s.process_count)}
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid in children:
                children.discard(pid)
                if not stopping:
                    echo(f"server process {pid} exited (status {status}); starting another")
                    time.sleep(0.5)
                    children.add(start_child())
            time.sleep(0.2)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        sock.close()
