"""Function tools and ``previous_response_id`` chains through a real ``antiphon serve``.

The stand-in records every upstream request, so these tests assert what history the server
replayed: the chat messages, and for harmony the exact raw text earlier turns generated.
"""

from __future__ import annotations

import json

import pytest
from openai import AsyncOpenAI
from openai.types.responses import (
    FunctionToolParam,
    ResponseFunctionToolCall,
    ResponseInputParam,
)

from antiphon.engines._http import as_list, as_object
from antiphon.testing.upstream import (
    ToolCallScript,
    UpstreamControl,
    chat_chunks,
    completion_chunks,
    turn,
)
from tests.e2e.conftest import ModelPool
from tests.e2e.support import StreamRecorder, checked_stream

pytestmark = pytest.mark.e2e

WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
CLOCK: FunctionToolParam = {
    "type": "function",
    "name": "get_time",
    "description": "The time in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
SUNNY = json.dumps({"sky": "sunny"})


def _call_turn() -> list[dict[str, object]]:
    call = ToolCallScript("get_weather", ['{"city": ', '"Paris"}'], call_id="call_paris")
    return chat_chunks(tool_calls=[call], finish_reason="tool_calls")


def _only_call(output: object) -> ResponseFunctionToolCall:
    calls = [item for item in as_list(output) if isinstance(item, ResponseFunctionToolCall)]
    assert len(calls) == 1
    return calls[0]


async def test_function_call_round_trip_through_previous_response_id(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await control.script(model, [turn(_call_turn()), turn(chat_chunks(content=["Sunny."]))])
    first, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(model=model, input="Weather in Paris?", tools=[WEATHER]),
    )
    call = _only_call(first.output)
    assert (call.name, call.arguments, call.call_id) == (
        "get_weather",
        '{"city": "Paris"}',
        "call_paris",
    )
    assert first.status == "completed"
    answer: ResponseInputParam = [
        {"type": "function_call_output", "call_id": call.call_id, "output": SUNNY}
    ]
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=model, previous_response_id=first.id, input=answer, tools=[WEATHER]
        ),
    )
    assert second.output_text == "Sunny."
    assert second.previous_response_id == first.id
    messages = as_list((await control.bodies(model))[1]["messages"])
    assistant = as_object(messages[1]) or {}
    assert [(as_object(m) or {}).get("role") for m in messages] == ["user", "assistant", "tool"]
    calls = as_list(assistant.get("tool_calls"))
    function = as_object((as_object(calls[0]) or {}).get("function")) or {}
    assert function == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert messages[2] == {"role": "tool", "tool_call_id": "call_paris", "content": SUNNY}


async def test_function_call_round_trip_with_the_full_input(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await control.script(model, [turn(_call_turn()), turn(chat_chunks(content=["Sunny."]))])
    first = await client.responses.create(
        model=model, input="Weather in Paris?", tools=[WEATHER], store=False
    )
    call = _only_call(first.output)
    full: ResponseInputParam = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": SUNNY},
    ]
    second, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input=full, tools=[WEATHER])
    )
    assert second.output_text == "Sunny."
    bodies = await control.bodies(model)
    assert [(as_object(m) or {}).get("role") for m in as_list(bodies[1]["messages"])] == [
        "user",
        "assistant",
        "tool",
    ]


async def test_input_items_of_a_tool_round_trip_validate_strictly(client: AsyncOpenAI) -> None:
    call_id = "call_listed"
    full: ResponseInputParam = [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call_id, "output": SUNNY},
    ]
    done = await client.responses.create(model="scripted-weather", input=full, tools=[WEATHER])
    items = await client.responses.input_items.list(done.id, order="asc")
    assert [item.type for item in items.data] == [
        "message",
        "function_call",
        "function_call_output",
    ]


async def test_scripted_function_call_round_trip(
    client: AsyncOpenAI, recorder: StreamRecorder
) -> None:
    first, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(model="scripted-weather", input="Weather?", tools=[WEATHER]),
    )
    call = _only_call(first.output)
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model="scripted-weather",
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": SUNNY}],
            tools=[WEATHER],
        ),
    )
    assert second.output_text == "It is sunny in Paris."


async def test_chat_chain_of_three_turns_replays_the_conversation(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    answers = ["One.", "Two.", "Three."]
    await control.script(model, [turn(chat_chunks(content=[a])) for a in answers])
    previous: str | None = None
    for index, question in enumerate(["First?", "Second?", "Third?"]):
        final, _ = await checked_stream(
            client,
            recorder,
            client.responses.stream(
                model=model,
                input=question,
                instructions=f"Rule {index}",
                previous_response_id=previous,
            ),
        )
        assert final.output_text == answers[index]
        previous = final.id
    last = as_list((await control.bodies(model))[2]["messages"])
    assert last == [
        {"role": "system", "content": "Rule 2"},
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "One."},
        {"role": "user", "content": "Second?"},
        {"role": "assistant", "content": "Two."},
        {"role": "user", "content": "Third?"},
    ]


HARMONY_TURNS = [
    "<|channel|>analysis<|message|>Plan one.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Answer one.",
    "<|channel|>analysis<|message|>Plan two.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city": "Oslo"}',
    "<|channel|>final<|message|>Answer three.",
]


async def test_harmony_chain_replays_the_exact_raw_text_and_applies_new_settings(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_harmony()
    await control.script(
        model, [turn(completion_chunks([text[:9], text[9:]])) for text in HARMONY_TURNS]
    )
    first, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(model=model, input="Q1", instructions="Old rules"),
    )
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=model,
            input="Q2",
            previous_response_id=first.id,
            instructions="New rules",
            tools=[WEATHER],
        ),
    )
    call = _only_call(second.output)
    third, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=model,
            previous_response_id=second.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": SUNNY}],
            tools=[CLOCK],
            reasoning={"effort": "high"},
        ),
    )
    assert third.output_text == "Answer three."
    prompts = [str(body["prompt"]) for body in await control.bodies(model)]
    # Each earlier turn comes back byte for byte as the model wrote it (the stop token the
    # upstream stripped restored as <|end|> / <|call|>), so the prefix cache stays valid.
    assert HARMONY_TURNS[0] + "<|end|>" in prompts[1]
    assert HARMONY_TURNS[0] + "<|end|>" in prompts[2]
    assert HARMONY_TURNS[1] + "<|call|>" in prompts[2]
    assert "Old rules" in prompts[0]
    assert "Old rules" not in prompts[1]
    assert "New rules" in prompts[1]
    assert "New rules" not in prompts[2]
    assert "get_weather" in prompts[1].split("<|start|>user")[0]
    tools_part = prompts[2].split("<|start|>user")[0]
    assert "get_time" in tools_part
    assert "get_weather" not in tools_part
    assert "Reasoning: high" in prompts[2]
    assert "Reasoning: high" not in prompts[1]
