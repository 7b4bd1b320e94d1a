"""Subscribe to a search: GET /feed?q= (an Atom feed of the newest matching documents).

The feed holds the ``FEED_ENTRIES`` newest documents the search finds (``sort="date"``, one entry per document,
as the site groups them; the year, site and org_type filters of the results page narrow it too). An entry's
``updated`` is the document's date (midnight UTC of it; a year or month alone stands for its first day), or, for
an undated document, when its page was saved (the file's modification time the index recorded), so it stays the
same across rebuilds and changes when the page does. Ids are ``urn:uuid:`` name-based UUIDs (RFC 4122 version 5) of
the document id and of the query, so they stay the same across rebuilds, host names and ports. Polling the
feed is not logged as a search (``search.log_queries``): a reader fetching it every hour would drown the top
queries.
"""

from __future__ import annotations

import html
import json
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from flask import Blueprint, abort, current_app, request, url_for

from indexer.manifest import MANIFEST_FILE, Manifest
from indexer.model import Hit, SectionRecord
from indexer.search import SearchOptions, search
from webapp import __version__
from webapp.store import get_config, get_store
from webapp.views import filter_args, index_state, query_arg, stats

bp = Blueprint("feed", __name__)

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 20
_ID_SPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:unionsearch:feed")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")
_MARK = re.compile(r"</?mark>")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")  # not allowed in XML 1.0


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (ElementTree escapes the rest)."""
    return _NOT_XML.sub("", text)


def plain_snippet(snippet: str) -> str:
    """A result snippet (HTML-escaped, <mark> around matched words) as plain text."""
    return xml_text(html.unescape(_MARK.sub("", snippet)))


def atom_date(text: str | None) -> str | None:
    """A document date (2023-12-30, 2023-12 or 2023) as an RFC 3339 time, or None."""
    m = _DATE.match(text or "")
    if not m:
        return None
    try:
        day = date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None
    return f"{day.isoformat()}T00:00:00Z"


def index_time() -> str:
    """When the index last changed, as an RFC 3339 time (the feed's ``updated`` when nothing is found)."""
    figures = stats()
    for key in ("last_update", "last_full_build", "built"):
        try:
            when = datetime.fromisoformat(str(figures.get(key) or ""))
        except ValueError:
            continue
        return (when if when.tzinfo else when.astimezone()).isoformat(timespec="seconds")
    return datetime.now().astimezone().isoformat(timespec="seconds")


def saved_times() -> dict[str, int]:
    """When each indexed page was saved (its file's modification time in ns, from the index's manifest), by
    source: the ``updated`` of an undated document. Read once per index state."""
    cache = current_app.extensions.setdefault("unionsearch.feed", {})
    key = index_state()
    state = cache.get("saved")
    if state is None or state[0] != key:
        manifest = Manifest.from_json(get_store().read_file(MANIFEST_FILE))
        state = (key, {source: e.mtime_ns for source, e in manifest.entries.items()} if manifest else {})
        cache["saved"] = state  # one assignment: threads see the old pair or the new one
    return state[1]


def entry_time(record: SectionRecord, saved: dict[str, int], fallback: str) -> str:
    """The document's date, else when its page was saved, else ``fallback``."""
    dated = atom_date(record.date)
    if dated:
        return dated
    if record.source in saved:
        return datetime.fromtimestamp(saved[record.source] / 1e9, UTC).isoformat(timespec="seconds")
    return fallback


def urn(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_ID_SPACE, name)}"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)  # in the Atom namespace: the root declares it as the default
    if text is not None:
        element.text = xml_text(text)
    return element


def add_entry(feed: ET.Element, hit: Hit, updated: str) -> None:
    r = hit.record
    entry = _add(feed, "entry")
    _add(entry, "id", urn(f"document:{r.doc_id}"))
    _add(entry, "title", r.document or r.page_title or r.source, type="text")
    _add(entry, "link", rel="alternate", type="text/html",
         href=url_for("site.document", doc_id=r.doc_id, s=r.id, _external=True, _anchor=r.id))
    _add(entry, "updated", updated)
    if atom_date(r.date):
        _add(entry, "published", updated)
    if r.site:
        _add(entry, "category", term=xml_text(r.site), label=xml_text(r.site))
    _add(entry, "summary", plain_snippet(hit.snippet), type="text")


def newest_first(hits: list[Hit]) -> list[Hit]:
    """Dated documents newest first, then the undated (the any-word matches the search appends after the
    all-words ones come in date order too)."""
    return sorted(hits, key=lambda h: (atom_date(h.record.date) is not None, atom_date(h.record.date) or ""),
                  reverse=True)


def atom_feed(q: str, filters: tuple[tuple[str, str], ...], hits: list[Hit]) -> bytes:
    """The Atom document (RFC 4287) of the newest documents found for ``q``."""
    indexed, saved = index_time(), saved_times()
    dates = [entry_time(h.record, saved, indexed) for h in hits]
    feed = ET.Element("feed", xmlns=ATOM)
    _add(feed, "id", urn("search:" + json.dumps([q, sorted(filters)], ensure_ascii=False)))
    narrowed = "".join(f"（{value}）" for _, value in filters)
    _add(feed, "title", f"工会文档搜索：{q}{narrowed}", type="text")
    _add(feed, "subtitle", f"匹配“{q}”的最新 {FEED_ENTRIES} 篇文档", type="text")
    # The newest entry's time, compared as times (document dates are in Z, the index's time in local offset).
    _add(feed, "updated", max(dates, key=lambda d: datetime.fromisoformat(d)) if dates else indexed)
    _add(feed, "link", rel="self", type="application/atom+xml",
         href=url_for("feed.feed", q=q, **dict(filters), _external=True))
    _add(feed, "link", rel="alternate", type="text/html",
         href=url_for("site.results", q=q, sort="date", **dict(filters), _external=True))
    author = _add(feed, "author")
    _add(author, "name", "工会文档搜索")
    _add(feed, "generator", "unionsearch", version=__version__)
    for hit, updated in zip(hits, dates, strict=True):
        add_entry(feed, hit, updated)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@bp.route("/feed")
def feed():
    q = query_arg()
    if not q:
        abort(400, description="订阅需要搜索词，例如 /feed?q=职代会")
    cfg = get_config().search
    filters = filter_args()
    options = SearchOptions(per_page=FEED_ENTRIES, sort="date", filters=filters, snippet_chars=cfg.snippet_chars,
                            group=True)
    result = search(get_store(), q, options, cfg.max_query_chars)
    response = current_app.response_class(atom_feed(q, filters, newest_first(result.hits)),
                                          mimetype="application/atom+xml")
    response.add_etag()  # a reader that sends If-None-Match gets 304 while nothing changed
    return response.make_conditional(request)
