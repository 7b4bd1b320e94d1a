"""JSON API: /api/search, /api/documents/<id>, /api/openapi.json.

Success is ``{"ok": true, ...}``; every error is ``{"ok": false, "status": N, "error": "one line",
"errors": ["…"]}`` with a 4xx status (datasette's envelope). Keys may be added, never renamed.
Query parameters are declared once in ``PARAMS``: the validation below and the OpenAPI description
(``webapp/openapi.py``) are both made from it. Unknown parameters are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, request, url_for

from indexer.model import SearchResult, SectionRecord
from indexer.search import SORTS, SearchOptions, result_to_json, search
from webapp.openapi import openapi_spec
from webapp.store import get_config, get_store
from webapp.views import Marker, file_type, health, log_search

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_PAGE = 1000
MAX_FILTER_CHARS = 100


@dataclass(frozen=True)
class Param:
    """One query parameter of /api/search: its JSON Schema and a help line."""

    name: str
    schema: dict
    help: str
    required: bool = False


def search_params(max_per_page: int, default_per_page: int, max_query_chars: int) -> tuple[Param, ...]:
    return (
        Param("q", {"type": "string", "minLength": 1},
              "Search text. Words must all match (falls back to any word when nothing has them all); "
              "\"exact phrase\", -exclude, A OR B, title:word, site:domain, year:2023 and year:2019..2023 work "
              f"as on the site. Longer text is cut to {max_query_chars} characters.", required=True),
        Param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
              "1-based page number. Pages never overlap; a page past the last one has no results."),
        Param("per_page", {"type": "integer", "minimum": 1, "maximum": max_per_page, "default": default_per_page},
              f"Results per page, at most {max_per_page}."),
        Param("sort", {"type": "string", "enum": list(SORTS), "default": "relevance"},
              "relevance (best match first) or date (newest first)."),
        Param("group", {"type": "string", "enum": ["section", "document"], "default": "section"},
              "section: every matching section is a result; document: further sections of a document are "
              "listed under its best one (in `also`)."),
        Param("client", {"type": "string", "enum": ["api", "widget"], "default": "api"},
              "Who asks: the embeddable widget says widget. Only the query log (search.log_queries) uses it, to "
              "tell the widget's searches from other programs'."),
        Param("snippets", {"type": "boolean", "default": True},
              "false: leave `snippet` empty (a lighter, faster answer when only the list of results is needed)."),
        Param("year", {"type": "integer", "minimum": 1000, "maximum": 9999},
              "Only sections from this year (a key of facets.year)."),
        Param("site", {"type": "string", "maxLength": MAX_FILTER_CHARS},
              "Only sections from this site, e.g. www.example.com (a key of facets.site)."),
        Param("org_type", {"type": "string", "maxLength": MAX_FILTER_CHARS},
              "Only sections about this kind of organisation, e.g. 企业 (a key of facets.org_type)."),
    )


def current_params() -> tuple[Param, ...]:
    cfg = get_config().search
    return search_params(cfg.max_per_page, cfg.per_page, cfg.max_query_chars)


class BadRequest(Exception):
    """A query parameter is missing or out of range; the message names it."""


def error(status: int, message: str):
    return {"ok": False, "status": status, "error": message, "errors": [message]}, status


@bp.errorhandler(BadRequest)
def bad_request(e: BadRequest):
    return error(400, str(e))


def _parse(param: Param, raw: str):
    schema = param.schema
    if schema["type"] == "boolean":
        value = raw.strip().lower()
        if value not in ("true", "false", "1", "0"):
            raise BadRequest(f"{param.name} must be true or false, got {raw[:20]!r}")
        return value in ("true", "1")
    if schema["type"] == "integer":
        try:
            number = int(raw.strip())
        except ValueError:
            raise BadRequest(f"{param.name} must be an integer, got {raw[:20]!r}") from None
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise BadRequest(f"{param.name} must be between {lo} and {hi}, got {number}")
        return number
    value = raw.strip()
    if "enum" in schema and value not in schema["enum"]:
        raise BadRequest(f"{param.name} must be one of {', '.join(schema['enum'])}, got {value[:20]!r}")
    if len(value) > schema.get("maxLength", 10**6):
        raise BadRequest(f"{param.name} must be at most {schema['maxLength']} characters")
    return value


def parse_args() -> dict:
    """The declared parameters of this request, validated; raises BadRequest naming the bad one."""
    values: dict = {}
    for param in current_params():
        raw = request.args.get(param.name)
        if raw is None or raw.strip() == "":
            if param.required:
                raise BadRequest(f"missing query parameter {param.name}")
            if "default" in param.schema:
                values[param.name] = param.schema["default"]
            continue
        values[param.name] = _parse(param, raw)
    return values


def doc_url(record: SectionRecord) -> str:
    """Absolute URL of the section on our document page."""
    return url_for("site.document", doc_id=record.doc_id, s=record.id, _external=True, _anchor=record.id)


def add_display(item: dict, record: SectionRecord, mark: Marker) -> None:
    """What a result needs to be shown as the site shows it: its document link, the title and headings with
    the query's words marked (escaped HTML whose only markup is <mark>, like ``snippet``) and the source
    file's type."""
    item["doc_url"] = doc_url(record)
    item["document_html"] = str(mark(record.document))
    item["heading_html"] = str(mark(record.heading))
    item["heading_path_html"] = str(mark(record.heading_path))
    item["file_type"] = file_type(record.source)


def search_json(result: SearchResult, args: dict) -> dict:
    """The /api/search body: indexer's result JSON plus paging links, absolute document links and what a
    result is shown with (add_display)."""
    body = result_to_json(result)
    body["pages"] = result.pages
    mark = Marker.of(result)
    for item, hit in zip(body["results"], result.hits, strict=True):
        add_display(item, hit.record, mark)
        for sub, sub_hit in zip(item.get("also", ()), getattr(hit, "also", ()), strict=True):
            add_display(sub, sub_hit.record, mark)
    links = {k: v for k, v in args.items() if k not in ("page",)}
    body["next_url"] = (url_for("api.api_search", **links, page=result.page + 1, _external=True)
                        if result.page < result.pages and result.page < MAX_PAGE else None)
    body["prev_url"] = (url_for("api.api_search", **links, page=min(result.page - 1, result.pages), _external=True)
                        if result.page > 1 else None)
    return body


@bp.route("/search")
def api_search():
    args = parse_args()
    cfg = get_config().search
    filters = tuple((k, str(args[k])) for k in ("year", "site", "org_type") if k in args)
    options = SearchOptions(page=args["page"], per_page=args["per_page"], sort=args["sort"], filters=filters,
                            snippet_chars=cfg.snippet_chars, group=args["group"] == "document",
                            snippets=args["snippets"])
    q = args["q"][: cfg.max_query_chars]
    result = search(get_store(), q, options, cfg.max_query_chars)
    log_search(result, args["client"], filters)
    args["q"] = q
    return search_json(result, args)


def document_json(sections: list[SectionRecord]) -> dict:
    first = sections[0]
    return {"ok": True, "id": first.doc_id, "title": first.document, "page_title": first.page_title,
            "source": first.source, "url": first.url, "date": first.date, "year": first.year, "site": first.site,
            "org_type": first.org_type,
            "doc_url": url_for("site.document", doc_id=first.doc_id, _external=True),
            "text_url": url_for("site.document_text", doc_id=first.doc_id, _external=True),
            "sections": [{"id": s.id, "heading": s.heading, "heading_path": s.heading_path, "text": s.text}
                         for s in sections]}


@bp.route("/documents/<doc_id>")
def api_document(doc_id: str):
    sections = get_store().document(doc_id[:64])
    if not sections:
        return error(404, f"no document with id {doc_id[:64]!r}")
    return document_json(sections)


@bp.route("/healthz", endpoint="healthz")
def healthz():
    return health()


@bp.route("/openapi.json")
def openapi():
    return openapi_spec(current_params(), request.url_root.rstrip("/"))

