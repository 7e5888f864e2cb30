"""The app over a real socket: lifespan, every route, streams checked against the grammar."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from antiphon._version import __version__
from antiphon.server.app import create_app
from antiphon.server.settings import ModelRoute, ServerSettings
from antiphon.testing.mcp_servers import stdio_command
from antiphon.tools.mcp import McpServerConfig
from antiphon.wire.sse import SSEDecoder
from tests.grammar import check_stream
from tests.server.support import serving

_SCRIPT = {
    "turns": [
        {
            "when": {"last_text_contains": "unreachable"},
            "repeat": True,
            "items": [{"kind": "message", "text": "never"}],
            "fail": {"kind": "connect", "after_events": 0},
        },
        {
            "when": {"last_text_contains": "slow"},
            "repeat": True,
            "items": [{"kind": "message", "text": "Thinking"}],
            "fail": {"kind": "stall", "after_events": 2},
        },
        {"repeat": True, "items": [{"kind": "message", "text": "Hello from antiphon."}]},
    ]
}


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(_SCRIPT), encoding="utf-8")
    route = ModelRoute("m", "scripted", script=script)
    return ServerSettings(models=(route,), store="memory", code_interpreter=False)


@pytest.fixture
async def http(settings: ServerSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


def _sse(body: bytes) -> list[dict[str, object]]:
    decoder = SSEDecoder()
    return [json.loads(message.data) for message in decoder.feed(body)]


async def test_health_models_and_docs(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health")).json() == {"status": "ok", "version": __version__}
    models = (await http.get("/v1/models")).json()
    assert [(m["id"], m["object"]) for m in models["data"]] == [("m", "model")]
    assert (await http.get("/openapi.json")).json()["openapi"] == "3.1.0"
    docs = await http.get("/docs")
    assert docs.headers["content-type"].startswith("text/html")
    missing = await http.get("/v2/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Unknown path /v2/nothing."


async def test_a_response_round_trip(http: httpx.AsyncClient) -> None:
    created = await http.post("/v1/responses", json={"model": "m", "input": "Hi"})
    assert created.status_code == 200
    body = created.json()
    assert (body["status"], body["output"][0]["content"][0]["text"]) == (
        "completed",
        "Hello from antiphon.",
    )
    rid = body["id"]
    assert (await http.get(f"/v1/responses/{rid}")).json() == body
    replay = await http.get(f"/v1/responses/{rid}", params={"stream": "true"})
    assert replay.headers["content-type"].startswith("text/event-stream")
    assert check_stream(_sse(replay.content)).id == rid
    tail = _sse((await http.get(f"/v1/responses/{rid}?stream=true&starting_after=3")).content)
    assert tail[0]["sequence_number"] == 4
    items = (await http.get(f"/v1/responses/{rid}/input_items", params={"order": "asc"})).json()
    assert (items["object"], items["has_more"], len(items["data"])) == ("list", False, 1)
    assert items["first_id"] == items["last_id"] == items["data"][0]["id"]
    cancel = await http.post(f"/v1/responses/{rid}/cancel")
    assert cancel.status_code == 400
    deleted = await http.delete(f"/v1/responses/{rid}")
    assert deleted.json() == {"id": rid, "object": "response.deleted", "deleted": True}
    assert (await http.get(f"/v1/responses/{rid}")).status_code == 404


async def test_a_streamed_response_follows_the_grammar(http: httpx.AsyncClient) -> None:
    answer = await http.post("/v1/responses", json={"model": "m", "input": "Hi", "stream": True})
    assert answer.headers["cache-control"] == "no-cache"
    final = check_stream(_sse(answer.content))
    assert final.output_text == "Hello from antiphon."


async def test_a_background_response_can_be_cancelled(http: httpx.AsyncClient) -> None:
    started = await http.post(
        "/v1/responses", json={"model": "m", "input": "slow", "background": True}
    )
    rid = started.json()["id"]
    assert started.json()["status"] in ("queued", "in_progress")
    cancelled = await http.post(f"/v1/responses/{rid}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    events = _sse((await http.get(f"/v1/responses/{rid}?stream=true")).content)
    assert check_stream(events).status == "cancelled"


async def test_an_unreachable_upstream_is_a_502(http: httpx.AsyncClient) -> None:
    answer = await http.post("/v1/responses", json={"model": "m", "input": "unreachable"})
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "bad_gateway"
    streamed = await http.post(
        "/v1/responses", json={"model": "m", "input": "unreachable", "stream": True}
    )
    assert check_stream(_sse(streamed.content)).status == "failed"


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "param"),
    [
        ("POST", "/v1/responses", b"{not json", 400, None),
        ("POST", "/v1/responses", b'{"model": "nope", "input": "x"}', 404, "model"),
        ("GET", "/v1/responses/resp_missing", None, 404, None),
        ("GET", "/v1/responses/resp_missing?stream=true", None, 404, None),
        ("GET", "/v1/responses/resp_x?stream=true&starting_after=two", None, 400, "starting_after"),
        ("GET", "/v1/responses/resp_x/input_items?order=up", None, 400, "order"),
        ("GET", "/v1/responses/resp_x/input_items?limit=0", None, 400, "limit"),
        ("GET", "/v1/responses/resp_x/input_items?limit=many", None, 400, "limit"),
        ("DELETE", "/v1/responses/resp_missing", None, 404, None),
        ("POST", "/v1/responses/resp_missing/cancel", None, 404, None),
    ],
)
async def test_bad_requests_get_openai_error_bodies(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    payload: bytes | None,
    status: int,
    param: str | None,
) -> None:
    headers = {"content-type": "application/json"} if payload is not None else {}
    answer = await http.request(method, path, content=payload, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"]["param"] == param


async def test_the_lifespan_opens_tools_and_auth_guards_the_routes(
    settings: ServerSettings,
) -> None:
    command, args = stdio_command()
    server = McpServerConfig("calc", "stdio", command=command, args=tuple(args))
    guarded = replace(settings, api_key="sk-app", mcp_servers=(server,), code_interpreter=True)
    async with serving(create_app(guarded)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/v1/models")).status_code == 401
        auth = {"Authorization": "Bearer sk-app"}
        answer = await http.post(
            "/v1/responses",
            json={
                "model": "m",
                "input": "Hi",
                "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}],
            },
            headers=auth,
        )
        assert answer.json()["status"] == "completed"


async def test_a_client_leaving_a_stream_cancels_its_foreground_run(
    http: httpx.AsyncClient,
) -> None:
    payload = {"model": "m", "input": "slow", "stream": True}
    decoder = SSEDecoder()
    rid = ""
    async with http.stream("POST", "/v1/responses", json=payload) as answer:
        async for chunk in answer.aiter_bytes():
            messages = decoder.feed(chunk)
            if messages:
                rid = json.loads(messages[0].data)["response"]["id"]
                break
    assert rid
    # Following the run ends only because leaving cancelled it.
    events = _sse((await http.get(f"/v1/responses/{rid}?stream=true", timeout=10)).content)
    assert check_stream(events).status == "cancelled"
