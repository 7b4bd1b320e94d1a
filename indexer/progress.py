"""Progress of a long run: a tqdm bar on a terminal, plain lines every few seconds in a log, or nothing."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


class Progress:
    """A tqdm bar (pages/s, ETA) on a terminal; plain log lines every few seconds otherwise; or nothing."""

    def __init__(self, total: int, enabled: bool = True, stream=None, tty: bool | None = None,
                 every: float = 5.0, desc: str = "indexing"):
        self.stream = stream or sys.stderr
        tty = self.stream.isatty() if tty is None else tty
        self.total, self.done, self.every, self.desc = total, 0, every, desc
        self.started = self.last = time.perf_counter()
        self.bar = None
        self.plain = enabled and not tty and total > 0
        if enabled and tty and total > 0:
            self.bar = tqdm(total=total, unit="page", file=self.stream, dynamic_ncols=True, desc=desc,
                            smoothing=0.1)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.plain:
            now = time.perf_counter()
            if now - self.last >= self.every and self.done < self.total:
                self.last = now
                print(self._line(now), file=self.stream, flush=True)

    def _line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0
        return f"{self.desc}: {self.done}/{self.total} pages ({rate:.1f} pages/s, ETA {eta:.0f}s)"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.plain and self.done:
            print(self._line(time.perf_counter()), file=self.stream, flush=True)
        self.bar, self.plain = None, False


# ---- workers ----------------------------------------------------------------------------------------------------
