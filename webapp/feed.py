"""Subscribe to a search: GET /feed?q= (an Atom feed of the newest matching documents)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feed", __name__)
