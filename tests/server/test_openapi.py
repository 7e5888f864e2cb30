"""The OpenAPI document: every operation the app routes, every reference resolvable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import cast

from antiphon._version import __version__
from antiphon.server.openapi import openapi_document, render_docs


def _refs(value: object) -> Iterator[str]:
    # JSON boundary: the document is plain dicts and lists of unknown element types.
    if isinstance(value, dict):
        for key, item in cast(dict[str, object], value).items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in cast(list[object], value):
            yield from _refs(item)


def test_the_document_lists_every_route_with_its_methods() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "antiphon", "version": __version__}
    paths = json.loads(json.dumps(document["paths"]))
    assert {path: sorted(ops) for path, ops in paths.items()} == {
        "/v1/responses": ["get", "post"],
        "/v1/responses/{response_id}": ["delete", "get"],
        "/v1/responses/{response_id}/cancel": ["post"],
        "/v1/responses/{response_id}/input_items": ["get"],
        "/v1/models": ["get"],
        "/health": ["get"],
        "/metrics": ["get"],
    }
    create = paths["/v1/responses"]["post"]
    assert create["requestBody"]["required"] is True
    assert set(create["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert "requestBody" not in paths["/health"]["get"]


def test_every_reference_resolves_to_a_component() -> None:
    document = openapi_document()
    components = json.loads(json.dumps(document["components"]))
    schemas = components["schemas"]
    assert {"CreateResponseBody", "Response"} <= set(schemas)
    refs = set(_refs(json.loads(json.dumps(document))))
    assert refs
    prefix = "#/components/schemas/"
    assert all(ref.startswith(prefix) and ref.removeprefix(prefix) in schemas for ref in refs)
    assert not any("$defs" in schema for schema in schemas.values())
    assert openapi_document() is document  # computed once


def test_the_docs_page_is_self_contained_html() -> None:
    page = render_docs()
    assert page.startswith("<!doctype html>")
    assert "<code>/v1/responses/{response_id}/input_items</code>" in page
    assert "<code>DELETE</code>" in page
    head = page.split("<pre>")[0]  # no script or stylesheet from the network
    assert "http" not in head
    assert "&quot;openapi&quot;: &quot;3.1.0&quot;" in page
