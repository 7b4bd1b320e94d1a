"""Crashes and faults while indexing, as a user meets them: `unionsearch index` killed with SIGKILL at random
points (incremental and --full), two runs at once, a read-only index folder and a full disk. Each time the
previous index keeps serving (never a half-applied run), the next `unionsearch index` recovers without manual
clean-up, and nothing in the source folder changes. (tests/test_incremental.py covers the in-process cases:
an exception mid-run and a killed Whoosh writer.)"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.backends import open_store
from indexer.search import SearchOptions, search

from helpers import ROOT, SCRAPED, make_config

BIN = Path(sys.executable).parent / "unionsearch"
SEED = int(os.environ.get("CRASH_SEED", random.randrange(10**6)))


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: content hash and mtime (what "unchanged" means)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def start(*args, **kw) -> subprocess.Popen:
    """`unionsearch ARGS` in its own session (so its workers can be found and ended by process group)."""
    return subprocess.Popen([str(BIN), *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, **kw)


def run(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def end_group(proc: subprocess.Popen) -> None:
    """SIGKILL what is left of a run we started (its orphaned workers share its process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()  # reaps it and closes its pipes


def served(index: Path, source: Path) -> tuple[set[str], int]:
    """What a freshly started server would see: (sources, total for a fixed query). Fails on any error."""
    config = make_config(index.parent, source, index_dir=str(index), cache_dir=str(ROOT / "var" / "cache"))
    store = open_store(config)
    result = search(store, "工会", SearchOptions(per_page=5, snippets=False))
    return set(store.sources()), result.total


_corpus_seconds = [10.0]


@pytest.fixture
def corpus(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from make_corpus import make_corpus

    make_corpus(48, tmp_path / "all")
    pages = sorted(p for p in (tmp_path / "all").rglob("*") if p.is_file())
    src = tmp_path / "src"
    for p in pages[:36]:
        dest = src / p.relative_to(tmp_path / "all")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest)
    index = tmp_path / "index"
    started = time.perf_counter()
    proc = run("index", "--source", src, "--index", index, "--workers", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    _corpus_seconds[:] = [time.perf_counter() - started]  # how long a full run takes here: kills land within it
    return src, index, [p for p in pages[36:]]


def change_corpus(src: Path, spare: list[Path], rng: random.Random) -> None:
    """Add two pages, change one, delete one."""
    for p in (spare.pop(), spare.pop()):
        shutil.copy2(p, src / p.name)
    files = sorted(p for p in src.rglob("*") if p.is_file())
    victim, edited = rng.sample(files, 2)
    victim.unlink()
    edited.write_bytes(edited.read_bytes().replace("工会".encode(), "工会组织".encode(), 1))


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_kill_9_at_random_points(corpus, mode):
    """Three SIGKILLs at random moments of a run (seed printed; CRASH_SEED=N replays): the index a server opens
    is the old one or the new one, never a mix; the next plain run brings it up to date; the pages are as
    the test left them."""
    src, index, spare = corpus
    rng = random.Random(f"{SEED}-{mode}")
    print(f"CRASH_SEED={SEED}")
    duration = _corpus_seconds[0]
    for attempt in range(3):
        before, _ = served(index, src)
        if mode == "incremental":
            change_corpus(src, spare, rng)
        pages = snapshot(src)
        expected_after = {p for p in pages}
        args = ["index", "--source", src, "--index", index, "--workers", "1"] + (["--full"] if mode == "full" else [])
        proc = start(*args)
        delay = rng.uniform(0.1, 1.0) * duration
        try:
            proc.wait(delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)  # the indexer itself, as the OOM killer or `kill -9 PID` would
        finally:
            end_group(proc)
        killed = proc.returncode == -signal.SIGKILL
        now, _ = served(index, src)
        assert now in (before, expected_after), f"attempt {attempt}, killed after {delay:.1f}s: a half-applied run"
        assert snapshot(src) == pages, "the source folder changed"
        again = run("index", "--source", src, "--index", index, "--workers", "1")
        assert again.returncode == 0, f"attempt {attempt} (killed={killed} after {delay:.1f}s): {again.stderr}"
        assert served(index, src)[0] == expected_after
        assert snapshot(src) == pages
        leftovers = [p.name for p in index.iterdir() if p.name not in ("CURRENT", "build.lock")
                     and not p.name.startswith("gen-")]
        assert not leftovers or all(p.endswith(".tmp") for p in leftovers), leftovers
    # A killed --full leaves its half-built generation until the next run removes it; then only the live
    # generation and the previous one are left.
    if mode == "full":
        assert run("index", "--source", src, "--index", index, "--workers", "1", "--full").returncode == 0
        assert len(list(index.glob("gen-*"))) <= 2


def test_next_run_removes_the_generation_a_killed_full_run_left(corpus):
    src, index, _ = corpus
    live = _live(index)
    proc = start("index", "--source", src, "--index", index, "--workers", "1", "--full")
    try:
        deadline = time.monotonic() + 60
        while not [g for g in index.glob("gen-*") if g != live]:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        end_group(proc)
    assert run("index", "--source", src, "--index", index, "--workers", "1").returncode == 0
    # Only the live generation is left (the old one, unless the killed run had already flipped to its own).
    assert [g.name for g in index.glob("gen-*")] == [_live(index).name]


def test_killed_parallel_run_releases_the_lock(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from make_corpus import make_corpus

    make_corpus(160, tmp_path / "src")
    src, index = tmp_path / "src", tmp_path / "index"
    assert run("index", "--source", src, "--index", index, "--workers", "2", "--quiet").returncode == 0
    live = _live(index)
    proc = start("index", "--source", src, "--index", index, "--workers", "2", "--full")
    try:
        deadline = time.monotonic() + 60
        while not [g for g in index.glob("gen-*") if g != live]:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(2.0)  # the workers are forked and busy
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        os.killpg(proc.pid, 0)  # raises ProcessLookupError if no worker outlived the parent
        again = run("index", "--source", src, "--index", index, "--workers", "2", "--quiet")
        assert again.returncode == 0, again.stderr
    finally:
        end_group(proc)


def _live(index: Path) -> Path | None:
    try:
        return index / (index / "CURRENT").read_text().strip()
    except OSError:
        return None


def test_two_runs_at_once(corpus):
    """The second run stops at once with one clear line; the first finishes; the index is whole."""
    src, index, _ = corpus
    from make_corpus import make_corpus

    # Enough pages that the first run still holds the lock when the second one has started (a few seconds).
    make_corpus(400, src / "more")
    pages = snapshot(src)
    live = _live(index)
    first = start("index", "--source", src, "--index", index, "--workers", "1", "--full")
    try:
        deadline = time.monotonic() + 60
        while not [g for g in index.glob("gen-*") if g != live]:  # the first run holds the lock from here on
            assert time.monotonic() < deadline and first.poll() is None, first.stderr.read() if first.stderr else ""
            time.sleep(0.05)
        second = run("index", "--source", src, "--index", index, "--workers", "1")
        out, err = first.communicate(timeout=120)
    finally:
        end_group(first)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"Error: another `unionsearch index` is writing {index}; try again when it ends"]
    assert first.returncode == 0, err
    assert served(index, src)[0] == set(pages) and snapshot(src) == pages
    assert run("index", "--source", src, "--index", index, "--workers", "1").returncode == 0


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs (root only; skipped elsewhere: see test_disk_full_in_process for the portable check)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _remount(mnt: Path, options: str) -> None:
    proc = subprocess.run(["mount", "-o", f"remount,{options}", str(mnt)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _used(mnt: Path) -> int:
    st = os.statvfs(mnt)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def test_disk_full_keeps_the_old_index(corpus, tmpfs):
    """An index folder on a tmpfs just big enough for one generation: --full runs out of space half way."""
    src, _, spare = corpus
    pages = snapshot(src)
    index = tmpfs / "index"
    assert run("index", "--source", src, "--index", index, "--workers", "1", "--quiet").returncode == 0
    before = served(index, src)
    gen = _live(index)
    _remount(tmpfs, f"size={int(_used(tmpfs) * 1.4) // 4096 * 4096 + 4096}")
    proc = run("index", "--source", src, "--index", index, "--workers", "1", "--full", "--quiet")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: cannot write the index in {index}: No space left on device"]
    assert _live(index) == gen and served(index, src) == before and snapshot(src) == pages
    assert [g for g in index.glob("gen-*")] == [gen]  # the half-written generation was removed
    for p in (spare.pop(), spare.pop()):  # an update on the full disk fails cleanly too, or fits
        shutil.copy2(p, src / p.name)
    proc = run("index", "--source", src, "--index", index, "--workers", "1", "--quiet")
    assert proc.returncode in (0, 1) and len(proc.stderr.strip().splitlines()) <= 1, proc.stderr
    assert served(index, src)[0] in (before[0], set(snapshot(src)))
    _remount(tmpfs, "size=64m")  # space again: the next run recovers by itself
    proc = run("index", "--source", src, "--index", index, "--workers", "1", "--full")
    assert proc.returncode == 0, proc.stderr
    assert served(index, src)[0] == set(snapshot(src))


def test_read_only_index_folder(corpus, tmpfs):
    src, _, spare = corpus
    index = tmpfs / "index"
    assert run("index", "--source", src, "--index", index, "--workers", "1", "--quiet").returncode == 0
    before = served(index, src)
    _remount(tmpfs, "ro")
    shutil.copy2(spare.pop(), src)
    for extra in ([], ["--full"]):
        proc = run("index", "--source", src, "--index", index, "--workers", "1", "--quiet", *extra)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: cannot write the index in {index}: ")
        assert "Read-only file system" in lines[0]
    assert served(index, src) == before  # searching a read-only index works
    got = run("search", "工会", "--index", index, "--limit", "1")
    assert got.returncode == 0 and got.stdout.split()[1] == "results"


def test_disk_full_in_process(tmp_path, monkeypatch):
    """Without root: every write into the index folder fails with ENOSPC once the first build is done."""
    from click.testing import CliRunner

    from webapp.cli import cli

    src = tmp_path / "src"
    src.mkdir()
    for name in ("dev01.html", "dev02.html", "dev05.html"):
        shutil.copy2(SCRAPED / name, src)
    index = tmp_path / "index"
    args = ["index", "--source", str(src), "--index", str(index), "--workers", "1", "--quiet"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = served(index, src)
    real_open = open

    def full_open(file, mode="r", *a, **kw):
        if any(c in mode for c in "wax+") and str(file).startswith(str(index)) and not str(file).endswith(".lock"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real_open(file, mode, *a, **kw)

    monkeypatch.setattr("builtins.open", full_open)
    monkeypatch.setattr(os, "mkdir", lambda *a, **kw: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    shutil.copy2(SCRAPED / "dev03.html", src)  # something to write for the incremental run
    for extra in ([], ["--full"]):
        result = CliRunner().invoke(cli, args + extra)
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [
            f"Error: cannot write the index in {index}: No space left on device"], result.output
    monkeypatch.setattr("builtins.open", real_open)
    monkeypatch.undo()
    assert served(index, src) == before
    assert CliRunner().invoke(cli, args + ["--full"]).exit_code == 0
