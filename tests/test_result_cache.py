"""search() answers a repeated query from its cache until the index changes: an incremental update, a full
rebuild swapped in, or another index is never answered from it."""

from __future__ import annotations

import shutil

from indexer.backends import open_store
from indexer.build import index_corpus
from indexer.search import SearchOptions, search

from helpers import SCRAPED, make_config


def _ids(result):
    return [h.record.id for h in result.hits]


def test_repeated_query_is_answered_from_the_cache(store, monkeypatch):
    first = search(store, "职代会", SearchOptions(per_page=5))
    import indexer.search as search_module

    monkeypatch.setattr(search_module, "_search", lambda *a: (_ for _ in ()).throw(AssertionError("searched")))
    again = search(store, "职代会", SearchOptions(per_page=5))
    assert _ids(again) == _ids(first) and again.total == first.total and again.hits[0].snippet
    # Another page, other options or another query is a different request.
    monkeypatch.undo()
    assert _ids(search(store, "职代会", SearchOptions(per_page=5, page=2))) != _ids(first)


def test_an_index_change_is_never_hidden_by_the_cache(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("dev01.html", "dev02.html"):
        shutil.copy(SCRAPED / name, src)
    config = make_config(tmp_path, src)
    store = open_store(config)
    index_corpus(config, store, workers=1, progress=False)
    before = search(store, "工会", SearchOptions(per_page=50))
    assert before.total
    # Incremental: a page removed (one commit in the same generation).
    (src / "dev02.html").unlink()
    index_corpus(config, store, workers=1, progress=False)
    after = search(store, "工会", SearchOptions(per_page=50))
    assert after.total < before.total
    # Full rebuild swapped in (a new generation), with the page back.
    shutil.copy(SCRAPED / "dev02.html", src)
    index_corpus(config, store, workers=1, progress=False, full=True)
    assert search(store, "工会", SearchOptions(per_page=50)).total == before.total
    # Another index over other pages answers for itself.
    other_src = tmp_path / "other"
    other_src.mkdir()
    shutil.copy(SCRAPED / "dev05.html", other_src)
    other_config = make_config(tmp_path / "o", other_src)
    other = open_store(other_config)
    index_corpus(other_config, other, workers=1, progress=False)
    assert search(other, "工会", SearchOptions(per_page=50)).total != before.total
