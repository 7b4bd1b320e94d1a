"""The app's one search backend: opened once at start-up, searchers reused per thread (see indexer.backends)."""

from __future__ import annotations

from flask import Flask, current_app

from indexer.backends import Backend, open_store
from indexer.config import Config

KEY = "unionsearch.store"


def init_app(app: Flask) -> None:
    app.extensions[KEY] = open_store(app.config["UNIONSEARCH"])


def get_store() -> Backend:
    return current_app.extensions[KEY]


def get_config() -> Config:
    return current_app.config["UNIONSEARCH"]
