"""Function calls against llama.cpp: a forced call answered and continued, a call the engine
chooses itself (asked unstreamed, still streamed to the client), and the Agents SDK.

What is asserted: the stream grammar, that antiphon's items carry the engine's calls (ids, names,
arguments) and that the answer to a call reached the engine as a ``tool`` message beside the
assistant's call; never what the model says. ``temperature=0`` makes every run the same.
"""

from __future__ import annotations

import json

import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI
from openai.types.responses import FunctionToolParam, ResponseFunctionToolCall

from tests.e2e.llama.conftest import CHAT, TOOLS
from tests.e2e.llama.engine import Exchange, RecordingProxy, ends_as_the_engine_said
from tests.e2e.support import StreamRecorder, checked_stream

pytestmark = pytest.mark.e2e

WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
QUESTION = "What is the weather in Paris?"


def the_engines_call(exchange: Exchange, call: ResponseFunctionToolCall) -> None:
    """``call`` is the one tool call the engine answered in ``exchange``."""
    (engine_call,) = exchange.answer().tool_calls
    assert call.name == engine_call["name"] == "get_weather"
    assert call.call_id == engine_call["id"]
    assert call.arguments == engine_call["arguments"]
    assert call.status == "completed"


def answered_call(exchange: Exchange, call: ResponseFunctionToolCall, output: str) -> None:
    """The engine was sent the assistant's ``call`` and then ``output`` as its result."""
    assert exchange.messages[-2:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.call_id, "content": output},
    ]


async def test_forced_call_is_answered_and_the_turn_continues(
    client: AsyncOpenAI, recorder: StreamRecorder, proxy: RecordingProxy
) -> None:
    mark = proxy.mark()
    first, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=CHAT,
            input=QUESTION,
            tools=[WEATHER],
            tool_choice={"type": "function", "name": "get_weather"},
            max_output_tokens=48,
            temperature=0,
        ),
    )
    (asked,) = proxy.since(mark)
    assert asked.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert first.status == "completed"
    (call,) = first.output
    assert isinstance(call, ResponseFunctionToolCall)
    the_engines_call(asked, call)
    json.loads(call.arguments)  # held to the tool's schema by the engine's grammar

    mark = proxy.mark()
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=CHAT,
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=[WEATHER],
            max_output_tokens=32,
            temperature=0,
        ),
    )
    (answered,) = proxy.since(mark)
    assert answered.messages[0] == {"role": "user", "content": QUESTION}
    answered_call(answered, call, "sunny")
    assert answered.body["tool_choice"] == "auto"
    # The plain chatml format leaves tools alone unless one is forced: it answers in text.
    assert [item.type for item in second.output] == ["message"]
    assert second.output_text == answered.answer().content
    ends_as_the_engine_said(second, answered.answer())


async def test_call_the_engine_chose_unstreamed_upstream_streams_to_the_client(
    client: AsyncOpenAI, recorder: StreamRecorder, proxy: RecordingProxy
) -> None:
    # chatml-function-calling picks a call or a message itself (greedily: this prompt always
    # gets the call), and only unstreamed: antiphon's route asks it so (upstream_stream = false).
    mark = proxy.mark()
    first, payloads = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=TOOLS, input=QUESTION, tools=[WEATHER], max_output_tokens=48, temperature=0
        ),
    )
    (asked,) = proxy.since(mark)
    assert asked.body["stream"] is False
    assert "stream_options" not in asked.body
    assert asked.body["tool_choice"] == "auto"
    types = [p["type"] for p in payloads]
    assert "response.function_call_arguments.delta" in types
    (call,) = first.output
    assert isinstance(call, ResponseFunctionToolCall)
    the_engines_call(asked, call)
    json.loads(call.arguments)
    # An unstreamed answer carries its usage, which the response reports.
    (completion,) = asked.chunks()
    usage = completion["usage"]
    assert isinstance(usage, dict)
    assert first.usage is not None
    assert first.usage.input_tokens == usage["prompt_tokens"]
    assert first.usage.output_tokens == usage["completion_tokens"]

    mark = proxy.mark()
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=TOOLS,
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=[WEATHER],
            max_output_tokens=48,
            temperature=0,
        ),
    )
    (answered,) = proxy.since(mark)
    answered_call(answered, call, "sunny")
    answer = answered.answer()
    # Whatever the engine chose this time, the response carries exactly that.
    assert [item.call_id for item in second.output if item.type == "function_call"] == [
        c["id"] for c in answer.tool_calls
    ]
    assert second.output_text == answer.content
    ends_as_the_engine_said(second, answer)


async def test_agents_sdk_runs_a_function_tool_over_the_engine(
    client: AsyncOpenAI, proxy: RecordingProxy
) -> None:
    set_tracing_disabled(True)
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        calls.append(city)
        return "sunny"

    agent = Agent(
        name="forecaster",
        instructions="You are a terse assistant. Answer in at most five words.",
        model=OpenAIResponsesModel(model=CHAT, openai_client=client),
        tools=[get_weather],
        # Forced on the first turn; the SDK resets the choice once the tool ran
        # (reset_tool_choice), so the second turn is free to answer.
        model_settings=ModelSettings(tool_choice="get_weather", temperature=0, max_tokens=128),
    )
    mark = proxy.mark()
    result = await Runner.run(agent, QUESTION, max_turns=3)
    assert len(calls) == 1
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"]
    asked, answered = proxy.since(mark)
    assert asked.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert answered.body["tool_choice"] == "auto"
    (engine_call,) = asked.answer().tool_calls
    assert json.loads(engine_call["arguments"]) == {"city": calls[0]}
    assert answered.messages[-1] == {
        "role": "tool",
        "tool_call_id": engine_call["id"],
        "content": "sunny",
    }
    assert result.final_output == answered.answer().content
