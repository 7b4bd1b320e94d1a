"""The OpenAPI 3.1 description served at /api/openapi.json.

Parameters come from ``webapp.api.search_params`` and ``webapp.suggest.suggest_params`` (the declarations that
validate requests); response schemas are closed (``additionalProperties: false``) so a test that validates real
responses against them fails when a key is added without being documented here.
"""

from __future__ import annotations

from typing import Any

from webapp import __version__


def _nullable(type_: str, description: str, **extra) -> dict:
    return {"type": [type_, "null"], "description": description, **extra}


def _obj(properties: dict, description: str = "", optional: tuple[str, ...] = ()) -> dict:
    required = [k for k in properties if k not in optional]
    out = {"type": "object", "required": required, "additionalProperties": False, "properties": properties}
    if description:
        out["description"] = description
    return out


STR = {"type": "string"}
COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}

SCHEMAS: dict = {
    "Error": _obj({
        "ok": {"const": False},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status code."},
        "error": {"type": "string", "description": "One line naming the problem."},
        "errors": {"type": "array", "items": STR, "description": "Every problem found (the first is `error`)."},
    }, "Every error response, with a 4xx (or 5xx) status."),
    "Result": _obj({
        "id": {"type": "string", "description": "Section id, stable across rebuilds: `<source>#<doc>.<section>`."},
        "doc_id": {"type": "string", "description": "Id of the section's document (for /api/documents/{doc_id})."},
        "source": {"type": "string", "description": "The saved page's path relative to the corpus folder."},
        "document": {"type": "string", "description": "Document title."},
        "page_title": {"type": "string", "description": "Title of the saved page the document came from."},
        "heading": {"type": "string", "description": "The section's heading (\"\" for a lead section)."},
        "heading_path": {"type": "string", "description": "Headings from the outermost down, joined by \" › \"."},
        "text": {"type": "string", "description": "The section's whole cleaned text (never truncated)."},
        "snippet": {"type": "string", "description": "An excerpt, HTML-escaped, with <mark> around matched words; "
                    "the only markup it contains is <mark>."},
        "score": {"type": "number", "description": "Relevance score (only comparable within one query)."},
        "similar": {"type": "integer", "minimum": 0,
                    "description": "Near-identical sections folded into this result."},
        "url": _nullable("string", "The original page's URL, when known."),
        "date": _nullable("string", "Publication date: YYYY-MM-DD, YYYY-MM or YYYY."),
        "year": _nullable("integer", "Year used by the year filter."),
        "site": _nullable("string", "Domain of the original page."),
        "org_type": _nullable("string", "Kind of organisation the text is about (企业, 学校, 医院 …)."),
        "doc_url": {"type": "string", "format": "uri",
                    "description": "Absolute URL of this section on the document page of this site."},
        "document_html": {"type": "string", "description": "`document` HTML-escaped, with <mark> around the "
                          "query's words (the only markup it contains, as in `snippet`)."},
        "heading_html": {"type": "string", "description": "`heading` HTML-escaped, with <mark> around the query's "
                         "words."},
        "heading_path_html": {"type": "string", "description": "`heading_path` HTML-escaped, with <mark> around "
                              "the query's words."},
        "file_type": _nullable("string", "The source file's type when it is not a web page or text: Word (.docx, "
                               ".doc), WPS, PDF or RTF.", enum=["Word", "WPS", "PDF", "RTF", None]),
        "also": {"type": "array", "items": {"$ref": "#/components/schemas/Result"},
                 "description": "Other matching sections of the same document, when results are grouped by "
                                "document (each has an empty `also`)."},
    }, "One matching section.", optional=("also",)),
    "SearchResponse": _obj({
        "ok": {"const": True},
        "query": {"type": "string", "description": "The query as searched (cut to the maximum length)."},
        "total": {"type": "integer", "minimum": 0, "description": "Documents found, over every page (near-copies "
                  "folded): the count the site, /embed, the widget and the CLI show."},
        "total_sections": {"type": "integer", "minimum": 0, "description": "The sections found in those "
                           "documents: what `group=section` lists page by page."},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1, "description": "Number of pages (at least 1)."},
        "took_ms": {"type": "number", "minimum": 0, "description": "Time spent searching, in milliseconds."},
        "partial": {"type": "boolean", "description": "True when no section had every word and results match "
                    "only some of them."},
        "incomplete": {"type": "boolean", "description": "True when some index node did not answer (sphinx "
                       "backend): results may be missing. Always false on the embedded Whoosh index."},
        "total_estimated": {"type": "boolean", "description": "True when the query matches so much that `total` "
                            "and the facet counts were extrapolated from the first few thousand matches."},
        "notice": _nullable("string", "A message for the reader about these results (Chinese)."),
        "suggestion": _nullable("string", "\"Did you mean\": a spelling that finds more, when one exists."),
        "corrected": _nullable("string", "When the query found nothing and its suggestion finds something: the "
                               "suggestion, whose results are shown instead (the notice says so)."),
        "facets": {"type": "object", "additionalProperties": False, "required": ["year", "site", "org_type"],
                   "description": "Matching documents per filter value (what `total` becomes with that "
                   "filter), most frequent first.",
                   "properties": {"year": COUNTS, "site": COUNTS, "org_type": COUNTS}},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
        "next_url": _nullable("string", "Absolute URL of the next page, or null on the last page.", format="uri"),
        "prev_url": _nullable("string", "Absolute URL of the previous page, or null on the first.", format="uri"),
    }, "A page of results."),
    "Section": _obj({
        "id": STR, "heading": STR, "heading_path": STR,
        "text": {"type": "string", "description": "Paragraphs joined by \\n."},
    }),
    "DocumentResponse": _obj({
        "ok": {"const": True},
        "id": {"type": "string", "description": "The document id."},
        "title": STR,
        "page_title": STR,
        "source": STR,
        "url": _nullable("string", "The original page's URL, when known."),
        "date": _nullable("string", "Publication date."),
        "year": _nullable("integer", "Year."),
        "site": _nullable("string", "Domain of the original page."),
        "org_type": _nullable("string", "Kind of organisation."),
        "doc_url": {"type": "string", "format": "uri", "description": "The document page on this site."},
        "text_url": {"type": "string", "format": "uri", "description": "The cleaned text as a .txt download."},
        "sections": {"type": "array", "items": {"$ref": "#/components/schemas/Section"}},
    }, "One cleaned document, section by section."),
    "Suggestion": _obj({
        "text": {"type": "string", "description": "The phrase, as it stands in the index (search for it as it is)."},
        "weight": {"type": "integer", "minimum": 0,
                   "description": "Roughly how many sections a search for it finds (an estimate made at index time; "
                                  "the list is sorted by it). Not a result count: search for the count."},
        "kind": {"type": "string", "enum": ["title", "heading", "phrase"],
                 "description": "Where it comes from: a document title, a section heading, or a phrase that "
                                "recurs in titles, headings and text."},
        "match": {"type": "string", "enum": ["prefix", "pinyin", "initials"],
                  "description": "How the input matched: the start of the phrase (Chinese, traditional input "
                                 "normalised), the start of its full pinyin, or the start of its pinyin initials."},
    }, "One suggested phrase."),
    "SuggestResponse": _obj({
        "ok": {"const": True},
        "query": {"type": "string", "description": "The input as matched (trimmed, cut to the maximum length)."},
        "suggestions": {"type": "array", "items": {"$ref": "#/components/schemas/Suggestion"},
                        "description": "Best first; empty when nothing matches."},
    }, "Suggestions for what has been typed so far."),
    "Health": _obj({
        "ok": {"type": "boolean"},
        "status": {"type": "integer"},
        "index": {"type": "object", "description": "generation, pages, documents, sections and built time of "
                  "the live index (exists: false when there is none)."},
        "error": {"type": "string"},
        "errors": {"type": "array", "items": STR},
    }, "Monitoring: 200 with ok true when the index can be searched, else 503.") | {"required": ["ok", "index"]},
}


def _json(ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _parameters(params) -> list[dict]:
    return [{"name": p.name, "in": "query", "required": p.required, "description": p.help, "schema": dict(p.schema)}
            for p in params]


def openapi_spec(params, server_url: str = "") -> dict:
    """The OpenAPI document for the given /api/search parameter declarations (and /api/suggest's own)."""
    from webapp.suggest import suggest_params  # imported here: webapp.suggest imports webapp.api, which imports us

    parameters = _parameters(params)
    errors = {"400": _json("Error", "A parameter is missing or out of range; `error` names it.")}
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "unionsearch JSON API",
            "version": __version__,
            "description": "Full-text search over Chinese trade-union documents. Every success has `\"ok\": true`; "
                           "every error is `{\"ok\": false, \"status\", \"error\", \"errors\"}` with that status. "
                           "Keys may be added in later versions, never renamed. Unknown query parameters are "
                           "ignored. Cross-origin calls are allowed for the origins the server is configured with.",
        },
        "paths": {
            "/api/search": {"get": {
                "operationId": "search",
                "summary": "Search sections",
                "parameters": parameters,
                "responses": {"200": _json("SearchResponse", "A page of results."), **errors},
            }},
            "/api/suggest": {"get": {
                "operationId": "suggest",
                "summary": "Suggestions as you type (Chinese prefix, full pinyin, pinyin initials)",
                "parameters": _parameters(suggest_params()),
                "responses": {"200": _json("SuggestResponse", "Suggestions, best first (maybe none)."), **errors},
            }},
            "/api/documents/{doc_id}": {"get": {
                "operationId": "document",
                "summary": "One document with all its sections",
                "parameters": [{"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"},
                                "description": "A `doc_id` from a search result."}],
                "responses": {"200": _json("DocumentResponse", "The document."),
                              "404": _json("Error", "No document has this id.")},
            }},
            "/api/healthz": {"get": {
                "operationId": "health",
                "summary": "Health check (also at /healthz)",
                "responses": {"200": _json("Health", "The index can be searched."),
                              "503": _json("Health", "No usable index.")},
            }},
            "/api/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": SCHEMAS},
    }
    if server_url:
        spec["servers"] = [{"url": server_url}]
    return spec
