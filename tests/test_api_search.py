"""/api/search and /api/documents/<id>: the envelope, paging, filters, sorting and errors."""

from __future__ import annotations

import pytest

QUERY = "职工之家"


def get_json(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    return response.get_json()


def test_search_envelope(client):
    data = get_json(client, f"/api/search?q={QUERY}")
    assert data["ok"] is True
    assert data["query"] == QUERY and data["page"] == 1 and data["per_page"] == 10
    assert data["total_sections"] >= len(data["results"]) > 0  # group=section (the default) lists sections
    assert 0 < data["total"] <= data["total_sections"]  # total counts their documents
    assert set(data["facets"]) == {"year", "site", "org_type"}
    hit = data["results"][0]
    assert "<mark>" in hit["snippet"]
    assert hit["doc_url"].startswith("http://localhost/doc/" + hit["doc_id"])
    assert data["prev_url"] is None


def test_pages_do_not_overlap_and_cover_total(client):
    first = get_json(client, f"/api/search?q={QUERY}&per_page=4")
    seen: list[str] = []
    url, pages = f"/api/search?q={QUERY}&per_page=4", 0
    while url:
        data = get_json(client, url)
        seen += [r["id"] for r in data["results"]]
        url = data["next_url"] and data["next_url"].replace("http://localhost", "")
        pages += 1
        assert pages <= first["pages"]
    assert len(seen) == len(set(seen)), "a result appeared on two pages"
    assert len(seen) == first["total_sections"]


def test_per_page_limits(client):
    assert len(get_json(client, "/api/search?q=工会&per_page=100")["results"]) <= 100
    assert len(get_json(client, "/api/search?q=工会&per_page=1")["results"]) == 1
    for bad in ("101", "1000", "0", "-5", "x"):
        err = get_json(client, f"/api/search?q=工会&per_page={bad}", 400)
        assert err == {"ok": False, "status": 400, "error": err["error"], "errors": [err["error"]]}
        assert "per_page" in err["error"]


@pytest.mark.parametrize("params, names", [
    ("", "q"), ("q=", "q"), ("q=+++", "q"), ("q=工会&page=-1", "page"), ("q=工会&page=0", "page"),
    ("q=工会&page=1001", "page"), ("q=工会&page=1.5", "page"), ("q=工会&sort=popular", "sort"),
    ("q=工会&year=abc", "year"), ("q=工会&year=20", "year"), ("q=工会&site=" + "s" * 200, "site"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, params, names):
    err = get_json(client, f"/api/search?{params}", 400)
    assert err["ok"] is False and err["status"] == 400 and names in err["error"]


def test_long_query_is_cut_not_refused(client, app):
    limit = app.config["UNIONSEARCH"].search.max_query_chars
    data = get_json(client, "/api/search?q=" + "职工" * 300)
    assert data["ok"] is True and len(data["query"]) == limit


def test_unknown_parameters_are_ignored(client):
    plain = get_json(client, f"/api/search?q={QUERY}")
    extra = get_json(client, f"/api/search?q={QUERY}&_=123&callback=x&foo=bar")
    assert [r["id"] for r in plain["results"]] == [r["id"] for r in extra["results"]]


def test_page_past_the_end_is_empty(client):
    data = get_json(client, f"/api/search?q={QUERY}&page=1000")
    assert data["results"] == [] and data["next_url"] is None and data["total"] > 0


def test_filters_narrow_results(client):
    data = get_json(client, f"/api/search?q={QUERY}")
    for name in ("year", "site", "org_type"):
        value, count = max(data["facets"][name].items(), key=lambda kv: kv[1])
        filtered = get_json(client, f"/api/search?q={QUERY}&{name}={value}&per_page=100")
        assert 0 < filtered["total"] <= count
        assert filtered["results"] and all(str(r[name]) == value for r in filtered["results"])
        assert filtered["total"] > 1, (name, value)  # so a page of one result has a next page
        paged = get_json(client, f"/api/search?q={QUERY}&{name}={value}&per_page=1")
        assert paged["next_url"] and f"{name}=" in paged["next_url"]  # the next page keeps the filter


def test_sort_by_date_puts_newest_first(client):
    data = get_json(client, "/api/search?q=工会&sort=date&per_page=50")
    dates = [r["date"] for r in data["results"] if r["date"]]
    assert dates and dates == sorted(dates, reverse=True)


def test_document_endpoint(client):
    hit = get_json(client, f"/api/search?q={QUERY}")["results"][0]
    doc = get_json(client, f"/api/documents/{hit['doc_id']}")
    assert doc["ok"] is True and doc["id"] == hit["doc_id"] and doc["title"] == hit["document"]
    assert hit["id"] in [s["id"] for s in doc["sections"]]
    assert doc["text_url"].endswith(f"/doc/{hit['doc_id']}.txt")


def test_missing_document_is_json_404(client):
    err = get_json(client, "/api/documents/nope", 404)
    assert err["ok"] is False and err["status"] == 404 and "nope" in err["error"]


@pytest.mark.parametrize("path, status", [("/api/nowhere", 404), ("/api/documents/", 404)])
def test_unknown_api_paths_are_json(client, path, status):
    err = get_json(client, path, status)
    assert err["ok"] is False and err["status"] == status


def test_wrong_method_is_json_405(client):
    response = client.post(f"/api/search?q={QUERY}")
    assert response.status_code == 405
    assert response.get_json()["status"] == 405
