"""The contract every RealtimeModel implementation passes, as a base class of tests.

Each implementation is described by a ``Harness``: how to build a connected model and how to
make the far end misbehave. A test module subclasses :class:`ModelContract` (a name pytest does
not collect by itself) with a class named ``Test...`` that provides the ``harness`` fixture:
``tests/realtime/test_model_contract.py`` for the in-memory model,
``tests/e2e/test_realtime_websocket.py`` for the WebSocket model over a real socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
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
    UnknownServerEvent,
)


@dataclass
class Far:
    """The far end of a connected model, as the contract needs it."""

    close: Callable[[int, str], Awaitable[None]]
    send_raw: Callable[[str], Awaitable[None]]
    send_object: Callable[[dict[str, object]], Awaitable[None]]
    abort: Callable[[], None]


Harness = Callable[[], AbstractAsyncContextManager[tuple[RealtimeModel, Far]]]


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


class ModelContract:
    """The tests; a subclass supplies the ``harness`` fixture."""

    async def test_connect_yields_session_created(self, harness: Harness) -> None:
        async with harness() as (model, _far):
            first = await anext(aiter(model.events()))
            assert isinstance(first, ServerEventReceived)
            assert first.event.type == "session.created"

    async def test_sent_event_is_answered(self, harness: Harness) -> None:
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

    async def test_clean_close_by_the_server_ends_iteration(self, harness: Harness) -> None:
        async with harness() as (model, far):
            await far.close(1000, "session over")
            events = await collect(model)
            assert events[-1] == TransportEnded(1000, "session over")

    async def test_abrupt_close_fails_with_its_code(self, harness: Harness) -> None:
        async with harness() as (model, far):
            await far.close(1011, "boom")
            last = (await collect(model))[-1]
            assert isinstance(last, TransportFailed)
            assert isinstance(last.error, TransportClosed)
            assert (last.error.code, last.error.reason) == (1011, "boom")

    async def test_malformed_json_fails_the_transport(self, harness: Harness) -> None:
        async with harness() as (model, far):
            await far.send_raw("{not json")
            last = (await collect(model))[-1]
            assert isinstance(last, TransportFailed)
            assert last.error.context == "malformed JSON from server"

    async def test_invalid_event_fails_the_transport(self, harness: Harness) -> None:
        async with harness() as (model, far):
            await far.send_object({"type": "response.created", "event_id": "e"})
            last = (await collect(model))[-1]
            assert isinstance(last, TransportFailed)
            assert last.error.context == "invalid server event response.created"

    async def test_close_wakes_a_blocked_iterator(self, harness: Harness) -> None:
        async with harness() as (model, _far):
            iterator = aiter(model.events())
            await anext(iterator)  # session.created; the next read blocks

            async def next_event() -> ModelEvent:
                return await anext(iterator)

            async with asyncio.timeout(5), asyncio.TaskGroup() as group:
                blocked = group.create_task(next_event())
                group.create_task(model.close())
            assert isinstance(blocked.result(), TransportEnded)

    async def test_send_after_close_raises_transport_error(self, harness: Harness) -> None:
        async with harness() as (model, _far):
            await model.close()
            with pytest.raises(TransportError) as caught:
                await model.send(ResponseCreateEvent(type="response.create"))
            assert caught.value.context == "send failed"

    async def test_close_twice_is_harmless(self, harness: Harness) -> None:
        async with harness() as (model, _far):
            await model.close()
            await model.close()
            assert isinstance((await collect(model))[-1], TransportEnded)

    async def test_unknown_event_type_passes_through_and_the_stream_goes_on(
        self, harness: Harness
    ) -> None:
        frame: dict[str, object] = {"type": "response.brand_new", "event_id": "e", "x": 1}
        async with harness() as (model, far):
            await far.send_object(frame)
            await far.close(1000, "bye")
            events = await collect(model)
        assert events[1] == UnknownServerEvent("response.brand_new", frame)
        assert events[-1] == TransportEnded(1000, "bye")

    @pytest.mark.parametrize(("code", "clean"), [(1001, True), (4000, False)])
    async def test_close_codes_are_classified(
        self, harness: Harness, code: int, clean: bool
    ) -> None:
        async with harness() as (model, far):
            await far.close(code, "why")
            last = (await collect(model))[-1]
        assert isinstance(last, TransportEnded) is clean

    async def test_dropped_connection_fails_with_1006(self, harness: Harness) -> None:
        async with harness() as (model, far):
            far.abort()
            last = (await collect(model))[-1]
        assert isinstance(last, TransportFailed)
        assert isinstance(last.error, TransportClosed)
        assert last.error.code == 1006

    async def test_send_after_the_server_closed_raises_and_events_end(
        self, harness: Harness
    ) -> None:
        async with harness() as (model, far):
            await far.close(1011, "gone")
            last = (await collect(model))[-1]
            with pytest.raises(TransportError) as caught:
                await model.send(ResponseCreateEvent(type="response.create"))
        assert isinstance(last, TransportFailed)
        assert caught.value.context == "send failed"
