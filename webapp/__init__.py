"""The web face: search pages, JSON API and widget over the one search function."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from indexer.config import Config, find_config, load_config

if TYPE_CHECKING:
    from flask import Flask

try:
    __version__ = version("unionsearch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0"


def create_app(test_config: Config | dict | None = None) -> Flask:
    """App factory. ``test_config`` is a Config, a dict of overrides on the defaults, or None
    (read ./config.yaml)."""
    if isinstance(test_config, Config):
        config = test_config
    elif isinstance(test_config, dict):
        config = load_config(None, test_config)
    else:
        config = load_config(find_config())
    # Imported here: the `unionsearch` command lives in this package, and only `serve` needs Flask (0.3 s).
    from flask import Flask

    app = Flask(__name__)
    app.config["UNIONSEARCH"] = config
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Flask's DefaultJSONProvider has them
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # Imported here, as in Flask's tutorial: the blueprints import this package (its __version__).
    from webapp import api, feed, original, security, store, suggest, views

    store.init_app(app)
    security.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(suggest.bp)
    app.register_blueprint(feed.bp)
    app.register_blueprint(original.bp)
    app.add_url_rule("/", endpoint="index")
    return app
