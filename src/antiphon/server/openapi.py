"""The OpenAPI document of the server, built from the same models the routes validate with.

Served at ``/openapi.json``, and as a self-contained page at ``/docs`` (no assets from the
network: many deployments of antiphon are offline).
"""

from __future__ import annotations

import html
import json
from functools import cache

from openai.types.responses import Response

from antiphon._version import __version__
from antiphon.responses.request import CreateResponseBody

__all__ = ["openapi_document", "render_docs"]

_RESPONSE = {"$ref": "#/components/schemas/Response"}
_ERROR = {"description": "An OpenAI-style error body: {error: {message, type, param, code}}"}


def _op(summary: str, ok: str, *, body: bool = False, stream: bool = False) -> dict[str, object]:
    content: dict[str, object] = {"application/json": {"schema": _RESPONSE}}
    if stream:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    operation: dict[str, object] = {
        "summary": summary,
        "responses": {"200": {"description": ok, "content": content}, "4XX": _ERROR},
    }
    if body:
        schema = {"$ref": "#/components/schemas/CreateResponseBody"}
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    return operation


_Paths = dict[str, dict[str, dict[str, object]]]


def _paths() -> _Paths:
    item = "/v1/responses/{response_id}"
    return {
        "/v1/responses": {
            "post": _op(
                "Create a response", "The response, or its SSE stream", body=True, stream=True
            ),
            "get": _op(
                "List stored responses, newest first (antiphon's own: ?after=ID&limit=N&order=)",
                "A list page",
            ),
        },
        item: {
            "get": _op("Retrieve a response (or replay its stream)", "The response", stream=True),
            "delete": _op("Delete a response", "Deletion confirmed"),
        },
        item + "/cancel": {"post": _op("Cancel a background response", "The response")},
        item + "/input_items": {"get": _op("List a response's input items", "A list page")},
        "/v1/models": {"get": _op("List the served models", "A list of models")},
        "/health": {"get": _op("Liveness", "ok")},
        "/metrics": {"get": _op("Prometheus metrics (text format)", "The metrics")},
    }


@cache
def openapi_document() -> dict[str, object]:
    """The OpenAPI 3.1 document (computed once)."""
    schemas = {
        "CreateResponseBody": CreateResponseBody.model_json_schema(
            ref_template="#/components/schemas/{model}"
        ),
        "Response": Response.model_json_schema(ref_template="#/components/schemas/{model}"),
    }
    for schema in list(schemas.values()):
        schemas.update(schema.pop("$defs", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "antiphon", "version": __version__},
        "paths": _paths(),
        "components": {"schemas": schemas},
    }


def render_docs() -> str:
    """A plain HTML page listing the operations, with the full document below."""
    rows = "".join(
        f"<tr><td><code>{html.escape(method.upper())}</code></td><td><code>{html.escape(path)}"
        f"</code></td><td>{html.escape(str(op['summary']))}</td></tr>"
        for path, ops in _paths().items()
        for method, op in ops.items()
    )
    raw = html.escape(json.dumps(openapi_document(), indent=2))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>antiphon API</title></head>"
        f"<body><h1>antiphon {__version__}</h1><table>{rows}</table>"
        f"<h2>OpenAPI document</h2><pre>{raw}</pre></body></html>"
    )
