"""A session from the application's point of view: connect, talk, tools, history, responses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import (
    ConversationItemCreateEvent,
    RealtimeConversationItemAssistantMessage,
    RealtimeConversationItemFunctionCallOutput,
    RealtimeConversationItemUserMessage,
    RealtimeFunctionTool,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from openai.types.realtime.realtime_conversation_item_user_message import Content
from openai.types.realtime.realtime_session_create_request import RealtimeSessionCreateRequest

from antiphon.exceptions import ArgumentTypeError, ConfigurationError
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.events import HistoryUpdatedEvent, ToolEndEvent
from antiphon.realtime.testing import InMemoryRealtimeServer
from antiphon.realtime.tools import function_tool
from tests.realtime.session_support import (
    checked_server,
    client_types,
    nth_of_type,
    of_type,
    open_session,
    read_until,
    types_of,
)

calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Tell the weather of a city."""
    calls.append(city)
    return f"sunny in {city}"


WEATHER = RealtimeAgent(name="weather", instructions="Answer about weather.", tools=[get_weather])


@pytest.fixture
async def server() -> AsyncIterator[InMemoryRealtimeServer]:
    calls.clear()
    async with checked_server() as server:
        yield server


async def test_connect_sends_the_agent_as_a_ga_session_update(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, WEATHER):
        (update,) = await server.wait_for("session.update")
    assert isinstance(update, SessionUpdateEvent)
    session = update.session
    assert isinstance(session, RealtimeSessionCreateRequest)
    assert session.type == "realtime"
    assert session.instructions == "Answer about weather."
    assert session.output_modalities == ["audio"]
    assert session.tools is not None
    (tool,) = session.tools
    assert isinstance(tool, RealtimeFunctionTool)
    assert (tool.type, tool.name) == ("function", "get_weather")
    assert tool.parameters is not None


async def test_text_turn_with_a_tool_call_completes(server: InMemoryRealtimeServer) -> None:
    server.respond_with_tool_call("get_weather", {"city": "Paris"}, call_id="call_w")
    server.respond_with_text("It is sunny in Paris.", chunks=3)
    async with open_session(server, WEATHER) as session:
        await session.send_message("Weather in Paris?")
        events = await read_until(session, nth_of_type("agent_end", 2))
        history = session.history
    kinds = types_of(events)
    # The tool runs in its own task, so its start may come before or after the first agent_end.
    assert sorted(kinds) == sorted(
        ["agent_start", "agent_end", "tool_start", "tool_end"] * 1 + ["agent_start", "agent_end"]
    )
    assert kinds[0] == "agent_start"
    assert kinds.index("tool_start") < kinds.index("tool_end") < len(kinds) - 2
    assert kinds[-2:] == ["agent_start", "agent_end"]
    assert calls == ["Paris"]
    (output,) = [e for e in server.events if isinstance(e, ConversationItemCreateEvent)][1:]
    assert isinstance(output.item, RealtimeConversationItemFunctionCallOutput)
    assert (output.item.call_id, output.item.output) == ("call_w", "sunny in Paris")
    assert client_types(server).count("response.create") == 2
    assert [item.type for item in history] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    last = history[-1]
    assert isinstance(last, RealtimeConversationItemAssistantMessage)
    assert last.content[0].text == "It is sunny in Paris."


async def test_streamed_text_emits_history_updated_per_delta(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_text("abcdef", chunks=3)
    async with open_session(server, WEATHER) as session:
        await session.send_message("hi")
        events = await read_until(session, of_type("agent_end"))
    updates = [
        event
        for event in events
        if isinstance(event, HistoryUpdatedEvent)
        and isinstance(event.item, RealtimeConversationItemAssistantMessage)
    ]
    # One update per delta at least (the item's done events add more); items are live views.
    assert len(updates) >= 3
    final = updates[-1].item
    assert isinstance(final, RealtimeConversationItemAssistantMessage)
    assert final.content[0].text == "abcdef"


async def test_two_messages_during_a_response_share_one_response_create(
    server: InMemoryRealtimeServer,
) -> None:
    held = server.respond_with_text("first", hold=True)
    server.respond_with_text("second")
    async with open_session(server, WEATHER) as session:
        await session.send_message("one")
        await held.wait_started()
        await session.send_message("two")
        await session.send_message("three")
        await server.wait_for("conversation.item.create", 3)
        held.release()
        await read_until(session, nth_of_type("agent_end", 2))
    assert client_types(server).count("response.create") == 2


async def test_create_response_without_arguments_sends_no_response_object(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, WEATHER) as session:
        handle = await session.create_response()
        response = await handle.wait()
    assert response.status == "completed"
    raw = [text for text in server.log.raw if '"response.create"' in text]
    assert len(raw) == 1
    assert '"response"' not in raw[0]


async def test_create_response_sends_only_the_given_fields_and_keeps_the_agent(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, WEATHER) as session:
        handle = await session.create_response(instructions="Say hello.")
        await handle.wait()
        second = await session.create_response(metadata={"turn": "2"})
        await second.wait()
        agent = session.agent
    first_create, second_create = server.log.of_type("response.create")
    assert isinstance(first_create, ResponseCreateEvent)
    assert isinstance(second_create, ResponseCreateEvent)
    assert first_create.response is not None
    assert first_create.response.model_dump(exclude_unset=True) == {"instructions": "Say hello."}
    assert second_create.response is not None
    assert second_create.response.model_dump(exclude_unset=True) == {"metadata": {"turn": "2"}}
    assert agent is WEATHER
    assert len(server.log.of_type("session.update")) == 1


@pytest.mark.parametrize("metadata", [{"n": 1}, {1: "x"}, ["x"]])
async def test_create_response_rejects_non_string_metadata_before_sending(
    server: InMemoryRealtimeServer, metadata: object
) -> None:
    async with open_session(server, WEATHER) as session:
        with pytest.raises(ArgumentTypeError, match="str") as raised:
            await session.create_response(metadata=metadata)  # type: ignore[arg-type]
    assert isinstance(raised.value, TypeError)  # the Python idiom still holds
    assert "response.create" not in client_types(server)


async def test_manual_requests_are_never_merged(server: InMemoryRealtimeServer) -> None:
    async with open_session(server, WEATHER) as session:
        first = await session.create_response(instructions="one")
        second = await session.create_response(instructions="two")
        await first.wait()
        await second.wait()
    assert client_types(server).count("response.create") == 2


async def test_update_agent_sends_its_instructions_and_tools(
    server: InMemoryRealtimeServer,
) -> None:
    other = RealtimeAgent(name="other", instructions="Be brief.")
    async with open_session(server, WEATHER) as session:
        await session.update_agent(other)
        _, update = await server.wait_for("session.update", 2)
        assert session.agent is other
    assert isinstance(update, SessionUpdateEvent)
    assert isinstance(update.session, RealtimeSessionCreateRequest)
    assert update.session.instructions == "Be brief."
    assert update.session.tools == []


async def test_tool_end_reports_exactly_what_the_model_received(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_tool_call("get_weather", {"city": "Oslo"})
    async with open_session(server, WEATHER) as session:
        await session.send_message("Oslo?")
        events = await read_until(session, of_type("tool_end"))
    end = events[-1]
    assert isinstance(end, ToolEndEvent)
    assert (end.tool_name, end.output, end.error) == ("get_weather", "sunny in Oslo", None)


async def test_send_audio_appends_base64_and_commits_on_request(
    server: InMemoryRealtimeServer,
) -> None:
    async with open_session(server, WEATHER) as session:
        await session.send_audio(b"\x00\x01" * 10)
        await session.send_audio(b"\x00\x01", commit=True)
        await server.wait_for("input_audio_buffer.commit")
    assert client_types(server)[1:] == [
        "input_audio_buffer.append",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
    ]


async def test_methods_refuse_a_session_that_is_not_open(server: InMemoryRealtimeServer) -> None:
    async with open_session(server, WEATHER) as session:
        pass
    with pytest.raises(ConfigurationError, match="expected open session, found closed"):
        await session.send_message("late")


async def test_send_message_accepts_a_conversation_item(server: InMemoryRealtimeServer) -> None:
    item = RealtimeConversationItemUserMessage(
        type="message", role="user", content=[Content(type="input_text", text="as an item")]
    )
    async with open_session(server, WEATHER) as session:
        await session.send_message(item)
        await read_until(session, of_type("agent_end"))
        history = session.history
    first = history[0]
    assert isinstance(first, RealtimeConversationItemUserMessage)
    assert first.content[0].text == "as an item"
    assert client_types(server)[1:] == ["conversation.item.create", "response.create"]
