"""One count everywhere (issue 18, item 2): every face says how many documents a query finds, with the
sections inside; the list a face shows, page after page, has exactly that many entries; and a facet value's
count is what clicking it shows. On the index of scraped/."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import quote

import pytest

from indexer.search import SearchOptions, search
from webapp.cli import cli

QUERIES = ["职工之家", "职代会", "农民工入会", "劳动竞赛", "女职工", "工会 工作", "困难职工 帮扶", "职工之佳"]


def api(client, q: str, **params) -> dict:
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    response = client.get(f"/api/search?q={quote(q)}&{query}")
    assert response.status_code == 200
    return response.get_json()


def listed(client, q: str, group: str, **params) -> list[str]:
    """Every entry a face lists for q, following the pages."""
    ids, page = [], 1
    while True:
        data = api(client, q, group=group, per_page=7, page=page, **params)
        ids += [r["doc_id"] if group == "document" else r["id"] for r in data["results"]]
        if page >= data["pages"]:
            return ids
        page += 1


def shown_count(html: str) -> tuple[int, int]:
    found = re.search(r'<strong class="total">(\d+)</strong> 篇文档，共 (\d+) 个段落', html)
    assert found, html[:500]
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize("q", QUERIES)
def test_every_face_says_the_same(q, client, runner, corpus_config):
    data = api(client, q)
    assert data["total"] > 0 and data["total"] <= data["total_sections"]
    assert shown_count(client.get(f"/search?q={quote(q)}").get_data(as_text=True)) == \
        (data["total"], data["total_sections"])
    assert shown_count(client.get(f"/embed?q={quote(q)}").get_data(as_text=True)) == \
        (data["total"], data["total_sections"])
    assert api(client, q, group="document")["total"] == data["total"]  # what the widget asks for
    result = runner.invoke(cli, ["search", q, "--index", str(corpus_config.index_path)])
    assert result.exit_code == 0, result.output
    about = "about " if data["total_estimated"] else ""
    counted = f"{about}{data['total']} documents, {data['total_sections']} sections"
    assert result.output.splitlines()[0].startswith(counted)


@pytest.mark.parametrize("q", QUERIES)
def test_the_lists_have_as_many_entries_as_the_counts_say(q, client):
    data = api(client, q)
    documents, sections = listed(client, q, "document"), listed(client, q, "section")
    assert len(documents) == len(set(documents)) and len(sections) == len(set(sections))
    if data["total_estimated"]:  # more matches than the window copies are folded in: said "约", and close
        assert abs(len(documents) - data["total"]) <= max(2, data["total"] // 10), (len(documents), data["total"])
        assert abs(len(sections) - data["total_sections"]) <= max(2, data["total_sections"] // 10)
    else:
        assert len(documents) == data["total"] and len(sections) == data["total_sections"]
        assert set(documents) == {s.rsplit(".", 1)[0] for s in sections}  # the same documents, grouped or not


@pytest.mark.parametrize("q", QUERIES)
def test_a_facet_count_is_what_its_click_shows(q, client):
    data = api(client, q)
    clicks = [(name, value, count) for name, values in data["facets"].items() for value, count in values.items()]
    assert clicks, data["facets"]
    for name, value, count in clicks:
        narrowed = api(client, q, **{name: value})
        if data["total_estimated"] or narrowed["total_estimated"]:
            assert abs(narrowed["total"] - count) <= max(2, count // 10), (name, value)
            continue
        assert narrowed["total"] == count, (name, value)
        assert len(listed(client, q, "document", **{name: value})) == count, (name, value)


def test_documents_are_counted_as_the_sections_say(store):
    """Without folding, the document total is the number of distinct documents among all matching sections."""
    for q in QUERIES:
        everything = search(store, q, SearchOptions(per_page=1000, collapse=False, snippets=False))
        assert everything.total_sections == len(everything.hits)
        assert everything.total == len({h.record.doc_id for h in everything.hits}), q


def test_estimated_counts_never_say_more_documents_than_sections(store):
    """Past the window where copies are folded, both counts are estimates. When documents share a paragraph
    (each of 30 documents: three sections of its own and two copies of one paragraph) and the matches past the
    window are spread over more documents, the estimate must still not list more documents than sections: each
    document listed shows at least one."""
    from indexer.backends.base import RawHit, RawResult
    from indexer.search import COLLAPSE_WINDOW, _count, collapse

    own = [r for doc in store.documents() for r in doc if len(r.text) > 150 and not r.duplicate_of]
    own = [h.record for h, _ in collapse([RawHit.of(r, 1.0) for r in own])][:91]  # no two of them copies
    assert len(own) == 91
    shared, hits = own.pop(), []
    for i in range(30):
        for j, record in enumerate([own[3 * i], shared, own[3 * i + 1], shared, own[3 * i + 2]]):
            copy = dataclasses.replace(record, id=f"d{i}.{j}", doc_id=f"d{i}", duplicate_of=None)
            hits.append(RawHit.of(copy, 1000.0 - len(hits)))
    assert len(hits) == COLLAPSE_WINDOW
    counts = _count(RawResult(total=10 * len(hits), hits=hits, documents=1000), SearchOptions())
    assert counts.approximate
    assert counts.sections == 10 * len(hits) - 10 * 59  # 59 copies in the window, at that rate past it
    assert 30 <= counts.documents <= counts.sections
