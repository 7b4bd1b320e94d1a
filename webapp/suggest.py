"""Search suggestions as you type: GET /api/suggest (Chinese prefix, full pinyin, pinyin initials)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("suggest", __name__, url_prefix="/api")
