"""Edge cases: unknown and odd server events, connect failures, handoffs that cannot apply."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import ConversationItemCreateEvent, RealtimeClientEvent

from antiphon.exceptions import ConfigurationError, ToolExecutionError, TransportError
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.events import ErrorEvent, RawModelEvent, ToolEndEvent
from antiphon.realtime.model import UnknownServerEvent
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.testing import InMemoryRealtimeServer
from tests.realtime.session_support import (
    WrappedModel,
    checked_server,
    factory,
    of_type,
    open_session,
    read_all,
    read_until,
)

AGENT = RealtimeAgent(name="plain", instructions="Be plain.")


@pytest.fixture
async def server() -> AsyncIterator[InMemoryRealtimeServer]:
    async with checked_server() as server:
        yield server


async def test_raw_events_are_opt_in_and_unknown_types_are_not_fatal(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, AGENT, {"raw_model_events": True}) as session:
        await server.send_event({"type": "response.brand_new_event", "event_id": "evt_new"})
        first = await read_until(
            session,
            lambda e: isinstance(e, RawModelEvent) and isinstance(e.event, UnknownServerEvent),
        )
        await session.send_message("still alive?")
        rest = await read_until(session, of_type("agent_end"))
    unknown = first[-1]
    assert isinstance(unknown, RawModelEvent)
    assert isinstance(unknown.event, UnknownServerEvent)
    assert unknown.event.type == "response.brand_new_event"
    assert any(isinstance(e, RawModelEvent) and e.event.type == "response.done" for e in rest)


async def test_without_raw_events_an_unknown_type_is_ignored(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, AGENT) as session:
        await server.send_event({"type": "response.brand_new_event", "event_id": "evt_new"})
        await session.send_message("hello")
        events = await read_until(session, of_type("agent_end"))
    assert not [e for e in events if isinstance(e, RawModelEvent)]


async def test_undecodable_audio_is_reported_and_the_session_goes_on(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, AGENT) as session:
        await server.send_event(
            {
                "type": "response.output_audio.delta",
                "event_id": "evt_audio",
                "response_id": "resp_x",
                "item_id": "item_x",
                "output_index": 0,
                "content_index": 0,
                "delta": "not base64!",
            }
        )
        events = await read_until(session, of_type("error"))
        await session.send_message("next")
        await read_until(session, of_type("agent_end"))
    error = events[-1]
    assert isinstance(error, ErrorEvent)
    assert isinstance(error.error, TransportError)
    assert "audio" in error.error.context


async def test_a_function_call_without_any_id_is_reported(server: InMemoryRealtimeServer) -> None:
    async with open_session(server, AGENT) as session:
        await server.send_event(
            {
                "type": "response.output_item.done",
                "event_id": "evt_call",
                "response_id": "resp_x",
                "output_index": 0,
                "item": {"type": "function_call", "name": "x", "arguments": "{}"},
            }
        )
        events = await read_until(session, of_type("error"))
    error = events[-1]
    assert isinstance(error, ErrorEvent)
    assert isinstance(error.error, ToolExecutionError)


def broken_instructions(agent: RealtimeAgent) -> str:
    raise RuntimeError("no instructions today")


BROKEN = RealtimeAgent(name="Broken", instructions=broken_instructions)
HANDS_OFF = RealtimeAgent(name="front", instructions="Front desk.", handoffs=[BROKEN])


async def test_a_handoff_whose_agent_cannot_be_described_is_answered_as_a_failure(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_tool_call("transfer_to_broken", {}, call_id="call_x")
    async with open_session(server, HANDS_OFF) as session:
        await session.send_message("transfer")
        events = await read_until(session, of_type("error"))
        await server.wait_for("response.create", 2)
        agent = session.agent
    end = next(e for e in events if isinstance(e, ToolEndEvent))
    assert isinstance(end.error, ToolExecutionError)
    assert "no instructions today" in end.output
    assert agent is HANDS_OFF
    outputs = [e for e in server.events if isinstance(e, ConversationItemCreateEvent)]
    assert len(outputs) == 2  # the user message and the one answer


async def test_connect_failure_raises_and_leaves_the_session_closed() -> None:
    stopped = InMemoryRealtimeServer()  # never started: every connect fails
    session = await RealtimeRunner(AGENT, model_factory=stopped.new_model).run()
    with pytest.raises(TransportError):
        await session.connect()
    assert await read_all(session) == []
    with pytest.raises(ConfigurationError, match="expected open session"):
        await session.send_message("nobody home")


def failing_tool_output(event: RealtimeClientEvent) -> BaseException | None:
    if isinstance(event, ConversationItemCreateEvent) and event.item.type == "function_call_output":
        return TransportError("socket gone", context="send function_call_output")
    return None


async def test_a_failed_background_send_ends_the_session_with_its_error(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_tool_call("unknown_tool", {}, call_id="call_y")
    model = WrappedModel(server.new_model(), fail_send=failing_tool_output)
    async with open_session(server, AGENT, model_factory=factory(model)) as session:
        await session.send_message("go")
        with pytest.raises(TransportError, match="socket gone"):
            await read_all(session)


async def test_close_error_does_not_mask_the_applications_exception(
    server: InMemoryRealtimeServer,
) -> None:
    model = WrappedModel(server.new_model(), fail_close=OSError("socket stuck"))
    with pytest.raises(KeyError, match="app bug"):
        async with open_session(server, AGENT, model_factory=factory(model)):
            raise KeyError("app bug")
    assert model.close_calls == 1
