"""The app's one Store: opened once at start-up, searchers reused per thread (see indexer.store)."""

from __future__ import annotations

from flask import Flask, current_app

from indexer.config import Config
from indexer.engine import open_store
from indexer.store import Store

KEY = "unionsearch.store"


def init_app(app: Flask) -> None:
    app.extensions[KEY] = open_store(app.config["UNIONSEARCH"])


def get_store() -> Store:
    return current_app.extensions[KEY]


def get_config() -> Config:
    return current_app.config["UNIONSEARCH"]
