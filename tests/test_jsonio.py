"""indexer/jsonio.py: orjson for the large files, the same text as the standard library's compact JSON."""

from __future__ import annotations

import json

import pytest

from indexer import jsonio

from helpers import SCRAPED


def _standard(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def test_the_same_text_as_the_standard_library_on_real_pages():
    texts = {p.name: p.read_text(encoding="utf-8", errors="replace")[:5000] for p in sorted(SCRAPED.iterdir())
             if p.suffix in (".txt", ".html")}
    assert len(texts) >= 10
    data = {"pages": texts, "counts": [[i, len(t)] for i, t in enumerate(texts.values())], "ratio": 0.1 + 0.2,
            "nested": {"中文": [None, True, False, -3, 2**40]}}
    assert jsonio.dumps(data) == _standard(data)
    assert jsonio.loads(jsonio.dumps(data)) == data


def test_what_orjson_refuses_falls_back_and_bad_text_is_a_value_error():
    odd = {"lone surrogate": "职工\ud800之家", "big": 2**70}
    assert jsonio.dumps(odd) == _standard(odd)
    with pytest.raises(ValueError):
        jsonio.loads("{not json")
