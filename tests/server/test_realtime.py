"""``/v1/realtime`` over a real uvicorn socket: the adapter around the conversation core."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from antiphon.check.schema import REALTIME_SCHEMA
from antiphon.server.app import create_app
from antiphon.server.settings import ModelRoute, ServerSettings
from tests.server.support import serving

pytestmark = pytest.mark.e2e

Frame = dict[str, Any]
TEXT = {
    "turns": [
        {
            "repeat": True,
            "items": [{"kind": "reasoning", "text": "hm"}, {"kind": "message", "text": "Hi there"}],
            "usage": {"input_tokens": 5, "output_tokens": 3},
        }
    ]
}
STALL = {
    "turns": [
        {
            "repeat": True,
            "items": [{"kind": "message", "text": "Wait for it"}],
            "fail": {"kind": "stall", "after_events": 2},
        }
    ]
}
FAILING = {
    "turns": [
        {
            "repeat": True,
            "items": [{"kind": "message", "text": "Half an"}],
            "fail": {"kind": "http", "after_events": 2, "status": 500, "message": "boom"},
        }
    ]
}
KEY = "sk-test-key"


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncGenerator[str]:
    async with _serve(tmp_path, api_key=None) as url:
        yield url


def _serve(tmp_path: Path, api_key: str | None) -> AbstractAsyncContextManager[str]:
    routes: list[ModelRoute] = []
    for name, script in (("text", TEXT), ("stall", STALL), ("failing", FAILING)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(script), encoding="utf-8")
        routes.append(ModelRoute(name, "scripted", script=path))
    settings = ServerSettings(
        models=tuple(routes), code_interpreter=False, store="memory", api_key=api_key
    )
    return serving(create_app(settings))


async def receive(ws: ClientConnection) -> Frame:
    async with asyncio.timeout(5):
        text = await ws.recv()
    assert isinstance(text, str)
    frame: Frame = json.loads(text)
    # antiphon check's rules: the official GA type, strict, no field outside the spec
    _, violations = REALTIME_SCHEMA.validate(0, frame)
    assert not violations, violations
    return frame


async def receive_until(ws: ClientConnection, type_: str) -> list[Frame]:
    frames: list[Frame] = []
    while not frames or frames[-1]["type"] != type_:
        frames.append(await receive(ws))
    return frames


def ws_url(base: str, model: str) -> str:
    return base.replace("http://", "ws://") + f"/v1/realtime?model={model}"


async def test_a_text_turn(base_url: str) -> None:
    async with connect(ws_url(base_url, "text")) as ws:
        assert (await receive(ws))["type"] == "session.created"
        await ws.send(
            json.dumps(
                {"type": "session.update", "session": {"type": "realtime", "instructions": "Hi"}}
            )
        )
        assert (await receive(ws))["type"] == "session.updated"
        await ws.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Hello"}],
                    },
                }
            )
        )
        assert [(await receive(ws))["type"] for _ in range(2)] == [
            "conversation.item.added",
            "conversation.item.done",
        ]
        await ws.send(json.dumps({"type": "response.create"}))
        frames = await receive_until(ws, "response.done")
        kinds = [frame["type"] for frame in frames]
        assert kinds[:5] == [
            "response.created",
            "rate_limits.updated",
            "response.output_item.added",
            "conversation.item.added",
            "response.content_part.added",
        ]
        assert kinds[-5:] == [
            "response.output_text.done",
            "response.content_part.done",
            "conversation.item.done",
            "response.output_item.done",
            "response.done",
        ]
        deltas = "".join(f["delta"] for f in frames if f["type"] == "response.output_text.delta")
        assert deltas == "Hi there"
        assert frames[-1]["response"]["usage"]["total_tokens"] == 8
        # A malformed frame is an error; the connection goes on.
        await ws.send("{oops")
        assert (await receive(ws))["type"] == "error"
        await ws.send(json.dumps({"type": "response.create"}))
        assert (await receive_until(ws, "response.done"))[-1]["response"]["status"] == "completed"


async def test_an_unknown_model_is_an_error_event_then_a_close(base_url: str) -> None:
    async with connect(ws_url(base_url, "nope")) as ws:
        frame = await receive(ws)
        assert frame["type"] == "error"
        assert frame["error"]["code"] == "model_not_found"
        assert "nope" in frame["error"]["message"]
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008


async def test_cancel_stops_the_engine_turn_and_a_new_response_can_start(base_url: str) -> None:
    async with connect(ws_url(base_url, "stall")) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "response.create"}))
        frames = await receive_until(ws, "response.output_text.delta")
        await ws.send(json.dumps({"type": "response.create", "event_id": "again"}))
        error = await receive(ws)
        assert error["error"]["code"] == "conversation_already_has_active_response"
        await ws.send(json.dumps({"type": "response.cancel"}))
        frames = await receive_until(ws, "response.done")
        assert frames[-1]["response"]["status"] == "cancelled"
        await ws.send(json.dumps({"type": "response.create"}))
        first = await receive(ws)
        assert first["type"] == "response.created", first


async def test_a_client_leaving_mid_response_leaves_the_server_serving(base_url: str) -> None:
    async with connect(ws_url(base_url, "stall")) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "response.create"}))
        await receive_until(ws, "response.output_text.delta")
    async with connect(ws_url(base_url, "text")) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "response.create"}))
        assert (await receive_until(ws, "response.done"))[-1]["response"]["status"] == "completed"


async def test_the_api_key_by_header_or_by_subprotocol(tmp_path: Path) -> None:
    async with _serve(tmp_path, api_key=KEY) as base:
        url = ws_url(base, "text")
        with pytest.raises(InvalidStatus):
            async with connect(url):
                pass
        wrong = [Subprotocol("realtime"), Subprotocol("openai-insecure-api-key.wrong")]
        with pytest.raises(InvalidStatus):
            async with connect(url, subprotocols=wrong):
                pass
        async with connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
            assert (await receive(ws))["type"] == "session.created"
            assert ws.subprotocol is None
        offered = [Subprotocol("realtime"), Subprotocol(f"openai-insecure-api-key.{KEY}")]
        async with connect(url, subprotocols=offered) as ws:
            assert (await receive(ws))["type"] == "session.created"
            assert ws.subprotocol == "realtime"


async def test_an_engine_failure_ends_the_response_failed(base_url: str) -> None:
    async with connect(ws_url(base_url, "failing")) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "response.create"}))
        frames = await receive_until(ws, "response.done")
        response = frames[-1]["response"]
        assert response["status"] == "failed"
        assert response["status_details"]["error"]["code"] == "engine_error"
        assert response["output"][0]["status"] == "incomplete"
        # The connection is still usable.
        await ws.send(json.dumps({"type": "response.create"}))
        assert (await receive(ws))["type"] == "response.created"
