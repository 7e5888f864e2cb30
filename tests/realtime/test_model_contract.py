"""The RealtimeModel contract run against the in-memory model, plus what only it has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import pytest
from openai.types.realtime import ResponseCreateEvent

from antiphon.exceptions import ConfigurationError, TransportError
from antiphon.realtime.model import ModelEvent, RealtimeModel, ServerEventReceived
from antiphon.realtime.testing import InMemoryRealtimeServer
from tests.realtime.model_contract import Far, Harness, ModelContract


@asynccontextmanager
async def memory_harness() -> AsyncGenerator[tuple[RealtimeModel, Far]]:
    async with InMemoryRealtimeServer() as server:
        model = server.new_model()
        await model.connect({"url": "memory://", "api_key": "sk-test"})
        await server.wait_connected()
        far = Far(
            server.close_connection, server.send_raw, server.send_event, server.abort_connection
        )
        try:
            yield model, far
        finally:
            await model.close()


class TestInMemoryModel(ModelContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return memory_harness


async def test_connect_needs_a_running_server() -> None:
    server = InMemoryRealtimeServer()
    with pytest.raises(TransportError) as caught:
        await server.new_model().connect({})
    assert caught.value.context == "connect failed"


async def test_connect_is_guarded() -> None:
    async with InMemoryRealtimeServer() as server:
        model = server.new_model()
        await model.close()
        with pytest.raises(ConfigurationError, match="expected state new"):
            await model.connect({})


async def test_client_frames_are_json_validated_strictly_by_the_server() -> None:
    async with InMemoryRealtimeServer() as server:
        model = server.new_model()
        await model.connect({})
        await model.send(ResponseCreateEvent(type="response.create", event_id="rc_1"))
        await server.wait_for("response.create")
        await model.close()
    assert server.log.raw == ['{"type":"response.create","event_id":"rc_1"}']
    assert server.violations == []


async def test_a_held_consumer_holds_the_server_at_the_bound_and_loses_nothing() -> None:
    text = "abcdefghijklmnopqrst"
    bound = 2
    async with InMemoryRealtimeServer() as server:
        reply = server.respond_with_text(text, chunks=20)
        model = server.new_model()
        await model.connect({"queue_size": bound})
        await model.send(ResponseCreateEvent(type="response.create"))
        # Nobody reads: the reply cannot finish, its writer waits for room in the channel.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reply.wait_finished(), timeout=0.2)
        # The channel holds `bound` frames and the writer one more in its hand.
        assert len(server.sent) == bound + 1
        received = await collect_until_done(model)
        await reply.wait_finished()
        await model.close()
    assert len(received) == len(server.sent)
    deltas = [
        event.event.delta
        for event in received
        if isinstance(event, ServerEventReceived)
        and event.event.type == "response.output_text.delta"
    ]
    assert "".join(deltas) == text


async def collect_until_done(model: RealtimeModel) -> list[ModelEvent]:
    received: list[ModelEvent] = []
    async with asyncio.timeout(5):
        async for event in model.events():
            received.append(event)
            if isinstance(event, ServerEventReceived) and event.event.type == "response.done":
                break
    return received
