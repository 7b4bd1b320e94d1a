"""Settings: config.yaml documents every setting of the typed Config, and bad values are named."""

from __future__ import annotations

import dataclasses
import os

import pytest
import yaml

from indexer.config import Config, ConfigError, load_config

from helpers import ROOT


def leaves(cls, prefix=""):
    for f in dataclasses.fields(cls):
        if f.name == "base_dir":
            continue
        default = getattr(cls(), f.name)
        if dataclasses.is_dataclass(default):
            yield from leaves(type(default), f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f


def test_every_setting_has_help_and_is_in_config_yaml():
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for name, f in leaves(Config):
        assert f.metadata.get("help"), name
        node = data
        for part in name.split("."):
            assert part in node, f"{name} missing from config.yaml"
            node = node[part]


def test_every_setting_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, _ in leaves(Config):
        assert f"`{name}`" in readme, f"{name} not documented in README.md"


def test_config_yaml_loads_and_resolves_paths():
    config = load_config(ROOT / "config.yaml")
    assert config.source_path == ROOT / "scraped"
    assert config.server.port == 8000


@pytest.mark.parametrize("data,where", [
    ({"search": {"per_page": "ten"}}, "search.per_page"),
    ({"nonsense": 1}, "nonsense"),
    ({"server": ["x"]}, "server"),
])
def test_bad_values_are_named(data, where):
    with pytest.raises(ConfigError, match=where):
        load_config(None, data)


def test_overrides_merge_into_sections():
    config = load_config(ROOT / "config.yaml", {"server": {"port": 9001}})
    assert config.server.port == 9001 and config.server.host == "127.0.0.1"


def test_a_retired_setting_still_loads(tmp_path):
    """analysis.bigram_fallback no longer does anything (every index keeps its literal bigrams): an older
    config file that sets it loads, and an unknown key is still refused."""
    path = tmp_path / "config.yaml"
    path.write_text("analysis:\n  bigram_fallback: true\n", encoding="utf-8")
    assert load_config(path).analysis.synonyms == []
    path.write_text("analysis:\n  bigram_fallbak: true\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)


def test_server_processes_default_to_one_per_core():
    assert load_config(None).server.processes == 0
    assert load_config(None).server.process_count == max(1, os.cpu_count() or 1)
    assert load_config(None, {"server": {"processes": 3}}).server.process_count == 3
