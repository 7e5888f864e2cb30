"""Transport failures reach the application; closing always ends the iteration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import RealtimeClientEvent

from antiphon.exceptions import (
    ResponseRequestRejected,
    ServerError,
    TransportClosed,
    TransportError,
)
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.events import AgentEndEvent, ErrorEvent
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.session import RealtimeSession
from antiphon.realtime.testing import InMemoryRealtimeServer, ResponseWriter
from tests.realtime.session_support import (
    WrappedModel,
    checked_server,
    client_types,
    factory,
    of_type,
    open_session,
    read_all,
    read_until,
)

AGENT = RealtimeAgent(name="plain", instructions="Be plain.")


async def collect_types(session: RealtimeSession, seen: list[str]) -> None:
    async with asyncio.timeout(5):
        async for event in session:
            seen.append(event.type)


@pytest.fixture
async def server() -> AsyncIterator[InMemoryRealtimeServer]:
    async with checked_server() as server:
        yield server


async def test_malformed_json_is_raised_after_the_queued_events(
    server: InMemoryRealtimeServer,
) -> None:
    control = server.respond_with_text("hello")
    seen: list[str] = []
    async with open_session(server, AGENT) as session:
        await session.send_message("hi")
        await control.wait_finished()
        # Nothing was read yet: the whole turn is queued when the broken frame arrives.
        await server.send_raw("{not json")
        with pytest.raises(TransportError) as raised:
            await collect_types(session, seen)
    assert raised.value.context
    assert "agent_end" in seen


async def test_an_event_that_does_not_validate_ends_the_session(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, AGENT) as session:
        await server.send_event({"type": "response.output_text.delta", "event_id": "evt_bad"})
        with pytest.raises(TransportError) as raised:
            await read_all(session)
    assert raised.value.context


async def test_abrupt_close_raises_transport_closed_with_its_code(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, AGENT) as session:
        await server.close_connection(1011, "server exploded")
        with pytest.raises(TransportClosed) as raised:
            await read_all(session)
    assert (raised.value.code, raised.value.reason) == (1011, "server exploded")


async def test_dropped_connection_raises_transport_closed(server: InMemoryRealtimeServer) -> None:
    async with open_session(server, AGENT) as session:
        server.abort_connection()
        with pytest.raises(TransportClosed) as raised:
            await read_all(session)
    assert raised.value.code in (1006, None)


async def test_clean_close_ends_the_iteration_normally(server: InMemoryRealtimeServer) -> None:
    async with open_session(server, AGENT) as session:
        await server.close_connection(1000, "session cap reached")
        events = await read_all(session)
    assert all(not isinstance(event, ErrorEvent) for event in events)


async def test_close_wakes_a_blocked_iterator(server: InMemoryRealtimeServer) -> None:
    async with open_session(server, AGENT) as session, asyncio.TaskGroup() as group:
        reader = group.create_task(read_all(session))
        await session.close()
    assert isinstance(reader.result(), list)


async def test_iterators_end_even_when_closing_the_socket_fails(
    server: InMemoryRealtimeServer,
) -> None:
    model = WrappedModel(server.new_model(), fail_close=OSError("socket stuck"))
    runner = RealtimeRunner(AGENT, model_factory=factory(model))
    session = await runner.run(model_config={"url": "memory://", "api_key": "sk-test"})
    await session.connect()
    async with asyncio.TaskGroup() as group:
        reader = group.create_task(read_all(session))
        with pytest.raises(TransportError, match="closing the transport failed"):
            await session.close()
    assert isinstance(reader.result(), list)
    assert model.close_calls == 1
    await session.close()  # idempotent, and the error is reported once


def failing_item_create(event: RealtimeClientEvent) -> BaseException | None:
    if event.type == "conversation.item.create":
        return TransportError("socket gone", context="send conversation.item.create")
    return None


async def test_a_failed_send_raises_to_the_caller_and_from_the_iterator(
    server: InMemoryRealtimeServer,
) -> None:
    model = WrappedModel(server.new_model(), fail_send=failing_item_create)
    async with open_session(server, AGENT, model_factory=factory(model)) as session:
        with pytest.raises(TransportError, match="socket gone") as sent:
            await session.send_message("hi")
        with pytest.raises(TransportError) as iterated:
            await read_all(session)
    assert iterated.value is sent.value


async def busy(writer: ResponseWriter) -> None:
    # The server-VAD race as the client sees it: a response starts (not ours), then our
    # response.create is rejected because that response is active.
    await writer.text("someone else's response")
    await writer.error("conversation_already_has_active_response", "busy")


async def test_active_response_rejection_is_retried_not_lost(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond(busy)
    server.respond_with_text("second try")
    async with open_session(server, AGENT) as session:
        handle = await session.create_response(instructions="hello")
        response = await handle.wait()
    assert response.status == "completed"
    assert client_types(server).count("response.create") == 2
    assert response.id == server.sent[-1]["response"]["id"]  # type: ignore[index]


async def test_other_rejection_is_reported_to_the_caller(server: InMemoryRealtimeServer) -> None:
    server.respond_with_error("invalid_value", "no such voice")
    async with open_session(server, AGENT) as session:
        handle = await session.create_response(instructions="x")
        with pytest.raises(ResponseRequestRejected, match="no such voice") as raised:
            async with asyncio.timeout(5):
                await handle.wait()
        events = await read_until(session, of_type("error"))
    assert raised.value.code == "invalid_value"
    error = events[-1]
    assert isinstance(error, ErrorEvent)
    assert isinstance(error.error, ServerError)


async def test_rejected_automatic_request_reaches_the_application(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_error("invalid_value", "bad turn")
    async with open_session(server, AGENT) as session:
        await session.send_message("hi")
        events = await read_until(
            session,
            lambda e: isinstance(e, ErrorEvent) and isinstance(e.error, ResponseRequestRejected),
        )
    assert any(isinstance(e, ErrorEvent) and isinstance(e.error, ServerError) for e in events)


async def test_close_before_connect_and_twice_is_harmless(server: InMemoryRealtimeServer) -> None:
    runner = RealtimeRunner(AGENT, model_factory=server.new_model)
    session = await runner.run(model_config={"url": "memory://"})
    await session.close()
    await session.close()
    assert await read_all(session) == []


async def test_agent_end_carries_the_response_status(server: InMemoryRealtimeServer) -> None:
    server.respond_with_text("done")
    async with open_session(server, AGENT) as session:
        await session.send_message("hi")
        events = await read_until(session, of_type("agent_end"))
    end = events[-1]
    assert isinstance(end, AgentEndEvent)
    assert end.status == "completed"
