"""Run a fuzz target with atheris (coverage-guided, libFuzzer) or, without it, with hypothesis.

    python fuzz/fuzz_load.py [libFuzzer options] [corpus dir]   # atheris, e.g. -max_total_time=3600
    python fuzz/fuzz_load.py --hypothesis 100000                # fallback: N random inputs, no atheris needed

A target is ``one_input(data: bytes)``; it raises only for a bug (any exception other than the ones the code
under test promises), and libFuzzer/hypothesis save the input that did it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def run(one_input: Callable[[bytes], None], argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if "--hypothesis" in argv:
        i = argv.index("--hypothesis")
        runs = int(argv[i + 1]) if len(argv) > i + 1 else 1000
        return run_hypothesis(one_input, runs)
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris); falling back to hypothesis", file=sys.stderr)
        return run_hypothesis(one_input, 10_000)
    atheris.instrument_all()
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def run_hypothesis(one_input: Callable[[bytes], None], runs: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=runs, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=4096))
    def check(data: bytes) -> None:
        one_input(data)

    check()
    print(f"{runs} inputs, no failure", file=sys.stderr)
