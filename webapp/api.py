"""JSON API: /api/search and /api/documents/<id>; errors are {"ok": false, "status", "error"}."""

from __future__ import annotations

from flask import Blueprint, request

from indexer.search import result_to_json, search
from webapp.store import get_config, get_store
from webapp.views import search_options

bp = Blueprint("api", __name__, url_prefix="/api")


def error(status: int, message: str):
    return {"ok": False, "status": status, "error": message}, status


@bp.route("/search")
def api_search():
    q = request.args.get("q", "").strip()
    if not q:
        return error(400, "missing query parameter q")
    result = search(get_store(), q, search_options(), get_config().search.max_query_chars)
    return result_to_json(result)


@bp.route("/documents/<doc_id>")
def api_document(doc_id: str):
    sections = get_store().document(doc_id[:64])
    if not sections:
        return error(404, f"no document with id {doc_id[:64]!r}")
    first = sections[0]
    return {"ok": True, "id": first.doc_id, "title": first.document, "page_title": first.page_title,
            "source": first.source, "url": first.url, "date": first.date, "site": first.site,
            "sections": [{"id": s.id, "heading": s.heading, "heading_path": s.heading_path, "text": s.text}
                         for s in sections]}


@bp.route("/healthz", endpoint="healthz")
def healthz():
    return {"ok": True}
