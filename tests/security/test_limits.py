"""Issue 9, defect 8: bodies, counts and stored records are bounded, and said so.

A body over ``max_body_bytes`` is refused with 413 before it is read whole (``Content-Length``
says so, or the streamed body passes the limit); a request whose record the store would refuse
is refused before it runs; a response the store refuses at its end is never answered
``completed``. Counts (input items, tools, metadata, tool schemas) have OpenAI-like bounds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from antiphon.server.settings import ModelRoute
from antiphon.store.base import StoreLimits
from antiphon.wire.sse import SSEDecoder
from tests.security.support import JSON_HEADERS, RecordingUpstream, running, settings_for

_MIB = 1024 * 1024
_DEFAULT_MAX_BODY_BYTES = 16 * _MIB  # as documented in the README


class _Body:
    """A request body of ``chunks`` MiB, produced only as the server reads it."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.read += 1
            yield b" " * _MIB


async def test_a_100_mb_body_with_content_length_is_refused_unread(tmp_path: Path) -> None:
    body = _Body(100)
    async with running(settings_for(tmp_path)) as http:
        answer = await http.post(
            "/v1/responses",
            content=body,
            headers={**JSON_HEADERS, "content-length": str(100 * _MIB)},
        )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request_too_large"
    assert str(_DEFAULT_MAX_BODY_BYTES) in answer.json()["error"]["message"]
    assert body.read == 0


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(tmp_path: Path) -> None:
    body = _Body(100)  # no Content-Length: sent chunked
    async with running(settings_for(tmp_path)) as http:
        answer = await http.post("/v1/responses", content=body, headers=JSON_HEADERS)
        alive = await http.post(
            "/v1/responses", json={"model": "scripted", "input": "Hi"}, headers=JSON_HEADERS
        )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request_too_large"
    assert body.read == _DEFAULT_MAX_BODY_BYTES // _MIB + 1  # it stopped at the first MiB over
    assert alive.status_code == 200


async def test_max_body_bytes_is_the_servers_setting(tmp_path: Path) -> None:
    small = {"model": "scripted", "input": "Hi"}
    large = {"model": "scripted", "input": "x" * 2000}
    async with running(settings_for(tmp_path, max_body_bytes=1024)) as http:
        accepted = await http.post("/v1/responses", json=small)
        refused = await http.post("/v1/responses", json=large)
    assert accepted.status_code == 200
    assert refused.status_code == 413
    assert "1024 bytes" in refused.json()["error"]["message"]


async def test_a_request_the_store_could_not_keep_is_refused_before_it_runs(
    tmp_path: Path,
) -> None:
    upstream = RecordingUpstream()
    settings = settings_for(tmp_path, store_limits=StoreLimits(max_response_bytes=4096))
    async with running(settings, upstream) as http:
        answer = await http.post("/v1/responses", json={"model": "chat", "input": "x" * 8000})
        unstored = await http.post(
            "/v1/responses", json={"model": "chat", "input": "x" * 8000, "store": False}
        )
    assert answer.status_code == 413
    assert (answer.json()["error"]["param"], answer.json()["error"]["code"]) == (
        "input",
        "request_too_large",
    )
    assert unstored.status_code == 200  # nothing to store, nothing refused
    assert len(upstream.bodies) == 1


def _big_answer(tmp_path: Path) -> ModelRoute:
    script = tmp_path / "big.json"
    turns = [{"repeat": True, "items": [{"kind": "message", "text": "y" * 10_000}]}]
    script.write_text(json.dumps({"turns": turns}), encoding="utf-8")
    return ModelRoute("big", "scripted", script=script)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_response_the_store_refuses_at_its_end_is_failed_not_completed(
    tmp_path: Path, stream: bool
) -> None:
    base = settings_for(tmp_path, store_limits=StoreLimits(max_response_bytes=8192))
    settings = replace(base, models=(*base.models, _big_answer(tmp_path)))
    async with running(settings) as http:
        answer = await http.post(
            "/v1/responses", json={"model": "big", "input": "Hi", "stream": stream}
        )
        if stream:
            events = [json.loads(m.data) for m in SSEDecoder().feed(answer.content)]
            final: dict[str, Any] = events[-1]["response"]
            assert events[-1]["type"] == "response.failed"
            assert "response.completed" not in [event["type"] for event in events]
        else:
            final = answer.json()
        stored = await http.get(f"/v1/responses/{final['id']}")
    assert answer.status_code == 200
    assert final["status"] == "failed"
    assert final["error"]["message"].startswith("The response could not be stored")
    assert stored.status_code == 200
    assert stored.json()["status"] == "failed"


def _tool(index: int, parameters: object = None) -> dict[str, Any]:
    schema = parameters if parameters is not None else {"type": "object"}
    return {"type": "function", "name": f"f{index}", "parameters": schema}


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth - 1):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"input": [{"role": "user", "content": "x"}] * 10_001}, "input"),
        ({"tools": [_tool(i) for i in range(129)]}, "tools"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"tools": [_tool(0, _nested(20))]}, "tools[0].parameters"),
        ({"tools": [_tool(0, {"enum": ["v" * 1000] * 300})]}, "tools[0].parameters"),
        (
            {"text": {"format": {"type": "json_schema", "name": "s", "schema": _nested(20)}}},
            "text.format.schema",
        ),
    ],
    ids=[
        "input-items",
        "tools",
        "metadata-keys",
        "metadata-key-length",
        "metadata-value-length",
        "schema-depth",
        "schema-size",
        "text-schema-depth",
    ],
)
async def test_counts_and_schemas_are_bounded(
    tmp_path: Path, extra: dict[str, Any], param: str
) -> None:
    async with running(settings_for(tmp_path)) as http:
        answer = await http.post(
            "/v1/responses", json={"model": "scripted", "input": "Hi", **extra}
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


async def test_counts_at_their_bounds_pass(tmp_path: Path) -> None:
    body = {
        "model": "scripted",
        "input": "Hi",
        "tools": [_tool(i, _nested(16)) for i in range(128)],
        "metadata": {f"k{i:063d}": "v" * 512 for i in range(16)},
    }
    async with running(settings_for(tmp_path)) as http:
        answer = await http.post("/v1/responses", json=body)
    assert answer.status_code == 200
