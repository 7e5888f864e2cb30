"""The sans-I/O realtime conversation core: client frames in, GA server events out."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Annotated, Any

import pytest
from openai.types.realtime import RealtimeServerEvent
from pydantic import Field, TypeAdapter

from antiphon.engines.base import (
    EngineEvent,
    ForcedTool,
    FunctionTool,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    TurnFinished,
    Usage,
)
from antiphon.realtime_server.conversation import RealtimeConversation, Step
from antiphon.wire.ids import SequentialIds
from antiphon.wire.json import dump_json

SERVER_EVENTS: TypeAdapter[RealtimeServerEvent] = TypeAdapter(
    Annotated[RealtimeServerEvent, Field(discriminator="type")]
)
Frame = dict[str, Any]

WEATHER_TOOL: Frame = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
TEXT_TURN: tuple[EngineEvent, ...] = (
    ItemStarted("reasoning"),
    ItemDelta("Greet."),
    ItemFinished(),
    ItemStarted("message", phase="final_answer"),
    ItemDelta("Hello "),
    ItemDelta("there!"),
    ItemFinished(),
    TurnFinished("stop", Usage(input_tokens=10, output_tokens=4)),
)
CALL_TURN: tuple[EngineEvent, ...] = (
    ItemStarted("tool_call", name="functions.get_weather", call_id="call_1"),
    ItemDelta('{"city": '),
    ItemDelta('"Paris"}'),
    ItemFinished(),
    TurnFinished("tool_calls", Usage(input_tokens=20, output_tokens=6)),
)


def wire(events: Sequence[RealtimeServerEvent]) -> list[Frame]:
    """The events as sent, each checked against the official GA server union."""
    frames: list[Frame] = []
    for event in events:
        text = dump_json(event)
        assert SERVER_EVENTS.validate_json(text).type == event.type
        frames.append(json.loads(text))
    return frames


def types(events: Sequence[RealtimeServerEvent]) -> list[str]:
    return [frame["type"] for frame in wire(events)]


def send(conversation: RealtimeConversation, frame: Frame) -> Step:
    return conversation.receive(json.dumps(frame))


def user(text: str, **extra: object) -> Frame:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"type": "conversation.item.create", "item": item, **extra}


def play(conversation: RealtimeConversation, turn: Sequence[EngineEvent]) -> list[Frame]:
    events: list[RealtimeServerEvent] = []
    for event in turn:
        events.extend(conversation.engine_event(current(conversation), event))
    return wire(events)


def current(conversation: RealtimeConversation) -> str:
    """The id of the active response (the one a turn was started for)."""
    assert conversation.active_response_id is not None
    return conversation.active_response_id


def error_of(step: Step) -> Frame:
    [frame] = wire(step.events)
    assert frame["type"] == "error"
    assert step.start is None
    return frame["error"]


@pytest.fixture
def conversation() -> RealtimeConversation:
    return RealtimeConversation(
        "gpt-realtime",
        "upstream-model",
        ids=SequentialIds(),
        today=lambda: datetime.date(2026, 1, 2),
    )


def test_opens_with_session_created_and_updates_the_session(
    conversation: RealtimeConversation,
) -> None:
    [created] = wire(conversation.open())
    assert created["type"] == "session.created"
    assert created["session"]["model"] == "gpt-realtime"
    assert created["session"]["output_modalities"] == ["text"]
    step = send(
        conversation,
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "instructions": "Be brief.",
                "tools": [WEATHER_TOOL],
                "tool_choice": "required",
                "max_output_tokens": 50,
                "output_modalities": ["text"],
                "tracing": "auto",
            },
        },
    )
    [updated] = wire(step.events)
    assert updated["type"] == "session.updated"
    assert updated["session"]["instructions"] == "Be brief."
    assert updated["session"]["tools"][0]["name"] == "get_weather"
    send(conversation, user("Hi"))
    request = send(conversation, {"type": "response.create"}).start
    assert request is not None
    assert request.model == "upstream-model"
    assert request.instructions == "Be brief."
    assert request.tools == (
        FunctionTool("get_weather", "Weather of a city.", WEATHER_TOOL["parameters"]),
    )
    assert request.tool_choice == "required"
    assert request.max_output_tokens == 50
    assert request.current_date == datetime.date(2026, 1, 2)


def test_audio_output_and_audio_events_are_refused_and_the_connection_goes_on(
    conversation: RealtimeConversation,
) -> None:
    error = error_of(
        send(
            conversation,
            {
                "type": "session.update",
                "event_id": "evt_1",
                "session": {"type": "realtime", "output_modalities": ["audio"]},
            },
        )
    )
    assert error["param"] == "session.output_modalities"
    assert error["event_id"] == "evt_1"
    assert "speech pipeline" in error["message"]
    for frame in (
        {"type": "input_audio_buffer.append", "audio": "AAAA"},
        {"type": "input_audio_buffer.commit"},
        {"type": "input_audio_buffer.clear"},
    ):
        error = error_of(send(conversation, frame))
        assert error["code"] == "unsupported_event"
        assert frame["type"] in error["message"]
    assert types(send(conversation, user("still here")).events) == [
        "conversation.item.added",
        "conversation.item.done",
    ]


@pytest.mark.parametrize(
    ("frame", "param"),
    [
        ("{not json", None),
        (json.dumps({"type": "no.such.event"}), "type"),
        (json.dumps({"type": "conversation.item.create"}), "item"),
        (json.dumps({"type": "conversation.item.delete"}), "item_id"),
        (
            json.dumps({"type": "session.update", "session": {"type": "realtime", "tools": 3}}),
            "session.tools",
        ),
    ],
)
def test_a_malformed_event_is_an_error_naming_the_field(
    conversation: RealtimeConversation, frame: str, param: str | None
) -> None:
    [event] = wire(conversation.receive(frame).events)
    assert event["type"] == "error"
    assert event["error"]["type"] == "invalid_request_error"
    if param is not None:
        assert event["error"]["param"].startswith(param)
    assert not conversation.responding


def test_items_chain_by_previous_item_id_and_can_be_retrieved_and_deleted(
    conversation: RealtimeConversation,
) -> None:
    first = wire(send(conversation, user("one", event_id="e1")).events)
    assert [frame["type"] for frame in first] == [
        "conversation.item.added",
        "conversation.item.done",
    ]
    first_id = first[0]["item"]["id"]
    assert first[0]["previous_item_id"] is None
    assert first[1]["item"]["status"] == "completed"
    second = wire(send(conversation, user("two")).events)
    assert second[0]["previous_item_id"] == first_id
    front = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "0"}]}
    front_frames = wire(
        send(
            conversation,
            {
                "type": "conversation.item.create",
                "previous_item_id": "root",
                "item": {**front, "id": "sys_1"},
            },
        ).events
    )
    assert front_frames[0]["previous_item_id"] is None
    assert [item.id for item in conversation.items] == ["sys_1", first_id, second[0]["item"]["id"]]
    error = error_of(send(conversation, user("x", previous_item_id="missing")))
    assert error["code"] == "item_not_found"
    assert error["param"] == "previous_item_id"
    error = error_of(
        send(conversation, {"type": "conversation.item.create", "item": {**front, "id": "sys_1"}})
    )
    assert error["param"] == "item.id"

    [retrieved] = wire(
        send(conversation, {"type": "conversation.item.retrieve", "item_id": first_id}).events
    )
    assert retrieved["type"] == "conversation.item.retrieved"
    assert retrieved["item"]["content"][0]["text"] == "one"
    [deleted] = wire(
        send(conversation, {"type": "conversation.item.delete", "item_id": first_id}).events
    )
    assert deleted == {
        "type": "conversation.item.deleted",
        "event_id": deleted["event_id"],
        "item_id": first_id,
    }
    assert (
        error_of(send(conversation, {"type": "conversation.item.delete", "item_id": first_id}))[
            "code"
        ]
        == "item_not_found"
    )


def test_a_text_response_follows_the_ga_event_order(conversation: RealtimeConversation) -> None:
    send(conversation, user("Hi"))
    step = send(conversation, {"type": "response.create"})
    assert types(step.events) == ["response.created"]
    assert conversation.responding
    assert step.start is not None
    assert step.start.history[0].items == ({"type": "message", "role": "user", "content": "Hi"},)
    frames = play(conversation, TEXT_TURN)
    assert [frame["type"] for frame in frames] == [
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    assert frames[5]["text"] == "Hello there!"
    done = frames[-1]["response"]
    assert done["status"] == "completed"
    assert done["usage"]["total_tokens"] == 14
    assert done["output"][0]["content"] == [{"type": "output_text", "text": "Hello there!"}]
    assert not conversation.responding
    # The answer is part of the conversation the next response sees.
    send(conversation, user("Again"))
    request = send(conversation, {"type": "response.create"}).start
    assert request is not None
    assert [item.get("role") for item in request.history[0].items] == [
        "user",
        "assistant",
        "user",
    ]


def test_one_active_response_at_a_time(conversation: RealtimeConversation) -> None:
    send(conversation, user("Hi"))
    assert send(conversation, {"type": "response.create"}).start is not None
    error = error_of(send(conversation, {"type": "response.create", "event_id": "e2"}))
    assert error["code"] == "conversation_already_has_active_response"
    assert error["event_id"] == "e2"
    play(conversation, TEXT_TURN)
    assert send(conversation, {"type": "response.create"}).start is not None


def test_a_function_call_ends_the_response_and_its_output_feeds_the_next(
    conversation: RealtimeConversation,
) -> None:
    send(
        conversation,
        {"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER_TOOL]}},
    )
    send(conversation, user("Weather in Paris?"))
    send(conversation, {"type": "response.create"})
    frames = play(conversation, CALL_TURN)
    assert [frame["type"] for frame in frames] == [
        "response.output_item.added",
        "conversation.item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    done = frames[4]
    assert (done["name"], done["call_id"], done["arguments"]) == (
        "get_weather",
        "call_1",
        '{"city": "Paris"}',
    )
    assert frames[-1]["response"]["status"] == "completed"
    send(
        conversation,
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        },
    )
    request = send(conversation, {"type": "response.create"}).start
    assert request is not None
    assert [item.get("type") for item in request.history[0].items] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert request.history[0].items[1] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }


def test_response_create_overrides_and_out_of_band_responses(
    conversation: RealtimeConversation,
) -> None:
    send(
        conversation,
        {"type": "session.update", "session": {"type": "realtime", "instructions": "session"}},
    )
    send(conversation, user("in the conversation"))
    step = send(
        conversation,
        {
            "type": "response.create",
            "response": {
                "conversation": "none",
                "instructions": "classify",
                "metadata": {"topic": "x"},
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "function", "name": "get_weather"},
                "max_output_tokens": 7,
                "parallel_tool_calls": False,
                "output_modalities": ["text"],
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "only this"}],
                    }
                ],
            },
        },
    )
    request = step.start
    assert request is not None
    assert request.instructions == "classify"
    assert request.tool_choice == ForcedTool("function", name="get_weather")
    assert request.max_output_tokens == 7
    assert not request.parallel_tool_calls
    assert request.history[0].items == (
        {"type": "message", "role": "user", "content": "only this"},
    )
    before = conversation.items
    frames = play(conversation, TEXT_TURN)
    assert "conversation.item.added" not in [frame["type"] for frame in frames]
    assert frames[-1]["response"]["metadata"] == {"topic": "x"}
    assert conversation.items == before


def test_cancel_ends_the_response_cancelled(conversation: RealtimeConversation) -> None:
    error = error_of(send(conversation, {"type": "response.cancel"}))
    assert error["code"] == "response_cancel_not_active"
    send(conversation, user("Hi"))
    send(conversation, {"type": "response.create"})
    play(conversation, TEXT_TURN[3:5])
    step = send(conversation, {"type": "response.cancel"})
    assert step.cancel
    assert step.events == []
    frames = wire(conversation.cancelled(current(conversation)))
    assert [frame["type"] for frame in frames] == [
        "response.output_text.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    response = frames[-1]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"]["reason"] == "client_cancelled"
    assert response["output"][0]["status"] == "incomplete"
    assert not conversation.responding


def test_length_is_incomplete_and_an_engine_failure_is_failed(
    conversation: RealtimeConversation,
) -> None:
    send(conversation, user("Hi"))
    send(conversation, {"type": "response.create"})
    frames = play(conversation, (*TEXT_TURN[3:6], TurnFinished("length")))
    response = frames[-1]["response"]
    assert response["status"] == "incomplete"
    assert response["status_details"]["reason"] == "max_output_tokens"
    send(conversation, {"type": "response.create"})
    [done] = wire(conversation.failed(current(conversation), "upstream timed out"))
    assert done["response"]["status"] == "failed"
    assert done["response"]["status_details"]["error"]["message"] == "upstream timed out"
    assert not conversation.responding


def test_history_is_bounded() -> None:
    conversation = RealtimeConversation("m", "m", max_items=3, ids=SequentialIds())
    for number in range(5):
        send(conversation, user(str(number)))
    texts = [item.model_dump()["content"][0]["text"] for item in conversation.items]
    assert texts == ["2", "3", "4"]


def test_other_tools_and_items_are_refused_naming_the_field(
    conversation: RealtimeConversation,
) -> None:
    error = error_of(
        send(
            conversation,
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "tools": [{"type": "mcp", "server_label": "x", "server_url": "https://x"}],
                },
            },
        )
    )
    assert error["param"] == "session.tools[0].type"
    audio = {"type": "input_audio", "audio": "AAAA"}
    error = error_of(
        send(
            conversation,
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [audio]},
            },
        )
    )
    assert error["param"] == "item.content[0].type"


def test_a_late_turn_cannot_touch_the_next_response(conversation: RealtimeConversation) -> None:
    send(conversation, user("Hi"))
    first = send(conversation, {"type": "response.create"}).response_id
    play(conversation, TEXT_TURN)
    second = send(conversation, {"type": "response.create"}).response_id
    assert second != first
    assert conversation.engine_event(first, ItemStarted("message")) == []
    assert conversation.failed(first, "late") == []
    assert conversation.cancelled(first) == []
    assert conversation.active_response_id == second


def test_a_function_call_output_needs_its_call(conversation: RealtimeConversation) -> None:
    error = error_of(
        send(
            conversation,
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": "nope", "output": "x"},
            },
        )
    )
    assert error["param"] == "item.call_id"


def test_the_bounds_never_drop_the_item_just_inserted() -> None:
    conversation = RealtimeConversation("m", "m", max_items=2, ids=SequentialIds())
    for number in range(2):
        send(conversation, user(str(number)))
    front = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "s"}]}
    [added, _] = wire(
        send(
            conversation,
            {"type": "conversation.item.create", "previous_item_id": "root", "item": front},
        ).events
    )
    assert added["previous_item_id"] is None
    texts = [item.model_dump()["content"][0]["text"] for item in conversation.items]
    assert texts == ["s", "1"]


def test_history_is_bounded_in_bytes_too() -> None:
    conversation = RealtimeConversation("m", "m", max_history_bytes=1300, ids=SequentialIds())
    for number in range(5):
        send(conversation, user(str(number) * 300))
    texts = [item.model_dump()["content"][0]["text"][0] for item in conversation.items]
    assert texts == ["3", "4"]
