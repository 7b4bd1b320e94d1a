"""/api/openapi.json is a valid OpenAPI 3.1 document that documents every parameter and matches real responses."""

from __future__ import annotations

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from webapp.api import search_params


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def check(spec: dict, schema_name: str, body: dict) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    OAS31Validator(schema).validate(body)


def response_schema(spec, path, status) -> str:
    ref = spec["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def test_spec_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_search_parameter_is_documented(spec, app):
    documented = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    cfg = app.config["UNIONSEARCH"].search
    declared = search_params(cfg.max_per_page, cfg.per_page, cfg.max_query_chars)
    assert set(documented) == {p.name for p in declared} == {"q", "page", "per_page", "sort", "group", "client",
                                                            "snippets", "year", "site", "org_type"}
    assert all(p["description"] for p in documented.values())
    assert documented["per_page"]["schema"]["maximum"] == cfg.max_per_page == 100
    assert documented["q"]["required"] is True


@pytest.mark.parametrize("path, found", [
    ("/api/search?q=职工之家", True), ("/api/search?q=工会&per_page=100&sort=date", True),
    ("/api/search?q=zzqxvw", False), ("/api/search?q=工会&page=1000", False),
    ("/api/search?q=工会&org_type=企业", True), ("/api/search?q=职代会 劳动合同", True),
])
def test_search_responses_match_the_spec(client, spec, path, found):
    """Each request succeeds (an error body would validate against the Error schema and prove nothing) and its
    body has the documented shape, with results where the corpus has some."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
    body = response.get_json()
    check(spec, response_schema(spec, "/api/search", 200), body)
    assert body["ok"] is True and bool(body["results"]) is found, (path, body["total"])


@pytest.mark.parametrize("path", ["/api/search", "/api/search?q=工会&per_page=1000", "/api/search?q=a&sort=x"])
def test_error_responses_match_the_spec(client, spec, path):
    response = client.get(path)
    assert response.status_code == 400
    check(spec, response_schema(spec, "/api/search", 400), response.get_json())


def test_document_responses_match_the_spec(client, spec):
    doc_id = client.get("/api/search?q=职工之家").get_json()["results"][0]["doc_id"]
    ok = client.get(f"/api/documents/{doc_id}")
    assert ok.status_code == 200
    check(spec, response_schema(spec, "/api/documents/{doc_id}", 200), ok.get_json())
    assert ok.get_json()["id"] == doc_id and ok.get_json()["sections"]
    missing = client.get("/api/documents/nope")
    assert missing.status_code == 404
    check(spec, response_schema(spec, "/api/documents/{doc_id}", 404), missing.get_json())


def test_health_response_matches_the_spec(client, spec):
    response = client.get("/api/healthz")
    assert response.status_code == 200
    check(spec, response_schema(spec, "/api/healthz", 200), response.get_json())
    assert response.get_json()["ok"] is True


def test_spec_schemas_are_closed(spec):
    """A key added to a response without documenting it fails the validation tests above."""
    for name in ("Result", "SearchResponse", "DocumentResponse", "Error"):
        assert spec["components"]["schemas"][name]["additionalProperties"] is False
    with pytest.raises(Exception, match="Additional properties"):
        check(spec, "Error", {"ok": False, "status": 400, "error": "x", "errors": ["x"], "surprise": 1})
