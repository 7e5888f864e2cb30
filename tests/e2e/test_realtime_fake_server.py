"""The fake GA server as a raw WebSocket client sees it: the frames of each scripted reply."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import cast

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.testing import FakeRealtimeServer, ResponseWriter
from antiphon.realtime.testing._frames import SERVER_EVENT_ADAPTER

pytestmark = pytest.mark.e2e

USER_ITEM = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}


@pytest.fixture
async def server() -> AsyncIterator[FakeRealtimeServer]:
    async with FakeRealtimeServer() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeRealtimeServer) -> AsyncIterator[ClientConnection]:
    async with connect(server.url) as websocket:
        assert (await receive(websocket))["type"] == "session.created"
        yield websocket


async def send(websocket: ClientConnection, **frame: object) -> None:
    await websocket.send(json.dumps(frame))


async def receive(websocket: ClientConnection) -> dict[str, object]:
    async with asyncio.timeout(5):
        frame: dict[str, object] = json.loads(await websocket.recv())
    return frame


async def until(websocket: ClientConnection, type_: str) -> list[dict[str, object]]:
    frames = [await receive(websocket)]
    while frames[-1]["type"] != type_:
        frames.append(await receive(websocket))
    return frames


def at(frame: object, *path: str) -> object:
    """Walk nested JSON objects (test frames are untyped JSON)."""
    for key in path:
        assert isinstance(frame, dict)
        frame = cast("dict[str, object]", frame)[key]
    return frame


def types(frames: list[dict[str, object]]) -> list[object]:
    return [frame["type"] for frame in frames]


async def test_text_turn_follows_the_ga_sequence(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    server.respond_with_text("Hello there", chunks=2)
    await send(client, type="session.update", session={"type": "realtime", "instructions": "x"})
    await send(client, type="conversation.item.create", item=USER_ITEM)
    await send(client, type="response.create", event_id="rc_1")
    frames = await until(client, "response.done")
    assert types(frames) == [
        "session.updated",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    assert "".join(
        str(f["delta"]) for f in frames if f["type"] == "response.output_text.delta"
    ) == ("Hello there")
    for frame in server.sent:
        SERVER_EVENT_ADAPTER.validate_python(frame)
    assert server.violations == []


async def test_tool_call_carries_name_and_arguments(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    server.respond_with_tool_call("get_weather", {"city": "Paris"}, call_id="call_7")
    await send(client, type="response.create")
    frames = await until(client, "response.done")
    done = next(f for f in frames if f["type"] == "response.function_call_arguments.done")
    assert (done["name"], done["call_id"], done["arguments"]) == (
        "get_weather",
        "call_7",
        '{"city": "Paris"}',
    )
    assert at(frames[-2], "item", "status") == "completed"


async def test_audio_reply_streams_audio_and_transcript(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    server.respond_with_audio(b"\x01\x02" * 50, "good morning", chunks=2)
    await send(client, type="response.create")
    frames = await until(client, "response.done")
    assert types(frames).count("response.output_audio.delta") == 2
    transcript = next(f for f in frames if f["type"] == "response.output_audio_transcript.done")
    assert transcript["transcript"] == "good morning"
    for frame in server.sent:
        SERVER_EVENT_ADAPTER.validate_python(frame)


async def test_create_during_an_active_response_is_rejected_like_the_real_server(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    control = server.respond_with_text("slow", hold=True)
    await send(client, type="response.create", event_id="rc_1")
    response_id = await control.wait_started()
    await send(client, type="response.create", event_id="rc_2")
    error = (await until(client, "error"))[-1]
    assert at(error, "error", "code") == "conversation_already_has_active_response"
    assert at(error, "error", "event_id") == "rc_2"
    assert response_id in str(at(error, "error", "message"))
    control.release()
    await control.wait_finished()


async def test_cancel_ends_a_held_response_as_cancelled(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    server.respond_with_audio(b"\x00" * 10, "never finished", hold=True)
    await send(client, type="response.create")
    await server.wait_for("response.create")
    await send(client, type="response.cancel")
    done = (await until(client, "response.done"))[-1]
    assert at(done, "response", "status") == "cancelled"


async def test_cancel_with_nothing_active_is_an_error(client: ClientConnection) -> None:
    await send(client, type="response.cancel", event_id="c1")
    assert at(await receive(client), "error", "code") == "response_cancel_not_active"


async def test_scripted_error_rejects_without_starting_a_response(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    server.respond_with_error("invalid_value", "bad instructions")
    await send(client, type="response.create", event_id="rc_9")
    frame = await receive(client)
    assert frame["type"] == "error"
    assert frame["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": "bad instructions",
        "event_id": "rc_9",
    }
    server.respond_with_text("after the error")  # a rejection leaves no response active
    await send(client, type="response.create", event_id="rc_10")
    frames = await until(client, "response.done")
    assert "error" not in types(frames)


async def test_scripted_close_closes_with_its_code(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    server.respond_with_close(1011, "overloaded")
    await send(client, type="response.create")
    with pytest.raises(ConnectionClosedError) as caught:
        await receive(client)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (1011, "overloaded")


async def test_truncate_is_acknowledged(client: ClientConnection) -> None:
    await send(
        client,
        type="conversation.item.truncate",
        item_id="item_1",
        content_index=0,
        audio_end_ms=120,
    )
    frame = await receive(client)
    assert (frame["type"], frame["audio_end_ms"]) == ("conversation.item.truncated", 120)


async def test_invalid_client_events_are_recorded_as_violations(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    await send(client, type="response.create", response=None)
    await send(client, type="response.create", surprise=1)
    assert (await receive(client))["type"] == "error"
    assert (await receive(client))["type"] == "error"
    assert len(server.violations) == 2
    assert "surprise" in server.violations[1]
    assert server.events == []


async def test_custom_reply_and_server_started_response(
    server: FakeRealtimeServer, client: ClientConnection
) -> None:
    async def reply(writer: ResponseWriter) -> None:
        await writer.text("custom")
        writer.status = "incomplete"

    control = server.start_response(reply)
    frames = await until(client, "response.done")
    assert await control.wait_started() == at(frames[0], "response", "id")
    assert at(frames[-1], "response", "status") == "incomplete"


async def test_wait_for_times_out_without_sleeping(server: FakeRealtimeServer) -> None:
    with pytest.raises(TimeoutError):
        await server.wait_for("response.create", within=0.05)


async def test_url_needs_a_started_server() -> None:
    with pytest.raises(ConfigurationError):
        _ = FakeRealtimeServer().url
