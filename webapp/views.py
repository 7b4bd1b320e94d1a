"""HTML pages: home, results, document (+ .txt), the iframe mode, embed.js, OpenSearch, health, errors."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException, NotFound

from indexer.backends.base import IndexIncompatible, IndexMissing
from indexer.model import SearchResult, SectionRecord
from indexer.query import ParsedQuery, parse_query
from indexer.querylog import QueryLog
from indexer.search import FILTERS, SORTS, SearchOptions, make_snippet, search
from webapp.store import get_config, get_store

bp = Blueprint("site", __name__)

MAX_FILTER_CHARS = 100
SIMILAR_DOCS = 5
EMBED_PER_PAGE = 5
_QUERY_SYNTAX = re.compile(r"[\"“”:：()\[\]-]+")
QUERY_LOG = "unionsearch.querylog"
# The source file's type, shown beside a result (issue 19); saved web pages and text files show none.
FILE_TYPES = {".docx": "Word", ".doc": "Word", ".wps": "WPS", ".pdf": "PDF", ".rtf": "RTF"}


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(request.args.get(name, default))))
    except (TypeError, ValueError):
        return default


def filter_args() -> tuple[tuple[str, str], ...]:
    """The request's year, site and org_type filters (empty ones left out)."""
    return tuple((k, request.args[k].strip()[:MAX_FILTER_CHARS]) for k in FILTERS if request.args.get(k, "").strip())


def search_options(default_per_page: int | None = None) -> SearchOptions:
    """SearchOptions from the request's query string for the HTML pages: bad values fall back to defaults."""
    cfg = get_config().search
    per_page = _int_arg("per_page", default_per_page or cfg.per_page, 1, cfg.max_per_page)
    filters = filter_args()
    sort = request.args.get("sort", "relevance")
    # The site groups a document's matching sections under its best one unless ?group=section.
    return SearchOptions(page=_int_arg("page", 1, 1, 1000), per_page=per_page,
                         sort=sort if sort in SORTS else "relevance", filters=filters,
                         snippet_chars=cfg.snippet_chars, group=request.args.get("group") != "section")


def query_arg() -> str:
    return request.args.get("q", "").strip()[: get_config().search.max_query_chars]


def log_search(result: SearchResult, face: str, filters: tuple[tuple[str, str], ...] = ()) -> None:
    """Append a search of ``face`` (site, api, widget) to the query log when ``search.log_queries`` is on.

    Only the search and its result are passed on: nothing about the request (address, cookies, user agent).
    Never raises (see indexer/querylog.py)."""
    config = get_config()
    if not config.search.log_queries:
        return
    query_log = current_app.extensions.get(QUERY_LOG)
    if query_log is None:
        query_log = current_app.extensions.setdefault(QUERY_LOG, QueryLog(config.log_path))
    query_log.record(result, face, filters)


def file_type(source: str) -> str | None:
    """"Word", "PDF", "WPS" or "RTF" for a record whose source file is one; None for a web page or text."""
    return FILE_TYPES.get(PurePosixPath(source).suffix.lower())


class Marker:
    """Marks a search's words in titles, headings and whole sections with our own <mark>, the way snippets are
    marked (indexer.search.make_snippet over the whole text, so nothing is cut); everything else is escaped.

    ``query`` is the query whose results are shown (a corrected one when the search fell back to it); ``loose``
    also marks the back-off words of the any-word supplement (保洁员 → 保洁), as partial results' snippets do."""

    def __init__(self, query: str, loose: bool = False):
        store = get_store()
        self.analyzer = store.analyzer
        self.pq: ParsedQuery | None = parse_query(query, self.analyzer, get_config().search.max_query_chars) \
            if query.strip() else None
        self.loose = loose
        self._marked: dict[str, Markup] = {}  # a page's results share titles and heading paths: mark each once

    @classmethod
    def of(cls, result: SearchResult) -> Marker:
        return cls(result.corrected or result.query, loose=result.partial)

    def __call__(self, text: str | None) -> Markup:
        if not text:
            return Markup("")
        if self.pq is None or self.pq.is_empty:
            return escape(text)
        found = self._marked.get(text)
        if found is None:
            # make_snippet escapes the text and adds only <mark>: a width of the whole text keeps all of it.
            found = self._marked[text] = Markup(make_snippet(text, self.pq, self.analyzer, set(), len(text),
                                                             loose=self.loose))
        return found


def index_state() -> tuple[str, int | None] | None:
    """What identifies the live index's content for the app's caches (None without an index): its generation
    and when its META.json changed (an incremental update rewrites it inside the same generation)."""
    gen = get_store().current_generation()
    if gen is None:
        return None
    try:
        return (gen.name, (gen / "META.json").stat().st_mtime_ns)
    except OSError:
        return (gen.name, None)


def stats() -> dict:
    """Index statistics, computed once per index version (the home page shows them on every visit)."""
    store = get_store()
    key = index_state()
    cache = current_app.extensions.setdefault("unionsearch.stats", {})
    if key is None:
        return {"exists": False}
    if cache.get("gen") != key:
        try:
            cache.update(gen=key, stats=store.stats())
        except (IndexMissing, IndexIncompatible):
            return {"exists": False}
    return cache["stats"]


def broader_queries(q: str) -> list[str]:
    """Shorter queries to offer when ``q`` found nothing: each word, or the query without its syntax."""
    plain = " ".join(_QUERY_SYNTAX.sub(" ", q).split())
    words = [w for w in plain.split() if len(w) > 1 or not w.isascii()]
    if len(words) == 1:
        words = [t.text for t in get_store().analyzer.tokens(words[0], "query") if len(t.text) > 1]
        if len(words) < 2:
            words = []
    out = [w for w in dict.fromkeys(words) if w != q][:4]
    if plain and plain != q and plain not in out:
        out.insert(0, plain)
    return out


@bp.route("/", endpoint="index")
def index():
    if query_arg():  # /?q=职工之家, as people type it: the results page
        args: dict[str, Any] = request.args.to_dict()
        return redirect(url_for("site.results", **args))
    return render_template("index.html", stats=stats())


@bp.route("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder or "static", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=86400)


@bp.route("/search")
def results():
    q = query_arg()
    if not q:
        return render_template("index.html", stats=stats())
    options = search_options()
    result = search(get_store(), q, options, get_config().search.max_query_chars)
    log_search(result, "site", options.filters)
    active = dict(options.filters)
    state = {"q": q, "sort": options.sort if options.sort != "relevance" else None, **active,
             "per_page": options.per_page if options.per_page != get_config().search.per_page else None}

    def link(**changes) -> str:
        """This results page's URL with ``changes`` applied (None drops a parameter); page resets to 1."""
        params = {k: v for k, v in {**state, **changes}.items() if v is not None}
        return url_for("site.results", **params)

    # Links to a document carry the query whose results these are, so its words are marked there too.
    return render_template("results.html", q=q, result=result, options=options, active=active, link=link,
                           broader=broader_queries(q) if not result.hits else [], mark=Marker.of(result),
                           doc_q=result.corrected or q, feed_url=url_for("feed.feed", q=q, **active, _external=False))


def get_document(doc_id: str) -> list[SectionRecord]:
    """The sections of document ``doc_id``. Raises NotFound (404) naming the id when there is none.

    Ids are looked up in the index only; they never reach the file system."""
    sections = get_store().document(doc_id[:64])
    if not sections:
        raise NotFound(description=f"没有编号为 {doc_id[:64]} 的文档")
    return sections


def similar_documents(first: SectionRecord, limit: int = SIMILAR_DOCS) -> list[SectionRecord]:
    """Other documents that match this one's title, best first (one section record per document)."""
    title = " ".join(_QUERY_SYNTAX.sub(" ", first.document or first.page_title).split())
    if not title:
        return []
    options = SearchOptions(per_page=40, snippets=False, collapse=False)
    result = search(get_store(), title, options, get_config().search.max_query_chars)
    seen = {first.doc_id}
    out: list[SectionRecord] = []
    for hit in result.hits:
        if hit.record.doc_id not in seen:
            seen.add(hit.record.doc_id)
            out.append(hit.record)
        if len(out) >= limit:
            break
    return out


@dataclass(frozen=True)
class MarkedSection:
    """A section of the document page as HTML: heading and paragraphs escaped, the query's words marked."""

    record: SectionRecord
    heading: Markup
    paragraphs: list[Markup]


def mark_document(sections: list[SectionRecord], q: str) -> tuple[Markup, list[MarkedSection]]:
    """(title, sections) of a document page, with the words of ``q`` (from the results page's link) marked.
    A document that holds none of the words as typed was found by their back-off words (保洁员 → 保洁): those
    are marked then."""
    marked: tuple[Markup, list[MarkedSection]] = (Markup(""), [])
    for marker in (Marker(q), Marker(q, loose=True)) if q else (Marker(""),):
        marked = (marker(sections[0].document),
                  [MarkedSection(s, marker(s.heading), [marker(p) for p in s.text.split("\n")]) for s in sections])
        if "<mark>" in marked[0] or any("<mark>" in m.heading or any("<mark>" in p for p in m.paragraphs)
                                        for m in marked[1]):
            break
    return marked


@bp.route("/doc/<doc_id>")
def document(doc_id: str):
    q = query_arg()
    section = get_store().section(doc_id[:64]) if "." in doc_id else None
    if section is not None:  # a section id, as the API's results carry it: the document at that section
        return redirect(url_for("site.document", doc_id=section.doc_id, s=section.id, q=q or None,
                                _anchor=section.id))
    sections = get_document(doc_id)
    title, marked = mark_document(sections, q)
    return render_template("document.html", sections=marked, first=sections[0], title_html=title,
                           highlight=request.args.get("s", ""), q=q, similar=similar_documents(sections[0]))


def document_text(sections: list[SectionRecord]) -> str:
    first = sections[0]
    lines = [first.document]
    meta = [f"{label}：{value}" for label, value in (("来源", first.url), ("网站", first.site), ("日期", first.date))
            if value]
    lines += meta
    for s in sections:
        lines.append("")
        if s.heading:
            lines.append(s.heading)
        lines.append(s.text)
    return "\n".join(lines) + "\n"


@bp.route("/doc/<doc_id>.txt", endpoint="document_text")
def document_text_download(doc_id: str):
    sections = get_document(doc_id)
    name = re.sub(r'[\\/:*?"<>|\s]+', "_", sections[0].document)[:60] or doc_id
    return send_file(io.BytesIO(document_text(sections).encode("utf-8")), mimetype="text/plain",
                     as_attachment=True, download_name=f"{name}.txt", max_age=0)


@bp.route("/embed")
def embed():
    """The iframe mode: a compact search box and results list; links open our pages in a new tab."""
    q = query_arg()
    result = None
    options = search_options(default_per_page=EMBED_PER_PAGE)
    if q:
        result = search(get_store(), q, options, get_config().search.max_query_chars)
        log_search(result, "widget", options.filters)
    return render_template("embed.html", q=q, result=result, options=options, default_per_page=EMBED_PER_PAGE,
                           mark=Marker.of(result) if result else Marker(""),
                           doc_q=(result.corrected or q) if result else q)


@bp.route("/embed.js")
def embed_js():
    response = send_from_directory(bp.root_path + "/static", "embed.js", mimetype="text/javascript", max_age=300)
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.route("/opensearch.xml")
def opensearch():
    root = request.url_root.rstrip("/")
    body = render_template("opensearch.xml", root=root)
    return current_app.response_class(body, mimetype="application/opensearchdescription+xml")


def health():
    """200 ``{"ok": true, "index": {...}}`` when the index can be searched, else 503."""
    store = get_store()
    try:
        sections = store.check()
        gen = store.current_generation()
    except (IndexMissing, IndexIncompatible) as e:
        return {"ok": False, "status": 503, "error": str(e), "errors": [str(e)], "index": {"exists": False}}, 503
    return {"ok": True, "index": {"exists": True, "generation": gen.name if gen else "", "sections": sections}}


@bp.route("/healthz")
def healthz():
    return health()


def _wants_json() -> bool:
    return request.path.startswith("/api/")


@bp.app_errorhandler(HTTPException)
def http_error(e: HTTPException):
    status = e.code or 500
    if _wants_json():
        message = {404: "not found", 405: "method not allowed"}.get(status, e.description or e.name)
        return {"ok": False, "status": status, "error": message, "errors": [message]}, status
    ours = isinstance(e.description, str) and not e.description.isascii()  # a Chinese message we wrote
    message = str(e.description) if ours else {404: "页面不存在", 405: "不支持这种请求方法"}.get(status, e.name)
    return render_template("error.html", status=status, message=message), status


@bp.app_errorhandler(IndexMissing)
@bp.app_errorhandler(IndexIncompatible)
def index_unavailable(e: Exception):
    if _wants_json():
        return {"ok": False, "status": 503, "error": str(e), "errors": [str(e)]}, 503
    return render_template("error.html", status=503, message="搜索索引暂不可用，请稍后再试。"), 503


@bp.app_errorhandler(500)
def server_error(e):
    if _wants_json():
        return {"ok": False, "status": 500, "error": "internal error", "errors": ["internal error"]}, 500
    return render_template("error.html", status=500, message="服务器内部错误"), 500


@bp.app_context_processor
def site_globals():
    return {"opensearch_url": url_for("site.opensearch"), "file_type": file_type}
