"""The core emits the event types the shipped fake GA server emits, in the same order.

The fake (``antiphon.realtime.testing``) is what the realtime SDK is tested against; the same
client turn is played on both and the sequences of event types compared. The intended
differences: the core sends ``response.created`` at ``response.create``, the fake at its first
output, which for a reply with output is the same position; and the core follows it with
``rate_limits.updated`` (as the hosted service does), which the fake does not send.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from antiphon.engines.scripted import ScriptedItem, ScriptedTurn
from antiphon.realtime.testing import FakeRealtimeServer
from antiphon.realtime_server.conversation import RealtimeConversation
from antiphon.wire.ids import SequentialIds
from tests.realtime_server.support import Spy, run, send, types

pytestmark = pytest.mark.e2e

USER = {
    "type": "conversation.item.create",
    "item": {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Hi"}],
    },
}
CREATE = {"type": "response.create"}


async def _fake_types(server: FakeRealtimeServer) -> list[str]:
    seen: list[str] = []
    async with connect(server.url) as ws, asyncio.timeout(5):
        for frame in (USER, CREATE):
            await ws.send(json.dumps(frame))
        while not seen or seen[-1] != "response.done":
            seen.append(json.loads(await ws.recv())["type"])
    return seen


async def _core_types(turn: ScriptedTurn, chunk: int) -> list[str]:
    conversation = RealtimeConversation("m", Spy(turn, chunk=chunk).served(), ids=SequentialIds())
    kinds = types(conversation.open())
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    update = {"type": "session.update", "session": {"type": "realtime", "tools": [tool]}}
    assert types(send(conversation, update).events) == ["session.updated"]  # not in the fake's
    kinds += types(send(conversation, USER).events)
    step = send(conversation, CREATE)
    kinds += types(step.events)
    kinds += [frame["type"] for frame in await run(conversation, step)]
    return [kind for kind in kinds if kind != "rate_limits.updated"]


async def test_a_text_reply_has_the_fakes_event_order() -> None:
    async with FakeRealtimeServer() as server:
        server.respond_with_text("Hello there", chunks=2)
        fake = await _fake_types(server)
    core = await _core_types(ScriptedTurn(items=(ScriptedItem("message", "Hello there"),)), 6)
    assert core == fake


async def test_a_function_call_has_the_fakes_event_order() -> None:
    async with FakeRealtimeServer() as server:
        server.respond_with_tool_call("get_weather", {"city": "Paris"}, call_id="call_1")
        fake = await _fake_types(server)
    arguments = '{"city": "Paris"}'
    item = ScriptedItem("tool_call", arguments, name="functions.get_weather", call_id="call_1")
    core = await _core_types(ScriptedTurn(items=(item,)), len(arguments))
    assert core == fake
