"""Incremental and atomic reindexing on real pages: only changed pages are re-cleaned, deleted pages leave,
a settings change rebuilds, a rebuild swaps in under running searches, a crash or a kill -9 leaves the last
good index serving, and progress output suits the terminal."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import indexer.workers as workers
from indexer.backends import open_store
from indexer.backends.base import LockBusy
from indexer.build import index_corpus
from indexer.manifest import MANIFEST_FILE, Manifest
from indexer.progress import Progress
from indexer.search import SearchOptions, search

from helpers import ROOT, SCRAPED, corpus_of, make_config, seed, wait_for

PAGES = ["dev01.html", "dev02.html", "dev05.html"]


@pytest.fixture
def corpus(tmp_path):
    config, src = corpus_of(tmp_path, PAGES)
    shutil.copy(seed("003"), src / "sub_003.txt")
    return config, open_store(config)


def sources(store) -> set[str]:
    return set(store.sources())


def run(config, store, **kw):
    return index_corpus(config, store, workers=1, progress=False, **kw)


def test_first_run_is_full_then_nothing_to_do(corpus):
    config, store = corpus
    first = index_corpus(config, store, workers=2, progress=False)
    assert first.mode == "full" and first.reason == "no index yet" and first.indexed == 4
    assert not list(store.current_generation().glob("*.tmp")), "workers left their scratch folders in the index"
    assert sources(store) == {*PAGES, "sub_003.txt"}
    again = run(config, store)
    assert again.mode == "unchanged" and again.pages == 0 and again.unchanged == 4
    meta = store.stats()
    assert meta["indexed_pages"] == 4 and meta["fingerprint"] == Manifest.from_json(
        store.read_file(MANIFEST_FILE)).fingerprint


def test_new_changed_deleted_renamed(corpus, monkeypatch):
    config, store = corpus
    run(config, store)
    gen = store.current_generation()
    src = config.source_path
    before = dict(store.sources())
    shutil.copy(SCRAPED / "dev03.html", src)  # new
    (src / "dev01.html").write_bytes((src / "dev01.html").read_bytes().replace("工会".encode(), "协会".encode(), 1))
    (src / "dev02.html").unlink()  # deleted
    (src / "sub_003.txt").rename(src / "moved_003.txt")  # renamed
    os.utime(src / "dev05.html", ns=(1, 1))  # touched, same bytes
    cleaned: list[str] = []
    real = workers.process_file
    monkeypatch.setattr(workers, "process_file", lambda path, *a: cleaned.append(Path(path).name) or real(path, *a))
    report = run(config, store)
    assert report.mode == "incremental" and store.current_generation() == gen  # updated in place, one commit
    assert (report.new, report.changed, report.deleted, report.renamed) == (2, 1, 2, 1)
    assert sorted(cleaned) == ["dev01.html", "dev03.html", "moved_003.txt"]  # dev05 was not re-cleaned
    after = store.sources()
    assert set(after) == {"dev01.html", "dev03.html", "dev05.html", "moved_003.txt"}
    assert after["dev05.html"] == before["dev05.html"] and after["moved_003.txt"] == before["sub_003.txt"]
    assert "dev05.html" in Manifest.from_json(store.read_file(MANIFEST_FILE)).entries
    assert not list(gen.glob("*.tmp")), "writers left their scratch folders in the index"
    assert run(config, store).mode == "unchanged"


def test_settings_change_forces_a_full_rebuild(corpus, tmp_path):
    config, store = corpus
    run(config, store)
    changed = make_config(tmp_path, config.source_path, analysis={"synonyms": [["工会", "职工会"]]})
    report = run(changed, open_store(changed))
    assert report.mode == "full" and "settings changed" in report.reason and report.pages == 4


def test_full_flag_rebuilds_into_a_new_generation(corpus):
    config, store = corpus
    run(config, store)
    old = store.current_generation()
    report = run(config, store, full=True)
    assert report.mode == "full" and store.current_generation() != old
    assert sources(store) == {*PAGES, "sub_003.txt"}


def test_crash_during_a_rebuild_leaves_the_old_index(corpus, monkeypatch):
    config, store = corpus
    run(config, store)
    live = store.current_generation()
    calls = []

    def dies(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the run were stopped mid-way
        return real(*args)

    real = workers.process_file
    monkeypatch.setattr(workers, "process_file", dies)
    with pytest.raises(KeyboardInterrupt):
        run(config, store, full=True)
    assert store.current_generation() == live and [p.name for p in store.dir.glob("gen-*")] == [live.name]
    assert sources(store) == {*PAGES, "sub_003.txt"}
    (config.source_path / "dev01.html").unlink()
    with pytest.raises(KeyboardInterrupt):  # and in the middle of an update
        calls.clear()
        shutil.copy(SCRAPED / "dev03.html", config.source_path)
        shutil.copy(SCRAPED / "dev04.html", config.source_path)
        shutil.copy(SCRAPED / "dev06.html", config.source_path)
        run(config, store)
    assert sources(store) == {*PAGES, "sub_003.txt"}  # nothing of the half-done update is visible
    monkeypatch.setattr(workers, "process_file", real)
    report = run(config, store)  # the next run finishes the job
    assert report.mode == "incremental"
    assert sources(store) == {"dev02.html", "dev03.html", "dev04.html", "dev05.html", "dev06.html", "sub_003.txt"}


KILLED_WRITER = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from helpers import make_config
from indexer.backends import open_store
from pathlib import Path
config = make_config(Path({tmp!r}), Path({src!r}))
store = open_store(config)
with store.lock():
    writer = store._open().writer()  # Whoosh's own write lock too
    writer.add_document(doc_id="half", source="half")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_run_leaves_no_stale_lock(corpus, tmp_path):
    config, store = corpus
    run(config, store)
    code = KILLED_WRITER.format(tests=str(ROOT / "tests"), tmp=str(tmp_path), src=str(config.source_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT)
    assert proc.returncode == -9, proc.stderr.decode()
    shutil.copy(SCRAPED / "dev03.html", config.source_path)
    report = run(config, store)  # fcntl locks died with the process: no LockBusy, no Whoosh LockError
    assert report.mode == "incremental" and "dev03.html" in sources(store) and "half" not in sources(store)


def test_second_writer_is_refused(corpus):
    config, store = corpus
    with store.lock(), pytest.raises(LockBusy, match="another `unionsearch index`"):
        run(config, store)


def test_swap_under_running_searches(corpus, tmp_path):
    config, store = corpus
    run(config, store)
    old = {*PAGES, "sub_003.txt"}
    new_src = tmp_path / "new"
    new_src.mkdir()
    for name in ("dev03.html", "dev04.html", "dev06.html"):
        shutil.copy(SCRAPED / name, new_src)
    new = {"dev03.html", "dev04.html", "dev06.html"}
    seen: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def searching():
        reader = open_store(config)  # as the server: its own store, a searcher per thread, refreshed
        while not stop.is_set():
            try:
                got = {h.record.source for h in search(reader, "工会", SearchOptions(per_page=20, snippets=False)).hits}
                if not got:
                    raise AssertionError("a search found nothing")
            except BaseException as e:  # noqa: BLE001 - any error fails the test (an assert here would not)
                errors.append(e)
                return
            seen.append("old" if got <= old else "new" if got <= new else f"mixed {got}")

    thread = threading.Thread(target=searching)
    thread.start()
    try:
        wait_for(lambda: len(seen) >= 3 or not thread.is_alive(), timeout=60, every=0.01,
                 what="three searches of the old index")
        new_config = make_config(tmp_path, new_src)
        run(new_config, open_store(new_config), full=True)
        count = len(seen)
        wait_for(lambda: len(seen) >= count + 3 or not thread.is_alive(), timeout=60, every=0.01,
                 what="three searches after the swap")
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert seen[0] == "old" and seen[-1] == "new"
    flips = [i for i in range(1, len(seen)) if seen[i] != seen[i - 1]]
    assert len(flips) == 1 and set(seen) == {"old", "new"}  # old, then new, never mixed, never back


def test_progress_is_plain_lines_when_not_a_tty(corpus):
    config, store = corpus
    out = io.StringIO()
    bar = Progress(3, enabled=True, stream=out, every=0)
    for _ in range(3):
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("indexing: ") and "pages/s" in line for line in lines)
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    out = io.StringIO()
    index_corpus(config, store, workers=1, progress=False, stream=out)
    assert out.getvalue() == ""


def test_progress_bar_on_a_tty(corpus):
    out = io.StringIO()
    bar = Progress(5, enabled=True, stream=out, tty=True)
    bar.update(5)
    bar.close()
    assert "5/5" in out.getvalue() and "page/s" in out.getvalue()


def test_parallel_workers_write_one_index(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from make_corpus import make_corpus

    make_corpus(40, tmp_path / "c")
    config = make_config(tmp_path, tmp_path / "c")
    store = open_store(config)
    report = index_corpus(config, store, workers=2, progress=False)
    assert report.indexed == 40 and store.stats()["segments"] >= 2
    assert len(store.sources()) == 40
    assert search(store, "职代会", SearchOptions(snippets=False)).total > 0
