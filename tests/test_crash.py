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
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.backends import open_store
from indexer.search import SearchOptions, search

from helpers import ROOT, SCRAPED, make_config, wait_for

BIN = Path(sys.executable).parent / "unionsearch"
SEED = int(os.environ.get("CRASH_SEED", random.randrange(10**6)))  # CRASH_SEED=N replays a run's kill points


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: content hash and mtime (what "unchanged" means)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def start(*args, **kw) -> subprocess.Popen:
    """`unionsearch ARGS` in its own session (so its workers can be found and ended by process group)."""
    return subprocess.Popen([str(BIN), *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, **kw)


def run(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def end_group(proc: subprocess.Popen) -> None:
    """SIGKILL what is left of a run we started (its orphaned workers share its process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()  # reaps it and closes its pipes


def holds_index_lock(index: Path, pid: int) -> bool:
    """Whether process ``pid`` holds the index's write lock, the flock on build.lock that `unionsearch index` takes
    before it plans and keeps until it has committed: while it holds it, the run is writing (as /proc/locks says,
    without touching the lock ourselves)."""
    try:
        inode = str((index / "build.lock").stat().st_ino)
    except FileNotFoundError:
        return False
    with open("/proc/locks", encoding="ascii") as fh:
        for line in fh:
            fields = line.replace("->", " ").split()  # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"
            if (len(fields) >= 6 and fields[1] == "FLOCK" and fields[4] == str(pid)
                    and fields[5].rsplit(":", 1)[-1] == inode):
                return True
    return False


POLL = 0.005  # seconds between looks at /proc/locks


def run_watched(index: Path, *args, timeout: float = 300) -> tuple[int, str, float]:
    """`unionsearch ARGS` to its end: (exit code, stderr, seconds it held the index lock)."""
    proc = start(*args)
    first = last = None
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            assert time.monotonic() < deadline, f"`unionsearch {' '.join(map(str, args))}` still running"
            if holds_index_lock(index, proc.pid):
                last = time.monotonic()
                first = first or last
            time.sleep(POLL)
        _, err = proc.communicate()
    finally:
        end_group(proc)
    return proc.returncode, err, (last - first) if first else 0.0


def kill_while_writing(proc: subprocess.Popen, index: Path, delay: float) -> tuple[bool, float, str]:
    """SIGKILL the run ``delay`` seconds after it took the index lock, provided it is still running and still
    holds the lock then. Returns (killed, seconds since it took the lock, stderr); a run that took no lock or
    finished first is not killed but waited for."""
    wait_for(lambda: proc.poll() is not None or holds_index_lock(index, proc.pid), timeout=120, every=POLL / 2,
             what="the run to take the index lock")
    taken = time.monotonic()
    while proc.poll() is None and holds_index_lock(index, proc.pid):
        if time.monotonic() - taken >= delay:
            os.kill(proc.pid, signal.SIGKILL)  # the indexer itself, as the OOM killer or `kill -9 PID` would
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == -signal.SIGKILL, f"the kill did not land: exit code {proc.returncode}"
            return True, time.monotonic() - taken, err
        time.sleep(POLL)
    held = time.monotonic() - taken
    _, err = proc.communicate(timeout=120)  # it finished writing first: let it end by itself
    return False, held, err


def served(index: Path, source: Path) -> tuple[set[str], int]:
    """What a freshly started server would see: (sources, total for a fixed query). Fails on any error."""
    config = make_config(index.parent, source, index_dir=str(index), cache_dir=str(ROOT / "var" / "cache"))
    store = open_store(config)
    result = search(store, "工会", SearchOptions(per_page=5, snippets=False))
    return set(store.sources()), result.total


_lock_seconds = [3.0]  # how long the corpus fixture's full run held the index lock here


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
    code, err, held = run_watched(index, "index", "--source", src, "--index", index, "--workers", "1", "--quiet")
    assert code == 0 and held > 0, err
    _lock_seconds[:] = [held]  # how long a full run writes here: kills land within it
    return src, index, [p for p in pages[36:]]


CHANGED = 6  # pages an incremental run re-indexes: edited ones, plus two new while spare pages last


def change_corpus(src: Path, spare: list[Path], rng: random.Random) -> None:
    """Add two pages (while there are spare ones), change six, delete one."""
    for p in spare[-2:]:
        shutil.copy2(p, src / p.name)
    del spare[-2:]
    files = sorted(p for p in src.rglob("*") if p.is_file())
    victim, *edited = rng.sample(files, 1 + CHANGED)
    victim.unlink()
    for page in edited:
        page.write_bytes(page.read_bytes().replace("工会".encode(), "工会组织".encode(), 1))


KILLS = 3
MAX_RUNS = 8


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_kill_9_at_random_points(corpus, mode):
    """Three SIGKILLs at random moments while a run writes, i.e. holds the index lock (the seed is printed and in
    every message; CRASH_SEED=N replays the same fractions of the writing time): the index a server opens is
    the old one or the new one, never a mix; the next plain run brings it up to date; the pages are as the test
    left them. A run that finishes before its kill point counts as no kill (the kill window shrinks to what a
    run takes here), and the test fails unless three kills landed."""
    src, index, spare = corpus
    rng = random.Random(f"{SEED}-{mode}")
    print(f"CRASH_SEED={SEED}")
    # How long a run holds the lock: a full run as long as the fixture's; an update in proportion to its pages.
    window = _lock_seconds[0] * (1.0 if mode == "full" else (CHANGED + 2) / 36)
    kills: list[str] = []
    runs = 0
    while len(kills) < KILLS:
        runs += 1
        assert runs <= MAX_RUNS, f"CRASH_SEED={SEED} {mode}: only {len(kills)} of {MAX_RUNS} runs were killed " \
                                 f"while writing ({kills})"
        before, _ = served(index, src)
        if mode == "incremental":
            change_corpus(src, spare, rng)
        pages = snapshot(src)
        expected_after = set(pages)
        args = ["index", "--source", src, "--index", index, "--workers", "1"] + (["--full"] if mode == "full" else [])
        fraction = rng.random()
        proc = start(*args)
        try:
            killed, held, err = kill_while_writing(proc, index, fraction * window)
        finally:
            end_group(proc)
        where = (f"CRASH_SEED={SEED} {mode} run {runs}: {'killed' if killed else 'not killed'} {held:.2f}s after "
                 f"taking the lock (aimed at {fraction:.2f} of {window:.2f}s)")
        if killed:
            kills.append(f"{held:.2f}s")
        else:  # the run finished first: it must have succeeded, and later kills aim within what it took
            assert proc.returncode == 0, f"{where}: {err}"
            window = 0.8 * held if held else window / 2
        now, _ = served(index, src)
        assert now in (before, expected_after), f"{where}: a half-applied run"
        assert snapshot(src) == pages, f"{where}: the source folder changed"
        again = run("index", "--source", src, "--index", index, "--workers", "1")
        assert again.returncode == 0, f"{where}: {again.stderr}"
        assert served(index, src)[0] == expected_after, where
        assert snapshot(src) == pages, where
        leftovers = [p.name for p in index.iterdir() if p.name not in ("CURRENT", "build.lock")
                     and not p.name.startswith("gen-")]
        assert all(p.endswith(".tmp") for p in leftovers), (where, leftovers)
    print(f"{mode}: {KILLS} kills in {runs} runs, at {', '.join(kills)} after the run took the lock")
    # A killed --full leaves its half-built generation until the next run removes it; then only the live
    # generation and the previous one are left.
    if mode == "full":
        assert run("index", "--source", src, "--index", index, "--workers", "1", "--full").returncode == 0
        assert len(list(index.glob("gen-*"))) <= 2


def new_generation(index: Path, live: Path | None, proc: subprocess.Popen) -> list[Path]:
    """Generations other than ``live`` (a --full run creates its own once it holds the lock); fails the test if
    the run ended first."""
    assert proc.poll() is None, f"the run ended (exit code {proc.returncode}) before it started a generation"
    return [g for g in index.glob("gen-*") if g != live]


def test_next_run_removes_the_generation_a_killed_full_run_left(corpus):
    src, index, _ = corpus
    live = _live(index)
    proc = start("index", "--source", src, "--index", index, "--workers", "1", "--full")
    try:
        wait_for(lambda: new_generation(index, live, proc), timeout=120, what="the --full run's new generation")
        time.sleep(0.1)
        assert proc.poll() is None and holds_index_lock(index, proc.pid), "the run finished before the kill"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
        assert proc.returncode == -signal.SIGKILL
        assert [g for g in index.glob("gen-*") if g != live], "the killed run left no generation to clean up"
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
        wait_for(lambda: new_generation(index, live, proc), timeout=120, what="the --full run's new generation")
        # The workers are forked (they share the lock's open file) and busy.
        wait_for(lambda: new_generation(index, live, proc) and len(group_members(proc.pid)) >= 3, timeout=120,
                 what="two forked workers")
        workers = set(group_members(proc.pid)) - {proc.pid}
        assert holds_index_lock(index, proc.pid), "the run finished before the kill"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
        assert proc.returncode == -signal.SIGKILL
        # The workers die with their parent (PR_SET_PDEATHSIG): none keeps the lock's file open.
        wait_for(lambda: not set(group_members(proc.pid)) & workers, timeout=60, what="the orphaned workers to end")
        again = run("index", "--source", src, "--index", index, "--workers", "2", "--quiet")
        assert again.returncode == 0, again.stderr
    finally:
        end_group(proc)


def group_members(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that are still running (not zombies), from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
        if int(pgrp) == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


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
        # The first run holds the lock from the moment its generation exists.
        wait_for(lambda: new_generation(index, live, first), timeout=120, what="the first run's new generation")
        second = run("index", "--source", src, "--index", index, "--workers", "1")
        out, err = first.communicate(timeout=300)
    finally:
        end_group(first)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"Error: another `unionsearch index` is writing {index}; try again when it ends"]
    assert first.returncode == 0, err
    assert served(index, src)[0] == set(pages)
    assert snapshot(src) == pages
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
    if proc.returncode == 0:  # the two pages fitted
        assert served(index, src)[0] == set(snapshot(src)), proc.stdout
    else:
        assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
            f"Error: cannot write the index in {index}: No space left on device"], proc.stderr
        assert served(index, src)[0] == before[0]
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
    assert got.returncode == 0 and re.match(r"(about )?\d+ documents, \d+ sections", got.stdout), got.stdout[:200]


def test_disk_full_in_process(tmp_path, monkeypatch, runner):
    """Without root: every write into the index folder fails with ENOSPC once the first build is done."""
    from webapp.cli import cli

    src = tmp_path / "src"
    src.mkdir()
    for name in ("dev01.html", "dev02.html", "dev05.html"):
        shutil.copy2(SCRAPED / name, src)
    index = tmp_path / "index"
    args = ["index", "--source", str(src), "--index", str(index), "--workers", "1", "--quiet"]
    assert runner.invoke(cli, args).exit_code == 0
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
        result = runner.invoke(cli, args + extra)
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [
            f"Error: cannot write the index in {index}: No space left on device"], result.output
    monkeypatch.setattr("builtins.open", real_open)
    monkeypatch.undo()
    assert served(index, src) == before
    assert runner.invoke(cli, args + ["--full"]).exit_code == 0
