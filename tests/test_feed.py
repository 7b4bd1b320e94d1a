"""Subscribe to a search: /feed?q= is an Atom feed (RFC 4287) of the newest documents the search finds, linked
from the results page. Checked with xml.etree on the sample corpus, without a network."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from indexer.search import SearchOptions, search
from webapp.feed import atom_date

NS = {"a": "http://www.w3.org/2005/Atom"}
A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def one(parent: ET.Element, tag: str) -> ET.Element:
    found = parent.findall(f"a:{tag}", NS)
    assert len(found) == 1, f"{parent.tag} must have exactly one atom:{tag}, has {len(found)}"
    return found[0]


def time_of(element: ET.Element) -> datetime:
    text = element.text or ""
    assert RFC3339.match(text), text
    return datetime.fromisoformat(text)


def absolute(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, url
    return url


def valid_atom(response) -> ET.Element:
    """The feed of ``response``, after checking what RFC 4287 requires of a feed and of its entries."""
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    assert response.content_type == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(response.data)  # well-formed, or this raises
    assert feed.tag == f"{A}feed"
    for tag in ("id", "title", "updated"):
        assert one(feed, tag).text
    time_of(one(feed, "updated"))
    assert one(feed, "id").text.startswith("urn:uuid:")
    uuid.UUID(one(feed, "id").text.removeprefix("urn:uuid:"))
    links = {link.get("rel"): link for link in feed.findall("a:link", NS)}
    assert links["self"].get("type") == "application/atom+xml" and absolute(links["self"].get("href"))
    assert absolute(links["alternate"].get("href"))
    assert one(one(feed, "author"), "name").text  # the feed's author covers every entry
    for entry in feed.findall("a:entry", NS):
        entry_id = one(entry, "id").text
        assert entry_id.startswith("urn:uuid:") and uuid.UUID(entry_id.removeprefix("urn:uuid:"))
        assert one(entry, "title").text and one(entry, "title").get("type") == "text"
        time_of(one(entry, "updated"))
        alternate = [link for link in entry.findall("a:link", NS) if link.get("rel") == "alternate"]
        assert len(alternate) == 1 and absolute(alternate[0].get("href"))
        summary = one(entry, "summary")
        assert summary.get("type") == "text" and summary.text and "<mark>" not in summary.text
    return feed


def entry_docs(feed: ET.Element) -> list[str]:
    """The document ids the entries link to (/doc/<id>?s=…)."""
    out = []
    for entry in feed.findall("a:entry", NS):
        href = next(link.get("href") for link in entry.findall("a:link", NS) if link.get("rel") == "alternate")
        out.append(urlsplit(href).path.removeprefix("/doc/"))
    return out


def newest(store, q: str, page: int = 1, **filters: str):
    return search(store, q, SearchOptions(page=page, per_page=20, sort="date", group=True,
                                          filters=tuple(filters.items())))


def test_the_feed_is_valid_atom_of_the_documents_found(client, store, corpus_config):
    feed = valid_atom(client.get("/feed?q=职代会"))
    docs = entry_docs(feed)
    found = newest(store, "职代会")
    assert 0 < len(docs) == len(set(docs)) == len(found.hits) <= 20  # one entry per document
    assert set(docs) == {hit.record.doc_id for hit in found.hits}
    entries = feed.findall("a:entry", NS)
    updated = [time_of(one(entry, "updated")) for entry in entries]
    assert time_of(one(feed, "updated")) == max(updated)
    # Dated documents newest first (their date is `updated` and `published`), then the undated ones, whose
    # `updated` is when their page was saved.
    dated = [entry.find("a:published", NS) is not None for entry in entries]
    assert dated == sorted(dated, reverse=True) and any(dated) and not all(dated)
    assert updated[:sum(dated)] == sorted(updated[:sum(dated)], reverse=True)
    for entry, doc in zip(entries, docs, strict=True):
        record = next(hit.record for hit in found.hits if hit.record.doc_id == doc)
        assert one(entry, "title").text == record.document
        if record.date:
            assert one(entry, "updated").text == atom_date(record.date) == one(entry, "published").text
            assert one(entry, "updated").text.startswith(record.date)
        else:
            saved = (corpus_config.source_path / record.source).stat().st_mtime
            assert abs(time_of(one(entry, "updated")).timestamp() - saved) < 1
        href = next(link.get("href") for link in entry.findall("a:link", NS) if link.get("rel") == "alternate")
        page = client.get(href.removeprefix("http://localhost"))
        assert page.status_code == 200 and record.document in page.get_data(as_text=True)


def test_a_broad_query_gives_the_twenty_newest_documents(client, store):
    feed = valid_atom(client.get("/feed?q=工会"))
    docs = entry_docs(feed)
    assert len(docs) == len(set(docs)) == 20
    assert set(docs) == {hit.record.doc_id for hit in newest(store, "工会").hits}
    dated = [one(e, "updated").text for e in feed.findall("a:entry", NS) if e.find("a:published", NS) is not None]
    assert len(dated) > 10, "the sample corpus has dated documents about 工会"
    left_out = [atom_date(h.record.date) for h in newest(store, "工会", page=2).hits if atom_date(h.record.date)]
    assert all(date <= min(dated) for date in left_out)  # nothing left out is newer than what is in


def test_ids_are_stable_and_name_the_document(client):
    first = ET.fromstring(client.get("/feed?q=职代会").data)
    again = ET.fromstring(client.get("/feed?q=职代会").data)
    ids = [one(e, "id").text for e in first.findall("a:entry", NS)]
    assert ids == [one(e, "id").text for e in again.findall("a:entry", NS)] and len(set(ids)) == len(ids)
    assert one(first, "id").text == one(again, "id").text
    # 职工代表大会 is a synonym of 职代会: another feed, the same documents under the same ids.
    other = ET.fromstring(client.get("/feed?q=职工代表大会").data)
    assert one(other, "id").text != one(first, "id").text
    by_doc = dict(zip(entry_docs(first), ids, strict=True))
    for doc, entry in zip(entry_docs(other), other.findall("a:entry", NS), strict=True):
        if doc in by_doc:
            assert one(entry, "id").text == by_doc[doc]


@pytest.mark.parametrize("q", ['<script>alert("x")</script> 职工', "职代会 & 工会 ]]>", "职工\x01\x0b之家\ufffe",
                               "'; DROP TABLE x; --"])
def test_odd_queries_still_give_well_formed_atom(client, q):
    response = client.get("/feed", query_string={"q": q})
    feed = valid_atom(response)
    title = one(feed, "title").text
    assert title.startswith("工会文档搜索：")
    if "<script>" in q:
        assert '<script>alert("x")</script>' in title  # text, escaped in the XML, not markup


def test_an_unchanged_feed_is_not_sent_again(client):
    first = client.get("/feed?q=职代会")
    assert first.headers["ETag"]
    again = client.get("/feed?q=职代会", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    assert client.get("/feed?q=工会", headers={"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_a_feed_needs_a_query(client):
    for path in ("/feed", "/feed?q=", "/feed?q=%20%20"):
        response = client.get(path)
        assert response.status_code == 400 and "订阅需要搜索词" in response.get_data(as_text=True)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.head_feeds: list[str] = []
        self.visible_feeds: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("type") == "application/atom+xml":
            if tag == "link" and a.get("rel") == "alternate":
                self.head_feeds.append(a["href"])
            elif tag == "a":
                self.visible_feeds.append(a["href"])


def test_the_results_page_links_its_feed(client):
    page = client.get("/search?q=职代会&site=zuowendang.com")
    links = Links()
    links.feed(page.get_data(as_text=True))
    assert len(links.head_feeds) == 1 and links.visible_feeds == links.head_feeds
    feed = valid_atom(client.get(links.head_feeds[0]))
    categories = [c.get("term") for c in feed.findall("a:entry/a:category", NS)]
    assert categories and set(categories) == {"zuowendang.com"}  # the page's filter carries over
    assert "zuowendang.com" in one(feed, "title").text
    unfiltered = ET.fromstring(client.get("/feed?q=职代会").data)
    assert len(unfiltered.findall("a:entry", NS)) > len(feed.findall("a:entry", NS))
