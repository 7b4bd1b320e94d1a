"""The server caps glibc's malloc arenas before its threads start (webapp/server.py limit_malloc_arenas): with
one arena per thread, a serving process kept memory that queries in other threads did not reuse."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import ctypes, sys, threading
import numpy as np
from webapp.server import limit_malloc_arenas
if sys.argv[1] == "capped":
    assert limit_malloc_arenas()
def work():
    for n in range(200):
        np.ones(50_000 + n).sum()  # a query's temporaries, freed again
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ctypes.CDLL(None).malloc_stats()  # one "Arena n:" block per arena, on stderr
"""


def arenas(mode: str) -> int:
    proc = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return sum(1 for line in proc.stderr.splitlines() if line.startswith("Arena "))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_threads_share_two_malloc_arenas():
    assert arenas("default") > 2  # the case the cap is for: 8 threads, more arenas
    assert arenas("capped") <= 2
