"""Every tool call gets exactly one answer, whatever happens to the tool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import (
    ConversationItemCreateEvent,
    RealtimeConversationItemFunctionCallOutput,
    SessionUpdateEvent,
)
from openai.types.realtime.realtime_session_create_request import RealtimeSessionCreateRequest

from antiphon.exceptions import ToolExecutionError, ToolTimeoutError
from antiphon.realtime.agent import RealtimeAgent, realtime_handoff
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import ErrorEvent, HandoffEvent, RealtimeSessionEvent, ToolEndEvent
from antiphon.realtime.testing import InMemoryRealtimeServer, ResponseWriter
from antiphon.realtime.tools import ToolContext, function_tool
from tests.realtime.session_support import (
    checked_server,
    client_types,
    nth_of_type,
    of_type,
    open_session,
    read_all,
    read_until,
)

runs: list[str] = []


class Started:
    """Set by the blocking tool; a fresh event per test (events bind to one loop)."""

    event = asyncio.Event()


@function_tool
def explode(reason: str) -> str:
    """Always fails."""
    runs.append("explode")
    raise RuntimeError(f"kaboom: {reason}")


@function_tool(timeout=0.05)
async def sleepy() -> str:
    """Never finishes in time."""
    runs.append("sleepy")
    await asyncio.Event().wait()
    return "never"


@function_tool(timeout=0.05, on_timeout="raise")
async def sleepy_strict() -> str:
    """Never finishes in time, and says a timeout is fatal."""
    await asyncio.Event().wait()
    return "never"


@function_tool
async def blocker() -> str:
    """Waits until cancelled."""
    runs.append("blocker")
    Started.event.set()
    await asyncio.Event().wait()
    return "never"


@function_tool
def count(n: int) -> str:
    """Counts its runs."""
    runs.append(f"count {n}")
    return "counted"


SPECIALIST = RealtimeAgent(name="Specialist", instructions="You are the specialist.", tools=[count])


def failing_callback(context: ToolContext) -> object:
    raise RuntimeError("handoff refused")


def wrong_result(context: ToolContext) -> object:
    return "not an agent"


MAIN = RealtimeAgent(
    name="main",
    instructions="Main agent.",
    tools=[explode, sleepy, sleepy_strict, blocker, count],
    handoffs=[
        SPECIALIST,
        realtime_handoff(SPECIALIST, tool_name_override="bad_handoff", on_handoff=failing_callback),
        realtime_handoff(SPECIALIST, tool_name_override="odd_handoff", on_handoff=wrong_result),
    ],
)


@pytest.fixture
async def server() -> AsyncIterator[InMemoryRealtimeServer]:
    runs.clear()
    Started.event = asyncio.Event()
    async with checked_server() as server:
        yield server


def outputs(server: InMemoryRealtimeServer) -> list[RealtimeConversationItemFunctionCallOutput]:
    found: list[RealtimeConversationItemFunctionCallOutput] = []
    for event in server.events:
        if isinstance(event, ConversationItemCreateEvent) and isinstance(
            event.item, RealtimeConversationItemFunctionCallOutput
        ):
            found.append(event.item)
    return found


def after_output(server: InMemoryRealtimeServer) -> list[str]:
    """Client event types sent after the first function_call_output."""
    kinds = client_types(server)
    index = next(
        i
        for i, event in enumerate(server.events)
        if isinstance(event, ConversationItemCreateEvent)
        and isinstance(event.item, RealtimeConversationItemFunctionCallOutput)
    )
    return kinds[index + 1 :]


async def failed_call(
    server: InMemoryRealtimeServer,
    name: str,
    arguments: dict[str, object],
    config: RealtimeRunConfig | None = None,
) -> tuple[list[RealtimeSessionEvent], ToolEndEvent, ErrorEvent]:
    server.respond_with_tool_call(name, arguments, call_id="call_1")
    async with open_session(server, MAIN, config) as session:
        await session.send_message("go")
        events = await read_until(session, of_type("error"))
        await server.wait_for("response.create", 2)
    (end,) = [e for e in events if isinstance(e, ToolEndEvent)]
    error = events[-1]
    assert isinstance(error, ErrorEvent)
    return events, end, error


async def test_tool_failure_still_answers_the_model(server: InMemoryRealtimeServer) -> None:
    _, end, error = await failed_call(server, "explode", {"reason": "test"})
    (output,) = outputs(server)
    assert output.call_id == "call_1"
    assert "kaboom: test" in output.output
    assert after_output(server)[0] == "response.create"
    assert end.output == output.output
    assert isinstance(end.error, ToolExecutionError)
    assert error.error is end.error
    assert runs == ["explode"]


async def test_tool_timeout_still_answers_the_model(server: InMemoryRealtimeServer) -> None:
    _, end, error = await failed_call(server, "sleepy", {})
    (output,) = outputs(server)
    assert "timed out" in output.output
    assert isinstance(error.error, ToolTimeoutError)
    assert end.error is error.error
    assert "response.create" in after_output(server)


async def test_unknown_tool_is_answered_the_same_way(server: InMemoryRealtimeServer) -> None:
    _, end, error = await failed_call(server, "no_such_tool", {})
    (output,) = outputs(server)
    assert "no_such_tool" in output.output
    assert isinstance(error.error, ToolExecutionError)
    assert end.tool_name == "no_such_tool"
    assert "response.create" in after_output(server)


@pytest.mark.parametrize("name", ["bad_handoff", "odd_handoff"])
async def test_failed_handoff_still_answers_and_keeps_the_agent(
    server: InMemoryRealtimeServer, name: str
) -> None:
    server.respond_with_tool_call(name, {}, call_id="call_h")
    async with open_session(server, MAIN) as session:
        await session.send_message("transfer me")
        events = await read_until(session, of_type("error"))
        await server.wait_for("response.create", 2)
        agent = session.agent
    (output,) = outputs(server)
    assert output.call_id == "call_h"
    assert "failed" in output.output
    assert agent is MAIN
    assert not [e for e in events if isinstance(e, HandoffEvent)]
    assert len(server.log.of_type("session.update")) == 1


async def test_handoff_updates_the_session_before_the_transfer_output(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_tool_call("transfer_to_specialist", {}, call_id="call_t")
    async with open_session(server, MAIN) as session:
        await session.send_message("specialist please")
        events = await read_until(session, of_type("handoff"))
        await server.wait_for("response.create", 2)
        agent = session.agent
    handoff = events[-1]
    assert isinstance(handoff, HandoffEvent)
    assert (handoff.from_agent, handoff.to_agent) == (MAIN, SPECIALIST)
    assert agent is SPECIALIST
    kinds = client_types(server)
    second_update = [i for i, kind in enumerate(kinds) if kind == "session.update"][1]
    output_index = kinds.index("conversation.item.create", 2)
    assert second_update < output_index
    update = server.events[second_update]
    assert isinstance(update, SessionUpdateEvent)
    assert isinstance(update.session, RealtimeSessionCreateRequest)
    assert update.session.instructions == "You are the specialist."
    (output,) = outputs(server)
    assert "Specialist" in output.output


async def test_raise_policy_answers_then_raises_from_the_iterator(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_tool_call("explode", {"reason": "fatal"}, call_id="call_r")
    async with open_session(server, MAIN, {"tool_failure": "raise"}) as session:
        await session.send_message("go")
        with pytest.raises(ToolExecutionError, match="kaboom") as raised:
            await read_all(session)
    assert raised.value.call_id == "call_r"
    (output,) = outputs(server)
    assert output.call_id == "call_r"


async def test_raise_policy_ignores_timeouts_configured_as_results(
    server: InMemoryRealtimeServer,
) -> None:
    _, _, error = await failed_call(server, "sleepy", {}, {"tool_failure": "raise"})
    assert isinstance(error.error, ToolTimeoutError)


async def test_raise_policy_applies_to_strict_timeouts(server: InMemoryRealtimeServer) -> None:
    server.respond_with_tool_call("sleepy_strict", {}, call_id="call_s")
    async with open_session(server, MAIN, {"tool_failure": "raise"}) as session:
        await session.send_message("go")
        with pytest.raises(ToolTimeoutError):
            await read_all(session)
    assert [o.call_id for o in outputs(server)] == ["call_s"]


async def test_duplicate_call_id_never_runs_the_tool_twice(server: InMemoryRealtimeServer) -> None:
    async def twice(writer: ResponseWriter) -> None:
        await writer.tool_call("count", {"n": 1}, call_id="call_dup")
        await writer.tool_call("count", {"n": 1}, call_id="call_dup")

    server.respond(twice)
    async with open_session(server, MAIN) as session:
        await session.send_message("count")
        await read_until(session, nth_of_type("agent_end", 2))
    assert runs == ["count 1"]
    assert [o.call_id for o in outputs(server)] == ["call_dup"]


async def test_close_during_a_tool_call_cancels_it_without_an_answer(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_tool_call("blocker", {}, call_id="call_b")
    async with open_session(server, MAIN) as session:
        await session.send_message("block")
        async with asyncio.timeout(5):
            await Started.event.wait()
    assert outputs(server) == []
    assert runs == ["blocker"]


async def test_a_slow_tool_does_not_block_other_events(server: InMemoryRealtimeServer) -> None:
    server.respond_with_tool_call("blocker", {}, call_id="call_slow")
    async with open_session(server, MAIN) as session:
        await session.send_message("block")
        async with asyncio.timeout(5):
            await Started.event.wait()
        await read_until(session, of_type("agent_end"))
        handle = await session.create_response(instructions="talk meanwhile")
        response = await handle.wait()
    assert response.status == "completed"


async def test_tool_end_and_error_carry_the_same_exception(server: InMemoryRealtimeServer) -> None:
    events, end, error = await failed_call(server, "explode", {"reason": "same"})
    assert end.error is error.error
    assert events.index(end) < events.index(error)
