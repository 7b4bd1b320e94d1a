"""URLs as people type and paste them: raw UTF-8 in the query string, /?q=, a section id in /doc/, a favicon."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import waitress

from webapp.server import accept_raw_utf8


def test_home_with_a_query_shows_the_results(client):
    response = client.get("/?q=职工之家&year=2024")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/search?")
    follow = client.get(response.headers["Location"])
    assert follow.status_code == 200 and "职工之家" in follow.get_data(as_text=True)


def test_home_without_a_query_is_the_home_page(client):
    assert client.get("/").status_code == 200 and client.get("/?q=").status_code == 200


def test_a_section_id_opens_its_document_at_that_section(client):
    hit = client.get("/api/search?q=职工之家").get_json()["results"][0]
    response = client.get(f"/doc/{hit['id']}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/doc/{hit['doc_id']}?s={hit['id']}#{hit['id']}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'id="{hit["id"]}" class="current"' in page
    assert client.get("/doc/nosuch-0.3").status_code == 404


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.fixture
def waitress_url(app):
    accept_raw_utf8()
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.effective_host, server.effective_port
    server.close()
    thread.join(10)


def _raw_get(address, target: bytes) -> tuple[int, bytes]:
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_raw_utf8_in_the_query_string_is_answered(waitress_url):
    """curl "…/api/search?q=职工之家" sends the UTF-8 bytes unencoded; the answer is the same as encoded."""
    raw_status, raw_body = _raw_get(waitress_url, "/api/search?q=职工之家".encode())
    encoded_status, encoded_body = _raw_get(waitress_url, b"/api/search?q=%E8%81%8C%E5%B7%A5%E4%B9%8B%E5%AE%B6")
    assert raw_status == encoded_status == 200
    raw, encoded = json.loads(raw_body), json.loads(encoded_body)
    assert raw["query"] == "职工之家" and raw["total"] == encoded["total"] > 0
