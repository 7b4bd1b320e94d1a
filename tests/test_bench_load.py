"""The load test's quick mode (bench/load/run.py --quick): 8 clients for ~5 s against `unionsearch serve` on
127.0.0.1 while a full reindex swaps in: no failed request, no total from a half-built index. The full run
(32 clients, 60 s, 10,000 pages) is on demand; its numbers are in bench/load/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT


def test_quick_load_run_during_a_reindex(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "load" / "run.py"), "--quick", "--work", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "failed requests: **0**" in proc.stdout
    assert "answers with any other total: **0**" in proc.stdout and "swap: at " in proc.stdout
