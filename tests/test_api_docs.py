"""docs/api.md cannot drift: it names every parameter and response key, and its examples are real responses.

The examples between ``<!-- example: PATH -->`` and ``<!-- /example -->`` are made by running the app over
an index of scraped/ (datasette's habit); regenerate them with

    .venv/bin/python tests/test_api_docs.py

Long ``text`` values are shortened with "…" so the page stays readable; everything else is as served.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from openapi_schema_validator import OAS31Validator

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "api.md"
EMBED_MD = ROOT / "docs" / "embedding.md"
EXAMPLE = re.compile(r"(<!-- example: (?P<path>\S+) -->\n```json\n)(?P<body>.*?)(\n```\n<!-- /example -->)", re.S)
BASE_URL = "http://127.0.0.1:8000"
SHORTEN = 120


def shorten(value):
    if isinstance(value, dict):
        return {k: (v[:SHORTEN] + "…" if k == "text" and isinstance(v, str) and len(v) > SHORTEN else shorten(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


def render(client, path: str) -> str:
    response = client.get(path, base_url=BASE_URL)
    return json.dumps(shorten(response.get_json()), ensure_ascii=False, indent=2)


def update(client) -> None:
    text = API_MD.read_text(encoding="utf-8")
    text = EXAMPLE.sub(lambda m: m.group(1) + render(client, m.group("path")) + m.group(4), text)
    API_MD.write_text(text, encoding="utf-8")


def examples() -> list[tuple[str, str]]:
    return [(m.group("path"), m.group("body")) for m in EXAMPLE.finditer(API_MD.read_text(encoding="utf-8"))]


def test_docs_exist_and_have_examples():
    assert len(examples()) >= 5
    embedding = EMBED_MD.read_text(encoding="utf-8")
    assert 'data-target="#union-search"' in embedding and "<iframe" in embedding and "--cors-origin" in embedding


def test_every_parameter_and_key_is_documented(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    doc = API_MD.read_text(encoding="utf-8")
    names = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    for schema in ("SearchResponse", "Result", "DocumentResponse", "Error"):
        names |= set(spec["components"]["schemas"][schema]["properties"])
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"docs/api.md does not mention {missing}"
    for path in spec["paths"]:
        assert path.replace("{doc_id}", "<doc_id>") in doc or path in doc, path


@pytest.mark.parametrize("path, body", examples() or [("-", "{}")])
def test_examples_are_real_responses(client, app, path, body):
    """Each example has the shape the API returns today (values change with the corpus; the shape may not)."""
    spec = app.test_client().get("/api/openapi.json").get_json()
    example = json.loads(body)
    live = client.get(path)
    assert live.status_code == (example.get("status") or 200)
    route = "/api/documents/{doc_id}" if path.startswith("/api/documents/") else path.split("?")[0]
    ref = spec["paths"][route]["get"]["responses"][str(live.status_code)]["content"]["application/json"]["schema"]
    schema = {**ref, "components": spec["components"]}
    OAS31Validator(schema).validate(example)
    OAS31Validator(schema).validate(live.get_json())
    assert set(example) == set(live.get_json())


if __name__ == "__main__":  # regenerate the examples in docs/api.md
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    from indexer.backends import open_store
    from indexer.build import build_index
    from webapp import create_app

    from helpers import make_config

    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp))
        build_index(config, open_store(config), progress=False, workers=1)
        update(create_app(config).test_client())
    print(f"updated {API_MD.relative_to(ROOT)}")
