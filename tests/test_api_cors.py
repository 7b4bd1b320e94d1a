"""CORS on /api/*: none by default, only the configured origins, '*' only when configured."""

from __future__ import annotations

import pytest

from webapp import create_app

ALLOWED = "http://intranet.example:8080"
PATH = "/api/search?q=职工之家"


def client_for(corpus_config, origins):
    server = corpus_config.server.__class__(cors_origins=origins)
    return create_app(corpus_config.replace(server=server)).test_client()


@pytest.fixture(scope="module")
def cors_client(corpus_config):
    return client_for(corpus_config, [ALLOWED, "https://other.example/"])


def test_no_cross_origin_access_by_default(client):
    response = client.get(PATH, headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers.get("Vary", "")


def test_configured_origin_is_allowed(cors_client):
    response = cors_client.get(PATH, headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    trailing = cors_client.get(PATH, headers={"Origin": "https://other.example"})  # config had a trailing "/"
    assert trailing.headers["Access-Control-Allow-Origin"] == "https://other.example"


@pytest.mark.parametrize("origin", ["http://evil.example", "http://intranet.example", "http://intranet.example:8081",
                                    "null"])
def test_other_origins_are_refused(cors_client, origin):
    response = cors_client.get(PATH, headers={"Origin": origin})
    assert response.status_code == 200  # the browser, not the server, withholds the body
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight(cors_client):
    response = cors_client.options(PATH, headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    refused = cors_client.options(PATH, headers={"Origin": "http://evil.example",
                                                 "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_errors_carry_cors_headers_too(cors_client):
    response = cors_client.get("/api/search?q=工会&per_page=1000", headers={"Origin": ALLOWED})
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_star_allows_any_origin(corpus_config):
    client = client_for(corpus_config, ["*"])
    response = client.get(PATH, headers={"Origin": "http://anyone.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_pages_are_not_cors_enabled(cors_client):
    response = cors_client.get("/search?q=工会", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers
