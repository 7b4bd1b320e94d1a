"""The backend interface: both stores implement every method of ``Backend`` with its parameters, and each store
owns its analyser (two stores with different settings in one process do not interfere)."""

from __future__ import annotations

import inspect

import pytest

from indexer.backends import open_store
from indexer.backends.base import Backend, Sink
from indexer.backends.sphinx.store import SphinxSink, SphinxStore
from indexer.backends.whoosh.store import WhooshStore
from indexer.backends.whoosh.writers import SegmentSink
from indexer.build import build_index
from indexer.search import SearchOptions, search

from helpers import make_config


def _members(protocol: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(value) for name, value in vars(protocol).items()
            if callable(value) and not name.startswith("_")}


@pytest.mark.parametrize(("protocol", "implementation"),
                         [(Backend, WhooshStore), (Backend, SphinxStore), (Sink, SegmentSink), (Sink, SphinxSink)],
                         ids=["whoosh", "sphinx", "whoosh-sink", "sphinx-sink"])
def test_implements_the_protocol(protocol, implementation):
    declared = _members(protocol)
    assert len(declared) >= 3
    for name, signature in declared.items():
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        got = inspect.signature(getattr(implementation, name))
        assert list(got.parameters) == list(signature.parameters), f"{implementation.__name__}.{name}{got}"


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    """The sample corpus indexed twice in this process: with and without a synonym group."""
    tmp = tmp_path_factory.mktemp("two")
    with_synonyms = make_config(tmp / "a", analysis={"synonyms": [["职代会", "职工代表大会"]]})
    without = make_config(tmp / "b", analysis={"synonyms": []})
    stores = open_store(with_synonyms), open_store(without)
    for config, store in zip((with_synonyms, without), stores, strict=True):
        build_index(config, store, progress=False, workers=1)
    return stores


def test_each_store_keeps_its_own_analyser(two_stores):
    expanded, plain = two_stores
    everything = SearchOptions(per_page=100, collapse=False)
    first = search(expanded, "职代会", everything).total
    narrow = search(plain, "职代会", everything).total  # opened and searched after the other store
    assert 0 < narrow < first  # the synonym finds sections that say only 职工代表大会
    assert search(expanded, "职代会", everything).total == first
    assert expanded.analyzer is not plain.analyzer
