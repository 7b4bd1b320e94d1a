"""HTML pages: home, results, document."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from indexer.search import FILTERS, SearchOptions, search
from indexer.store import IndexIncompatible, IndexMissing
from webapp.store import get_config, get_store

bp = Blueprint("site", __name__)


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(request.args.get(name, default))))
    except (TypeError, ValueError):
        return default


def search_options(default_per_page: int | None = None) -> SearchOptions:
    """SearchOptions from the request's query string (shared by pages and API); bad values → defaults."""
    cfg = get_config().search
    per_page = _int_arg("per_page", default_per_page or cfg.per_page, 1, cfg.max_per_page)
    filters = tuple((k, request.args[k]) for k in FILTERS if request.args.get(k))
    sort = request.args.get("sort", "relevance")
    return SearchOptions(page=_int_arg("page", 1, 1, 10_000), per_page=per_page,
                         sort=sort if sort in ("relevance", "date") else "relevance",
                         filters=filters, snippet_chars=cfg.snippet_chars)


def _stats() -> dict:
    try:
        return get_store().stats()
    except (IndexMissing, IndexIncompatible):
        return {"exists": False}


@bp.route("/", endpoint="index")
def index():
    return render_template("index.html", stats=_stats())


@bp.route("/search")
def results():
    q = request.args.get("q", "").strip()
    if not q:
        return render_template("index.html", stats=_stats())
    options = search_options()
    result = search(get_store(), q, options, get_config().search.max_query_chars)
    return render_template("results.html", q=q, result=result, options=options,
                           active=dict(options.filters))


@bp.route("/doc/<doc_id>")
def document(doc_id: str):
    # Ids are looked up in the index only; they never reach the file system.
    sections = get_store().document(doc_id[:64])
    if not sections:
        abort(404, description="没有这篇文档")
    return render_template("document.html", sections=sections, first=sections[0],
                           highlight=request.args.get("s", ""))


@bp.app_errorhandler(404)
def not_found(e):
    if request.path.startswith("/api/"):
        return {"ok": False, "status": 404, "error": "not found"}, 404
    return render_template("error.html", status=404, message=getattr(e, "description", "页面不存在")), 404


@bp.app_errorhandler(500)
def server_error(e):
    if request.path.startswith("/api/"):
        return {"ok": False, "status": 500, "error": "internal error"}, 500
    return render_template("error.html", status=500, message="服务器内部错误"), 500
