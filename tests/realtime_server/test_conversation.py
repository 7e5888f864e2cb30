"""The sans-I/O realtime conversation core: client frames in, GA server events out.

Responses run on the shipped scripted engine through the same turn loop as ``POST
/v1/responses``, in-process (no socket): :func:`run` drives a planned response to its end.
"""

from __future__ import annotations

import datetime
import json
from contextlib import aclosing

import pytest

from antiphon.engines.base import ForcedTool, FunctionTool, Usage
from antiphon.engines.scripted import ScriptedFailure, ScriptedItem, ScriptedTurn
from antiphon.realtime_server.conversation import RealtimeConversation
from antiphon.wire.ids import SequentialIds
from tests.realtime_server.support import Frame, Spy, error_of, run, send, types, user, wire

WEATHER_TOOL: Frame = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
TEXT = ScriptedTurn(
    items=(ScriptedItem("reasoning", "Greet."), ScriptedItem("message", "Hello there!")),
    usage=Usage(input_tokens=10, output_tokens=4),
)
CALL = ScriptedTurn(
    items=(
        ScriptedItem(
            "tool_call", '{"city": "Paris"}', name="functions.get_weather", call_id="call_1"
        ),
    ),
    usage=Usage(input_tokens=20, output_tokens=6),
)
JAN_2 = datetime.datetime(2026, 1, 2, 12, tzinfo=datetime.UTC).timestamp()


def make(spy: Spy, *, max_items: int = 512, max_history_bytes: int = 2**20) -> RealtimeConversation:
    return RealtimeConversation(
        "gpt-realtime",
        spy.served(),
        ids=SequentialIds(),
        clock=lambda: JAN_2,
        max_items=max_items,
        max_history_bytes=max_history_bytes,
    )


async def test_opens_with_session_created_and_updates_the_session() -> None:
    spy = Spy(TEXT)
    conversation = make(spy)
    [created] = wire(conversation.open())
    assert created["type"] == "session.created"
    assert created["session"]["model"] == "gpt-realtime"
    assert created["session"]["output_modalities"] == ["text"]
    session = {
        "type": "realtime",
        "instructions": "Be brief.",
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
        "max_output_tokens": 50,
        "output_modalities": ["text"],
        "tracing": "auto",
    }
    [updated] = wire(send(conversation, {"type": "session.update", "session": session}).events)
    assert updated["type"] == "session.updated"
    assert updated["session"]["instructions"] == "Be brief."
    assert updated["session"]["tools"][0]["name"] == "get_weather"
    assert updated["session"]["tracing"] == "auto"
    send(conversation, user("Hi"))
    await run(conversation, send(conversation, {"type": "response.create"}))
    [request] = spy.requests
    assert request.model == "upstream-model"
    assert request.instructions == "Be brief."
    assert request.tools == (
        FunctionTool("get_weather", "Weather of a city.", WEATHER_TOOL["parameters"]),
    )
    assert request.tool_choice == "required"
    assert request.max_output_tokens == 50
    assert request.current_date == datetime.date(2026, 1, 2)


def test_audio_output_and_audio_events_are_refused_and_the_connection_goes_on() -> None:
    conversation = make(Spy())
    frame = {
        "type": "session.update",
        "event_id": "evt_1",
        "session": {"type": "realtime", "output_modalities": ["audio"]},
    }
    error = error_of(send(conversation, frame))
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
        ("[1, 2]", None),
        (json.dumps({"type": "no.such.event", "event_id": "e9"}), "type"),
        (json.dumps({"type": "conversation.item.create", "event_id": "e9"}), "item"),
        (json.dumps({"type": "conversation.item.delete", "event_id": "e9"}), "item_id"),
        (
            json.dumps(
                {
                    "type": "session.update",
                    "event_id": "e9",
                    "session": {"type": "realtime", "tools": 3},
                }
            ),
            "session.tools",
        ),
    ],
)
def test_a_malformed_event_is_an_error_naming_the_field_and_event(
    frame: str, param: str | None
) -> None:
    conversation = make(Spy())
    [event] = wire(conversation.receive(frame).events)
    assert event["type"] == "error"
    assert event["error"]["type"] == "invalid_request_error"
    if param is not None:
        assert event["error"]["param"].startswith(param)
        assert event["error"]["event_id"] == "e9"
    assert not conversation.responding


def test_items_chain_by_previous_item_id_and_can_be_retrieved_and_deleted() -> None:
    conversation = make(Spy())
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
    root = {"type": "conversation.item.create", "previous_item_id": "root"}
    front_frames = wire(send(conversation, {**root, "item": {**front, "id": "sys_1"}}).events)
    assert front_frames[0]["previous_item_id"] is None
    assert [item.id for item in conversation.items] == ["sys_1", first_id, second[0]["item"]["id"]]
    error = error_of(send(conversation, user("x", previous_item_id="missing")))
    assert (error["code"], error["param"]) == ("item_not_found", "previous_item_id")
    again = {"type": "conversation.item.create", "item": {**front, "id": "sys_1"}}
    assert error_of(send(conversation, again))["param"] == "item.id"
    retrieve = {"type": "conversation.item.retrieve", "item_id": first_id}
    [retrieved] = wire(send(conversation, retrieve).events)
    assert retrieved["type"] == "conversation.item.retrieved"
    assert retrieved["item"]["content"][0]["text"] == "one"
    delete = {"type": "conversation.item.delete", "item_id": first_id}
    [deleted] = wire(send(conversation, delete).events)
    assert deleted == {
        "type": "conversation.item.deleted",
        "event_id": deleted["event_id"],
        "item_id": first_id,
    }
    assert error_of(send(conversation, delete))["code"] == "item_not_found"


async def test_a_text_response_follows_the_ga_event_order() -> None:
    spy = Spy(TEXT, TEXT)
    conversation = make(spy)
    send(conversation, user("Hi"))
    step = send(conversation, {"type": "response.create"})
    assert types(step.events) == ["response.created", "rate_limits.updated"]
    assert conversation.responding
    frames = await run(conversation, step)
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
    assert frames[0]["output_index"] == 0  # the reasoning item is not shown
    assert frames[5]["text"] == "Hello there!"
    done = frames[-1]["response"]
    assert done["status"] == "completed"
    assert done["usage"]["total_tokens"] == 14
    assert done["output"][0]["content"] == [{"type": "output_text", "text": "Hello there!"}]
    assert "Greet" not in json.dumps(frames)  # reasoning never leaks
    assert not conversation.responding
    # The answer is part of the conversation the next response sees.
    send(conversation, user("Again"))
    await run(conversation, send(conversation, {"type": "response.create"}))
    roles = [item.get("role") for item in spy.requests[1].history[0].items]
    assert roles == ["user", "assistant", "user"]


async def test_one_active_response_at_a_time() -> None:
    conversation = make(Spy(TEXT, TEXT))
    send(conversation, user("Hi"))
    step = send(conversation, {"type": "response.create"})
    assert step.turn is not None
    error = error_of(send(conversation, {"type": "response.create", "event_id": "e2"}))
    assert error["code"] == "conversation_already_has_active_response"
    assert error["event_id"] == "e2"
    await run(conversation, step)
    assert send(conversation, {"type": "response.create"}).turn is not None


async def test_a_function_call_ends_the_response_and_its_output_feeds_the_next() -> None:
    spy = Spy(CALL, TEXT)
    conversation = make(spy)
    update = {"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER_TOOL]}}
    send(conversation, update)
    send(conversation, user("Weather in Paris?"))
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    kinds = [frame["type"] for frame in frames]
    assert kinds[:2] == ["response.output_item.added", "conversation.item.added"]
    assert set(kinds[2:-5]) == {"response.function_call_arguments.delta"}
    assert kinds[-5:] == [
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    done = frames[-4]
    assert (done["name"], done["call_id"], done["arguments"]) == (
        "get_weather",
        "call_1",
        '{"city": "Paris"}',
    )
    assert frames[-1]["response"]["status"] == "completed"
    output = {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
    send(conversation, {"type": "conversation.item.create", "item": output})
    await run(conversation, send(conversation, {"type": "response.create"}))
    items = spy.requests[1].history[0].items
    assert [item.get("type") for item in items] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert {k: items[1].get(k) for k in ("call_id", "name", "arguments")} == {
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }


async def test_response_create_overrides_and_out_of_band_responses() -> None:
    spy = Spy(TEXT)
    conversation = make(spy)
    update = {"type": "session.update", "session": {"type": "realtime", "instructions": "session"}}
    send(conversation, update)
    send(conversation, user("in the conversation"))
    only = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "only"}]}
    params = {
        "conversation": "none",
        "instructions": "classify",
        "metadata": {"topic": "x"},
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "max_output_tokens": 7,
        "parallel_tool_calls": False,
        "output_modalities": ["text"],
        "input": [only],
    }
    before = list(conversation.items)
    frames = await run(
        conversation, send(conversation, {"type": "response.create", "response": params})
    )
    [request] = spy.requests
    assert request.instructions == "classify"
    assert request.tool_choice == ForcedTool("function", name="get_weather")
    assert request.max_output_tokens == 7
    assert not request.parallel_tool_calls
    assert [item.get("content") for item in request.history[0].items] == [
        [{"type": "input_text", "text": "only"}]
    ]
    assert "conversation.item.added" not in [frame["type"] for frame in frames]
    assert frames[-1]["response"]["metadata"] == {"topic": "x"}
    assert frames[-1]["response"]["max_output_tokens"] == 7
    assert list(conversation.items) == before


async def test_cancel_ends_the_response_cancelled_with_what_streamed() -> None:
    spy = Spy(TEXT, TEXT)
    conversation = make(spy)
    error = error_of(send(conversation, {"type": "response.cancel"}))
    assert error["code"] == "response_cancel_not_active"
    send(conversation, user("Hi"))
    step = send(conversation, {"type": "response.create"})
    assert step.turn is not None
    seen: list[Frame] = []
    async with aclosing(step.turn.events()) as batches:
        async for batch in batches:
            seen += wire(conversation.run_events(step.response_id, batch))
            if any(frame["type"] == "response.output_text.delta" for frame in seen):
                break
    cancel = send(conversation, {"type": "response.cancel"})
    assert cancel.cancel
    assert cancel.events == []
    frames = wire(conversation.cancelled(step.response_id))
    assert [frame["type"] for frame in frames] == [
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    response = frames[-1]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"]["reason"] == "client_cancelled"
    assert response["output"][0]["status"] == "incomplete"
    assert response["output"][0]["content"][0]["text"] == "Hello "
    assert not conversation.responding
    # The next response sees what was said before the cut.
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    assert frames[-1]["response"]["status"] == "completed"
    said = spy.requests[-1].history[0].items[-1]
    assert (said.get("role"), said.get("content")) == (
        "assistant",
        [{"type": "output_text", "text": "Hello ", "annotations": []}],
    )


async def test_length_is_incomplete_and_an_engine_failure_is_failed() -> None:
    cut = ScriptedTurn(items=(ScriptedItem("message", "Hello"),), finish_reason="length")
    broken = ScriptedTurn(fail=ScriptedFailure("http", status=500, message="upstream broke"))
    conversation = make(Spy(cut, broken))
    send(conversation, user("Hi"))
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    response = frames[-1]["response"]
    assert response["status"] == "incomplete"
    assert response["status_details"]["reason"] == "max_output_tokens"
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    done = frames[-1]["response"]
    assert done["status"] == "failed"
    assert "upstream broke" in done["status_details"]["error"]["message"]
    assert not conversation.responding
    # The session goes on.
    assert send(conversation, user("again")).events


def test_history_is_bounded() -> None:
    conversation = make(Spy(), max_items=3)
    for number in range(5):
        send(conversation, user(str(number)))
    texts = [item.model_dump()["content"][0]["text"] for item in conversation.items]
    assert texts == ["2", "3", "4"]


def test_unknown_tools_and_items_are_refused_naming_the_field() -> None:
    conversation = make(Spy())
    mcp = {"type": "mcp", "server_label": "x", "server_url": "https://x.example"}
    update = {"type": "session.update", "session": {"type": "realtime", "tools": [mcp]}}
    error = error_of(send(conversation, update))
    assert error["param"] == "session.tools[0].server_label"
    assert error["code"] == "unknown_mcp_server"
    code = {
        "type": "session.update",
        "session": {"type": "realtime", "tools": [WEATHER_TOOL, {"type": "code_interpreter"}]},
    }
    error = error_of(send(conversation, code))
    assert error["param"] == "session.tools[1]"
    audio = {"type": "input_audio", "audio": "AAAA"}
    item = {"type": "message", "role": "user", "content": [audio]}
    error = error_of(send(conversation, {"type": "conversation.item.create", "item": item}))
    assert error["param"] == "item.content[0].type"


async def test_a_late_run_cannot_touch_the_next_response() -> None:
    conversation = make(Spy(TEXT, TEXT))
    send(conversation, user("Hi"))
    first = send(conversation, {"type": "response.create"})
    await run(conversation, first)
    second = send(conversation, {"type": "response.create"}).response_id
    assert second != first.response_id
    assert conversation.failed(first.response_id, "late") == []
    assert conversation.cancelled(first.response_id) == []
    assert conversation.active_response_id == second


def test_a_function_call_output_needs_its_call() -> None:
    conversation = make(Spy())
    item = {"type": "function_call_output", "call_id": "nope", "output": "x"}
    error = error_of(send(conversation, {"type": "conversation.item.create", "item": item}))
    assert error["param"] == "item.call_id"


def test_the_bounds_never_drop_the_item_just_inserted() -> None:
    conversation = make(Spy(), max_items=2)
    for number in range(2):
        send(conversation, user(str(number)))
    front = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "s"}]}
    root = {"type": "conversation.item.create", "previous_item_id": "root", "item": front}
    [added, _] = wire(send(conversation, root).events)
    assert added["previous_item_id"] is None
    texts = [item.model_dump()["content"][0]["text"] for item in conversation.items]
    assert texts == ["s", "1"]


def test_history_is_bounded_in_bytes_too() -> None:
    conversation = make(Spy(), max_history_bytes=1300)
    for number in range(5):
        send(conversation, user(str(number) * 300))
    texts = [item.model_dump()["content"][0]["text"][0] for item in conversation.items]
    assert texts == ["3", "4"]
