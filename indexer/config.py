"""Typed settings, read once from ``config.yaml``.

Every field has a default and a help line (``metadata["help"]``); ``config.yaml`` documents the same
settings inline and a test checks the two agree. Nothing else in the code reads settings files.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """config.yaml is unreadable or holds a bad value; the message names the setting."""


def setting(default: Any, help: str):  # noqa: A002 - mirrors datasette's Setting(name, default, help)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ServerSettings:
    host: str = setting("127.0.0.1", "Interface `unionsearch serve` listens on.")
    port: int = setting(8000, "Port `unionsearch serve` listens on.")
    threads: int = setting(4, "Waitress worker threads.")
    processes: int = setting(0, "Server processes sharing the port; 0 = one per core (searching is pure Python: one "
                             "process uses one core; forked processes share the index read before the fork).")
    cors_origins: list = setting([], "Origins allowed to call the JSON API cross-origin ('*' for any).")
    frame_ancestors: list = setting(
        [], "Origins allowed to show the /embed page in an iframe, besides this site itself ('*' for any)."
    )

    @property
    def process_count(self) -> int:
        """``processes``, with 0 meaning one per core (at least 1)."""
        return self.processes if self.processes > 0 else max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CleanSettings:
    max_file_bytes: int = setting(20_000_000, "Pages larger than this are skipped with a reason.")
    drop_selectors: list = setting([], "Extra CSS selectors whose elements are always dropped.")
    drop_line_patterns: list = setting([], "Extra regular expressions; a matching line is dropped.")
    sites: dict = setting(
        {}, "Per-domain rules: {domain: {drop_selectors: [...], drop_line_patterns: [...]}}."
    )


@dataclass(frozen=True)
class AnalysisSettings:
    user_dict: str = setting("", "Your own jieba dictionary (one term per line), added to the bundled one.")
    synonyms: list = setting([], "Groups of interchangeable terms, e.g. [职代会, 职工代表大会].")


@dataclass(frozen=True)
class SearchSettings:
    per_page: int = setting(10, "Results per page by default.")
    max_per_page: int = setting(100, "Largest per_page a request may ask for.")
    max_query_chars: int = setting(500, "Longer queries are cut to this many characters.")
    snippet_chars: int = setting(160, "Approximate length of a result snippet.")
    log_queries: bool = setting(False, "Append each search of the site, API and widget (time, query, result count, "
                                "milliseconds, face; never an IP, cookie or user agent) to <log_dir>/queries-DAY.jsonl "
                                "for `unionsearch report`.")


@dataclass(frozen=True)
class SphinxSettings:
    nodes_file: str = setting("var/cluster/nodes.json", "Node list of the searchd cluster (written by "
                              "`unionsearch cluster start`).")
    query_timeout: int = setting(10, "Seconds a SphinxQL query may take before the node counts as down.")


BACKENDS = ("whoosh", "sphinx")


@dataclass(frozen=True)
class Config:
    source_dir: str = setting("scraped", "Folder of saved pages to index (relative to config.yaml).")
    index_dir: str = setting("var/index", "Where the search index lives (relative to config.yaml).")
    cache_dir: str = setting("var/cache", "Caches, e.g. jieba's dictionary cache (relative to config.yaml).")
    log_dir: str = setting("var/log", "Where commands log internal errors with their tracebacks (unionsearch.log).")
    backend: str = setting("whoosh", "Search engine: whoosh (embedded, the default) or sphinx (searchd cluster).")
    server: ServerSettings = field(default_factory=ServerSettings, metadata={"help": "Web server."})
    clean: CleanSettings = field(default_factory=CleanSettings, metadata={"help": "Cleaner rules."})
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings, metadata={"help": "Text analysis."})
    search: SearchSettings = field(default_factory=SearchSettings, metadata={"help": "Search results."})
    sphinx: SphinxSettings = field(default_factory=SphinxSettings, metadata={"help": "Sphinx backend."})
    base_dir: str = field(default=".", metadata={"help": "Folder relative paths resolve against."})

    def path(self, value: str) -> Path:
        """Resolve a configured path against the config file's folder."""
        p = Path(value)
        return p if p.is_absolute() else (Path(self.base_dir) / p).resolve()

    @property
    def source_path(self) -> Path:
        return self.path(self.source_dir)

    @property
    def index_path(self) -> Path:
        return self.path(self.index_dir)

    @property
    def cache_path(self) -> Path:
        return self.path(self.cache_dir)

    @property
    def log_path(self) -> Path:
        return self.path(self.log_dir)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


# Settings older config files may hold, now without effect: they are read and ignored, not refused.
# analysis.bigram_fallback: every index keeps the character bigrams of its sections (indexer/query.py's literal).
RETIRED = {"analysis.bigram_fallback"}


def _build(cls: type, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in data.items():
        if f"{where}{key}" in RETIRED:
            continue
        if key not in known:
            raise ConfigError(f"unknown setting {where}{key!r}; see config.yaml for the list")
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default):
            values[key] = _build(type(default), value or {}, f"{where}{key}.")
            continue
        if value is None:
            continue
        expected = type(default)
        if expected is int and isinstance(value, bool) or not isinstance(value, expected):
            raise ConfigError(f"setting {where}{key} must be {expected.__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Read ``config.yaml`` (or defaults when ``path`` is None) and apply ``overrides``.

    Raises ConfigError with a one-line message on a missing file, bad YAML or a bad value.
    """
    data: dict = {}
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read {p}: {str(e).splitlines()[0]}") from None
        base = p.resolve().parent
    data = _merge(data, overrides or {})
    data.setdefault("base_dir", str(base))
    config = _build(Config, data, "")
    if config.backend not in BACKENDS:
        raise ConfigError(f"setting backend must be one of {', '.join(BACKENDS)}, got {config.backend!r}")
    return config


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def find_config(start: Path | None = None) -> Path | None:
    """The config.yaml in the current folder, if any."""
    p = (start or Path.cwd()) / "config.yaml"
    return p if p.is_file() else None
