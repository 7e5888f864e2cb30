"""The session's response component: the loop that sends what the pure sequencer releases."""

from __future__ import annotations

import asyncio

import pytest
from openai.types.realtime import ResponseCreateEvent

from antiphon.exceptions import TransportError
from antiphon.realtime._response_handle import RequestKind
from antiphon.realtime._responses import Responses
from antiphon.realtime.testing._frames import SERVER_EVENT_ADAPTER

MANUAL = RequestKind.MANUAL


class Wire:
    """A send that records each create and can fail on purpose."""

    def __init__(self) -> None:
        self.sent: list[ResponseCreateEvent] = []
        self.fail_with: Exception | None = None
        self._changed = asyncio.Condition()

    async def send(self, event: ResponseCreateEvent) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        async with self._changed:
            self.sent.append(event)
            self._changed.notify_all()

    async def wait_sent(self, count: int) -> list[str | None]:
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(lambda: len(self.sent) >= count)
        return [event.event_id for event in self.sent]


def done(response_id: str) -> dict[str, object]:
    return {"type": "response.done", "event_id": "ev", "response": {"id": response_id}}


async def test_the_loop_sends_each_create_once_it_may_go() -> None:
    wire = Wire()
    responses = Responses(wire.send)
    async with asyncio.timeout(5), asyncio.TaskGroup() as group:
        loop = group.create_task(responses.run())
        first = responses.request(kind=MANUAL)
        responses.request(kind=MANUAL)
        assert await wire.wait_sent(1) == ["antiphon_rc_1"]
        created = {"type": "response.created", "event_id": "ev", "response": {"id": "resp_1"}}
        responses.on_server_event(SERVER_EVENT_ADAPTER.validate_python(created))
        assert responses.active_response_id == "resp_1"
        responses.on_server_event(SERVER_EVENT_ADAPTER.validate_python(done("resp_1")))
        assert (await first.wait()).id == "resp_1"
        assert await wire.wait_sent(2) == ["antiphon_rc_1", "antiphon_rc_2"]
        responses.release_all(TransportError("test over"))
    assert loop.done()
    assert len(wire.sent) == 2


async def test_a_failed_send_releases_everything_and_stops_the_loop() -> None:
    wire = Wire()
    wire.fail_with = TransportError("socket dead", context="send failed")
    responses = Responses(wire.send)
    handle = responses.request(kind=MANUAL)
    async with asyncio.timeout(5):
        await responses.run()
    with pytest.raises(TransportError, match="socket dead"):
        await handle.wait()


async def test_an_unexpected_send_exception_is_wrapped_and_propagates() -> None:
    wire = Wire()
    wire.fail_with = ValueError("bug")
    responses = Responses(wire.send)
    handle = responses.request(kind=MANUAL)
    with pytest.raises(ValueError, match="bug"):
        async with asyncio.timeout(5):
            await responses.run()
    with pytest.raises(TransportError, match=r"response\.create send failed"):
        await handle.wait()
