"""Manifest logic: what an indexing run has to do (new, changed, deleted, renamed, settings change)."""

from __future__ import annotations

from pathlib import Path

from indexer.backends.whoosh.schema import FORMAT_VERSION
from indexer.manifest import Entry, Manifest, Stat, plan, settings_fingerprint

from helpers import make_config

ROOT = Path("/corpus")


def manifest(**entries: tuple[int, int, str]) -> Manifest:
    return Manifest("fp", {k.replace("_", "/"): Entry(*v) for k, v in entries.items()})


def hasher(shas: dict[str, str]):
    return lambda path: shas[Path(path).relative_to(ROOT).as_posix()]


def fingerprint_of(config):
    return settings_fingerprint(config, FORMAT_VERSION)


def test_no_manifest_or_asked_for_means_full():
    assert plan(None, {"a.html": Stat(1, 1)}, "fp", ROOT).full
    p = plan(manifest(a=(1, 1, "x")), {"a.html": Stat(1, 1)}, "fp", ROOT, full=True)
    assert p.full and p.new == ["a.html"] and p.reason == "asked for a full rebuild"


def test_settings_change_means_full():
    p = plan(manifest(a=(1, 1, "x")), {"a": Stat(1, 1)}, "other", ROOT)
    assert p.full and "settings changed" in p.reason


def test_new_changed_deleted_unchanged():
    old = manifest(a=(10, 1, "sha-a"), b=(20, 1, "sha-b"), c=(30, 1, "sha-c"))
    now = {"a": Stat(10, 1), "b": Stat(21, 2), "d": Stat(5, 1)}
    p = plan(old, now, "fp", ROOT, hasher=hasher({"b": "sha-b2", "d": "sha-d"}))
    assert not p.full
    assert (p.new, p.changed, p.deleted, p.unchanged) == (["d"], ["b"], ["c"], ["a"])
    assert p.to_index == ["d", "b"] and set(p.to_delete) == {"b", "c", "d"}


def test_touched_file_with_same_bytes_is_unchanged():
    p = plan(manifest(a=(10, 1, "sha-a")), {"a": Stat(10, 99)}, "fp", ROOT, hasher=hasher({"a": "sha-a"}))
    assert p.unchanged == ["a"] and p.touched == {"a": Stat(10, 99)} and p.nothing_to_do()


def test_rename_is_a_delete_plus_a_new_page_and_is_reported():
    p = plan(manifest(old_a=(10, 1, "sha-a")), {"new/a": Stat(10, 5)}, "fp", ROOT, hasher=hasher({"new/a": "sha-a"}))
    assert p.deleted == ["old/a"] and p.new == ["new/a"] and p.renamed == [("old/a", "new/a")]


def test_manifest_round_trip_and_bad_text():
    m = manifest(a=(1, 2, "s"))
    m.entries["a"].error = "empty: empty file"
    assert Manifest.from_json(m.to_json()) == m
    assert Manifest.from_json("not json") is None and Manifest.from_json(None) is None
    assert Manifest.from_json('{"version": 999}') is None


def test_fingerprint_follows_analysis_and_cleaner_settings(tmp_path):
    base = fingerprint_of(make_config(tmp_path))
    assert fingerprint_of(make_config(tmp_path)) == base
    assert fingerprint_of(make_config(tmp_path, analysis={"synonyms": [["职代会", "职工大会"]]})) != base
    assert fingerprint_of(make_config(tmp_path, clean={"drop_line_patterns": ["^广告"]})) != base
    user_dict = tmp_path / "mine.txt"
    user_dict.write_text("职工书屋\n", encoding="utf-8")
    with_dict = fingerprint_of(make_config(tmp_path, analysis={"user_dict": str(user_dict)}))
    user_dict.write_text("职工书屋\n劳模工作室\n", encoding="utf-8")
    assert fingerprint_of(make_config(tmp_path, analysis={"user_dict": str(user_dict)})) != with_dict


def test_scan_folder_finds_the_pages_iter_pages_finds(tmp_path):
    """One os.scandir walk gives exactly iter_pages' pages (hidden ones, other files and linked folders left
    out), keyed by their posix path under the root, with size and mtime; on scraped/ as on a made-up tree."""
    from indexer.load import iter_pages
    from indexer.manifest import scan_folder

    from helpers import SCRAPED

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("a/b/p.html", "a/q.TXT", "r.docx", ".x.html", ".hidden/s.html", "a/notes.csv", "a/b/t.htm"):
        (tmp_path / name).write_text("页面", encoding="utf-8")
    (tmp_path / "linked").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "a" / "u.html").symlink_to(tmp_path / "r.docx")
    for root in (tmp_path, SCRAPED):
        expected = {}
        for path in iter_pages(root):
            st = path.stat()
            expected[path.relative_to(root).as_posix()] = Stat(st.st_size, st.st_mtime_ns)
        assert scan_folder(root) == expected
        assert expected
    assert sorted(scan_folder(tmp_path)) == ["a/b/p.html", "a/b/t.htm", "a/q.TXT", "a/u.html", "r.docx"]


def test_code_digest_ignores_docs_and_keeps_its_parses(tmp_path, monkeypatch):
    """The code part of the fingerprint ignores comments and docstrings, follows logic, and a module parsed
    once is not parsed again (its digest is kept by the hash of its bytes in the cache file)."""
    import indexer.manifest as manifest_module
    from indexer.manifest import code_digest

    module = tmp_path / "rule.py"
    module.write_text('def f(x):\n    """Doc."""\n    return x + 1\n', encoding="utf-8")
    cache = tmp_path / "cache" / "digests.json"
    first = code_digest([module], cache)
    assert cache.exists() and code_digest([module]) == first
    module.write_text('def f(x):\n    """Other doc."""\n    # a comment\n    return x + 1\n', encoding="utf-8")
    assert code_digest([module], cache) == first
    module.write_text('def f(x):\n    return x + 2\n', encoding="utf-8")
    changed = code_digest([module], cache)
    assert changed != first

    def no_parse(paths):
        raise AssertionError("parsed again")

    monkeypatch.setattr(manifest_module, "_parsed_digest", no_parse)
    assert code_digest([module], cache) == changed
    cache.write_text("not json", encoding="utf-8")  # a broken cache is parsed over
    monkeypatch.undo()
    assert code_digest([module], cache) == changed
