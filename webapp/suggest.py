"""Search suggestions as you type: GET /api/suggest (Chinese prefix, full pinyin, pinyin initials).

The answer is ``{"ok": true, "query", "suggestions": [{"text", "weight", "kind", "match"}]}``, best first; errors
are the API's ``{"ok": false, "status", "error", "errors"}``. The phrases come from indexer.suggest (made at index
time, kept in memory per index generation). The search box of the site, of /embed and of the embed.js widget
call it (webapp/static/app.js, embed.js).
"""

from __future__ import annotations

from flask import Blueprint, request

from indexer.suggest import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS, complete
from webapp.api import Param, error
from webapp.store import get_store

bp = Blueprint("suggest", __name__, url_prefix="/api")

MAX_AGE = 60  # seconds a browser may reuse an answer (suggestions change only with the index)


def suggest_params() -> tuple[Param, ...]:
    """The parameters of /api/suggest (validated below, described in the OpenAPI document)."""
    return (
        Param("q", {"type": "string", "minLength": 1},
              "What has been typed so far: the start of a phrase in Chinese (traditional characters too), its "
              "full pinyin (zhigongzhijia) or its pinyin initials (zgzj). Spaces and punctuation are ignored; "
              f"longer text is cut to {MAX_QUERY_CHARS} characters.", required=True),
        Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
              f"Suggestions to return, at most {MAX_LIMIT}."),
    )


def _limit(raw: str | None) -> int | str:
    """The limit, or the error message for a bad one."""
    if raw is None or not raw.strip():
        return DEFAULT_LIMIT
    try:
        limit = int(raw.strip())
    except ValueError:
        return f"limit must be an integer, got {raw[:20]!r}"
    if not 1 <= limit <= MAX_LIMIT:
        return f"limit must be between 1 and {MAX_LIMIT}, got {limit}"
    return limit


@bp.route("/suggest")
def api_suggest():
    q = request.args.get("q", "")
    if not q.strip():
        return error(400, "missing query parameter q")
    limit = _limit(request.args.get("limit"))
    if isinstance(limit, str):
        return error(400, limit)
    q = q.strip()[:MAX_QUERY_CHARS]
    found = complete(get_store(), q, limit)
    body = {"ok": True, "query": q,
            "suggestions": [{"text": s.text, "weight": s.weight, "kind": s.kind, "match": s.match} for s in found]}
    return body, 200, {"Cache-Control": f"public, max-age={MAX_AGE}"}
