"""Logging for the commands: one logger per module (``logging.getLogger(__name__)``), configured here once.

Everything from INFO up goes to ``<log_dir>/unionsearch.log`` (an internal error with its traceback, so a page
that broke the cleaner can be debugged); the terminal gets the same lines only with ``--verbose``, otherwise
just the command's own report."""

from __future__ import annotations

import logging
from pathlib import Path

LOG_FILE = "unionsearch.log"
_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_OURS = ("indexer", "webapp")


def configure(log_dir: Path | None, verbose: bool = False) -> Path | None:
    """Send our loggers to the log file (and the terminal with ``verbose``). Returns the log file, or None
    when it cannot be written (a read-only checkout still runs). Calling it again replaces the handlers."""
    handlers: list[logging.Handler] = []
    log_file = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(log_dir / LOG_FILE, encoding="utf-8", delay=True))
            log_file = log_dir / LOG_FILE
        except OSError:
            log_file = None
    if verbose:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
    for name in _OURS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
            old.close()
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbose else logging.INFO)
        logger.propagate = False
    return log_file
