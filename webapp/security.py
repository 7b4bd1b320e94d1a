"""Response headers: a strict Content-Security-Policy, nosniff, framing rules and CORS for the JSON API.

- Every page may load only our own scripts, styles and images (no inline JS, no CDN).
- Pages may be framed by this site only, except ``/embed`` which the origins in
  ``server.frame_ancestors`` may also frame (the iframe mode of the widget).
- ``/api/*`` answers cross-origin requests only from the origins in ``server.cors_origins``
  (none by default; ``*`` allows any); a refused origin simply gets no ``Access-Control-Allow-Origin``.
"""

from __future__ import annotations

from flask import Flask, Request, Response, current_app, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")
EMBEDDABLE = ("site.embed",)  # endpoints other sites may frame
CORS_PATHS = ("/api/",)
CORS_MAX_AGE = "600"


def _origin_list(values) -> list[str]:
    return [str(v).strip().rstrip("/") for v in values or () if str(v).strip()]


def frame_ancestors(endpoint: str | None) -> str:
    """The CSP frame-ancestors value for a response of ``endpoint``."""
    if endpoint in EMBEDDABLE:
        extra = _origin_list(current_app.config["UNIONSEARCH"].server.frame_ancestors)
        if "*" in extra:
            return "*"
        return " ".join(["'self'", *extra])
    return "'self'"


def allowed_origin(req: Request) -> str | None:
    """The value for Access-Control-Allow-Origin, or None when this request's origin is not allowed."""
    origin = req.headers.get("Origin")
    if not origin:
        return None
    allowed = _origin_list(current_app.config["UNIONSEARCH"].server.cors_origins)
    if "*" in allowed:
        return "*"
    return origin if origin.rstrip("/") in allowed else None


def add_headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    ancestors = frame_ancestors(request.endpoint)
    h.setdefault("Content-Security-Policy", f"{CSP}; frame-ancestors {ancestors}")
    if ancestors == "'self'":
        h.setdefault("X-Frame-Options", "SAMEORIGIN")
    if request.path.startswith(CORS_PATHS):
        h.add("Vary", "Origin")
        origin = allowed_origin(request)
        if origin:
            h["Access-Control-Allow-Origin"] = origin
            h["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            h["Access-Control-Allow-Headers"] = "Accept, Content-Type"
            h["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
