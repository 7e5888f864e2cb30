"""The core emits the event types the shipped fake GA server emits, in the same order.

The fake (``antiphon.realtime.testing``) is what the realtime SDK is tested against; the same
client turn is played on both and the sequences of event types compared. The one intended
difference: the core sends ``response.created`` at ``response.create``, the fake at its first
output, which for a reply with output is the same position.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest
from websockets.asyncio.client import connect

from antiphon.engines.base import EngineEvent, ItemDelta, ItemFinished, ItemStarted, TurnFinished
from antiphon.realtime.testing import FakeRealtimeServer
from antiphon.realtime_server.conversation import RealtimeConversation
from antiphon.wire.ids import SequentialIds
from antiphon.wire.json import dump_json

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


def _core_types(turn: Sequence[EngineEvent]) -> list[str]:
    conversation = RealtimeConversation("m", "m", ids=SequentialIds())
    events = list(conversation.open())
    events += conversation.receive(json.dumps(USER)).events
    step = conversation.receive(json.dumps(CREATE))
    events += step.events
    for event in turn:
        events += conversation.engine_event(step.response_id, event)
    return [json.loads(dump_json(event))["type"] for event in events]


async def test_a_text_reply_has_the_fakes_event_order() -> None:
    async with FakeRealtimeServer() as server:
        server.respond_with_text("Hello there", chunks=2)
        fake = await _fake_types(server)
    core = _core_types(
        [
            ItemStarted("message"),
            ItemDelta("Hello "),
            ItemDelta("there"),
            ItemFinished(),
            TurnFinished("stop"),
        ]
    )
    assert core == fake


async def test_a_function_call_has_the_fakes_event_order() -> None:
    async with FakeRealtimeServer() as server:
        server.respond_with_tool_call("get_weather", {"city": "Paris"}, call_id="call_1")
        fake = await _fake_types(server)
    core = _core_types(
        [
            ItemStarted("tool_call", name="functions.get_weather", call_id="call_1"),
            ItemDelta('{"city": "Paris"}'),
            ItemFinished(),
            TurnFinished("tool_calls"),
        ]
    )
    assert core == fake
