"""The contract every RealtimeModel implementation passes.

Each implementation is described by a ``Harness``: how to build the model and how to make the
far end misbehave. The WebSocket model runs against the fake server; add a harness to cover
another implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import pytest
from openai.types.realtime import ResponseCreateEvent

from antiphon.exceptions import TransportClosed, TransportError
from antiphon.realtime.model import (
    ModelEvent,
    RealtimeModel,
    ServerEventReceived,
    TransportEnded,
    TransportFailed,
)
from antiphon.realtime.testing import FakeRealtimeServer
from antiphon.realtime.websocket import WebSocketRealtimeModel


@dataclass
class Far:
    """The far end of a connected model, as the contract needs it."""

    close: Callable[[int, str], Awaitable[None]]
    send_raw: Callable[[str], Awaitable[None]]
    send_object: Callable[[dict[str, object]], Awaitable[None]]


Harness = Callable[[], AbstractAsyncContextManager[tuple[RealtimeModel, Far]]]


@asynccontextmanager
async def websocket_harness() -> AsyncGenerator[tuple[RealtimeModel, Far]]:
    async with FakeRealtimeServer() as server:
        model = WebSocketRealtimeModel()
        await model.connect({"url": server.url, "api_key": "sk-test"})
        await server.wait_connected()
        far = Far(server.close_connection, server.send_raw, server.send_event)
        try:
            yield model, far
        finally:
            await model.close()


HARNESSES = [pytest.param(websocket_harness, id="websocket")]


async def collect(model: RealtimeModel, until: type[object] | None = None) -> list[ModelEvent]:
    events: list[ModelEvent] = []
    async with asyncio.timeout(5):
        async for event in model.events():
            events.append(event)
            if until is not None and isinstance(event, until):
                break
    return events


def types_of(events: list[ModelEvent]) -> list[str]:
    return [
        e.event.type if isinstance(e, ServerEventReceived) else type(e).__name__ for e in events
    ]


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest) -> Harness:
    chosen: Harness = request.param
    return chosen


async def test_connect_yields_session_created(harness: Harness) -> None:
    async with harness() as (model, _far):
        first = await anext(aiter(model.events()))
        assert isinstance(first, ServerEventReceived)
        assert first.event.type == "session.created"


async def test_sent_event_is_answered(harness: Harness) -> None:
    async with harness() as (model, _far):
        await model.send(ResponseCreateEvent(type="response.create", event_id="rc_1"))
        events: list[str] = []
        async with asyncio.timeout(5):
            async for event in model.events():
                events.extend(types_of([event]))
                if events[-1] == "response.done":
                    break
        assert events[0] == "session.created"
        assert "response.created" in events


async def test_clean_close_by_the_server_ends_iteration(harness: Harness) -> None:
    async with harness() as (model, far):
        await far.close(1000, "session over")
        events = await collect(model)
        assert events[-1] == TransportEnded(1000, "session over")


async def test_abrupt_close_fails_with_its_code(harness: Harness) -> None:
    async with harness() as (model, far):
        await far.close(1011, "boom")
        last = (await collect(model))[-1]
        assert isinstance(last, TransportFailed)
        assert isinstance(last.error, TransportClosed)
        assert (last.error.code, last.error.reason) == (1011, "boom")


async def test_malformed_json_fails_the_transport(harness: Harness) -> None:
    async with harness() as (model, far):
        await far.send_raw("{not json")
        last = (await collect(model))[-1]
        assert isinstance(last, TransportFailed)
        assert last.error.context == "malformed JSON from server"


async def test_invalid_event_fails_the_transport(harness: Harness) -> None:
    async with harness() as (model, far):
        await far.send_object({"type": "response.created", "event_id": "e"})
        last = (await collect(model))[-1]
        assert isinstance(last, TransportFailed)
        assert last.error.context == "invalid server event response.created"


async def test_close_wakes_a_blocked_iterator(harness: Harness) -> None:
    async with harness() as (model, _far):
        iterator = aiter(model.events())
        await anext(iterator)  # session.created; the next read blocks

        async def next_event() -> ModelEvent:
            return await anext(iterator)

        async with asyncio.timeout(5), asyncio.TaskGroup() as group:
            blocked = group.create_task(next_event())
            group.create_task(model.close())
        assert isinstance(blocked.result(), TransportEnded)


async def test_send_after_close_raises_transport_error(harness: Harness) -> None:
    async with harness() as (model, _far):
        await model.close()
        with pytest.raises(TransportError) as caught:
            await model.send(ResponseCreateEvent(type="response.create"))
        assert caught.value.context == "send failed"


async def test_close_twice_is_harmless(harness: Harness) -> None:
    async with harness() as (model, _far):
        await model.close()
        await model.close()
        assert isinstance((await collect(model))[-1], TransportEnded)
