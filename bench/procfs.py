"""Figures of a process and its descendants from Linux's /proc, for the benchmarks (elsewhere: empty)."""

from __future__ import annotations

import os
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """The process and every descendant still running."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            children = [int(c) for task in Path(f"/proc/{p}/task").iterdir()
                        for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
        out.append(p)
        todo += children
    return out


def tree_rss_mb(pid: int) -> float:
    """Resident memory of the tree, in MB."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:")))
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of the tree."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")
