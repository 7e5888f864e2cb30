"""The event queue is bounded: lossy events are dropped and counted, control events never."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from antiphon.exceptions import ConfigurationError, ServerError
from antiphon.realtime._queue import EventQueue
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import AudioEvent, AudioInterruptedEvent, ErrorEvent
from antiphon.realtime.testing import InMemoryRealtimeServer
from tests.realtime.session_support import checked_server, of_type, open_session, read_until

AGENT = RealtimeAgent(name="voice", instructions="Speak.")


def audio(n: int = 0) -> AudioEvent:
    return AudioEvent(bytes([n]), "item", 0, "resp")


def control(n: int = 0) -> AudioInterruptedEvent:
    return AudioInterruptedEvent("item", 0, n)


async def test_lossy_events_past_the_limit_are_dropped_and_counted() -> None:
    queue = EventQueue(limit=2)
    for n in range(5):
        queue.offer(audio(n))
    assert (len(queue), queue.dropped) == (2, 3)


async def test_control_events_wait_for_room_instead_of_being_dropped() -> None:
    queue = EventQueue(limit=1)
    await queue.put(control(1))
    async with asyncio.TaskGroup() as group:
        blocked = group.create_task(queue.put(control(2)))
        first = await queue.get()
        second = await queue.get()
    assert blocked.done()
    assert (first, second) == (control(1), control(2))
    assert queue.dropped == 0


async def test_push_never_waits_even_past_the_limit() -> None:
    queue = EventQueue(limit=1)
    queue.push(control(1))
    queue.push(control(2))
    assert len(queue) == 2


async def test_end_delivers_queued_events_then_raises_the_error() -> None:
    queue = EventQueue()
    queue.offer(audio(1))
    error = ServerError("gone")
    queue.end(error)
    queue.end(None)  # the first end wins
    queue.offer(audio(2))  # ignored after the end
    await queue.put(control(3))
    assert await queue.get() == audio(1)
    with pytest.raises(ServerError):
        await queue.get()


async def test_end_wakes_a_waiting_reader_and_a_waiting_writer() -> None:
    queue = EventQueue(limit=1)
    await queue.put(control(1))
    async with asyncio.TaskGroup() as group:
        writer = group.create_task(queue.put(control(2)))
        queue.end(None)
    assert writer.done()
    assert await queue.get() == control(1)
    with pytest.raises(StopAsyncIteration):
        await queue.get()


async def test_a_second_concurrent_reader_is_refused() -> None:
    queue = EventQueue()
    async with asyncio.TaskGroup() as group:
        first = group.create_task(queue.get())
        await asyncio.sleep(0)  # a scheduling yield so the first reader is waiting; not a delay
        with pytest.raises(ConfigurationError, match="one consumer"):
            await queue.get()
        queue.push(ErrorEvent(ServerError("x")))
    assert isinstance(first.result(), ErrorEvent)


def test_queue_limit_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        EventQueue(limit=0)


@pytest.fixture
async def server() -> AsyncIterator[InMemoryRealtimeServer]:
    async with checked_server() as server:
        yield server


async def test_a_session_nobody_reads_drops_audio_but_keeps_control_events(
    server: InMemoryRealtimeServer,
) -> None:
    control_reply = server.respond_with_audio(bytes(9600), "a long answer", chunks=40)
    config: RealtimeRunConfig = {"max_queued_events": 8, "raw_model_events": False}
    async with open_session(server, AGENT, config) as session:
        await session.send_message("talk")
        await control_reply.wait_finished()
        events = await read_until(session, of_type("agent_end"))
        dropped = session.dropped_events
    kinds = [event.type for event in events]
    assert dropped > 0
    assert kinds.count("audio") < 40
    assert {"agent_start", "history_added", "audio_end", "agent_end"} <= set(kinds)
