"""The chat engine in-process, over the stand-in upstream's ``httpx.MockTransport`` form.

What needs a real socket (stalls, cuts, connection reuse, refused connections) is in
``tests/e2e/test_engine_transport.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace

import httpx
import pytest
from openai.types.responses import ResponseInputItemParam

from antiphon.engines import (
    ChatEngine,
    EngineRequest,
    ForcedTool,
    FunctionTool,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    McpServerTools,
    TextFormat,
    TurnFinished,
    UpstreamConfig,
    Usage,
)
from antiphon.exceptions import ConfigurationError, UpstreamHTTPError, UpstreamProtocolError
from antiphon.testing.upstream import (
    ScriptedUpstream,
    ToolCallScript,
    chat_chunks,
    turn,
    usage,
)
from antiphon.wire.ids import SequentialIds

from .conftest import collect

WEATHER = FunctionTool("get_weather", "Weather of a city.", {"type": "object"})


@pytest.fixture
async def engine(client: httpx.AsyncClient) -> AsyncIterator[ChatEngine]:
    chat = ChatEngine(UpstreamConfig("http://upstream.test/v1"), client=client, ids=SequentialIds())
    yield chat
    await chat.aclose()


def _ask(model: str, text: str = "Hi") -> EngineRequest:
    return EngineRequest(
        model=model, history=(HistorySegment(({"role": "user", "content": text},)),)
    )


async def test_text_streams_as_one_message_with_usage(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    chunks = chat_chunks(content=["Hel", "lo", "!"], usage_data=usage(12, 3, cached=4))
    await upstream.script(model, [turn(chunks)])
    events = await collect(engine, _ask(model))
    assert events == [
        ItemStarted("message"),
        ItemDelta("Hel"),
        ItemDelta("lo"),
        ItemDelta("!"),
        ItemFinished(),
        TurnFinished("stop", Usage(input_tokens=12, output_tokens=3, cached_tokens=4)),
    ]


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
async def test_reasoning_deltas_become_a_reasoning_item_before_the_message(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str, key: str
) -> None:
    chunks = chat_chunks(
        reasoning=["Think", "ing"],
        content=["Done"],
        reasoning_key=key,
        usage_data=usage(5, 7, reasoning=2),
    )
    await upstream.script(model, [turn(chunks)])
    events = await collect(engine, _ask(model))
    assert events == [
        ItemStarted("reasoning"),
        ItemDelta("Think"),
        ItemDelta("ing"),
        ItemFinished(),
        ItemStarted("message"),
        ItemDelta("Done"),
        ItemFinished(),
        TurnFinished("stop", Usage(input_tokens=5, output_tokens=7, reasoning_tokens=2)),
    ]


async def test_parallel_tool_calls_stream_in_order_with_upstream_ids(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    calls = [
        ToolCallScript("get_weather", ['{"city":', '"Paris"}'], "call_a"),
        ToolCallScript("get_weather", ['{"city":"Oslo"}'], "call_b"),
    ]
    await upstream.script(model, [turn(chat_chunks(tool_calls=calls, finish_reason="tool_calls"))])
    events = await collect(engine, replace(_ask(model), tools=(WEATHER,)))
    assert events == [
        ItemStarted("tool_call", name="functions.get_weather", call_id="call_a"),
        ItemDelta('{"city":'),
        ItemDelta('"Paris"}'),
        ItemFinished(),
        ItemStarted("tool_call", name="functions.get_weather", call_id="call_b"),
        ItemDelta('{"city":"Oslo"}'),
        ItemFinished(),
        TurnFinished("tool_calls", None),
    ]


async def test_whole_calls_without_index_or_id_get_ids_and_report_tool_calls(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    # Ollama's shape: every call complete in one chunk, no index, finish_reason "stop".
    head, *_ = chat_chunks()
    whole = json.loads(json.dumps(head))
    whole["choices"][0]["delta"] = {
        "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
            {"id": "x2", "function": {"name": "get_weather", "arguments": "{}"}},
        ]
    }
    finish = chat_chunks(finish_reason="stop")[-1]
    await upstream.script(model, [turn([head, whole, finish])])
    events = await collect(engine, replace(_ask(model), tools=(WEATHER,)))
    assert events == [
        ItemStarted("tool_call", name="functions.get_weather", call_id="call_0001"),
        ItemDelta('{"city": "Rome"}'),
        ItemFinished(),
        ItemStarted("tool_call", name="functions.get_weather", call_id="x2"),
        ItemDelta("{}"),
        ItemFinished(),
        TurnFinished("tool_calls", None),
    ]


async def test_mcp_and_python_calls_map_back_to_their_recipients(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    calls = [ToolCallScript("deep_wiki__ask", ["{}"]), ToolCallScript("python", ['{"code":"1"}'])]
    await upstream.script(model, [turn(chat_chunks(tool_calls=calls, finish_reason="tool_calls"))])
    mcp = McpServerTools("Deep-Wiki", (FunctionTool("ask"),))
    events = await collect(engine, replace(_ask(model), mcp_servers=(mcp,), code_interpreter=True))
    started = [event for event in events if isinstance(event, ItemStarted)]
    assert [event.name for event in started] == ["deep_wiki.ask", "python"]


async def test_length_finish_is_reported(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(chat_chunks(content=["cut sh"], finish_reason="length"))])
    events = await collect(engine, _ask(model))
    assert events[-1] == TurnFinished("length", None)


async def test_request_carries_messages_tools_and_options(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(chat_chunks(content=["ok"]))])
    items: tuple[ResponseInputItemParam, ...] = (
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "need tool"}],
        },
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {
            "type": "mcp_call",
            "id": "m1",
            "server_label": "wiki",
            "name": "ask",
            "arguments": "{}",
            "output": "42",
        },
    )
    request = EngineRequest(
        model=model,
        instructions="Be brief.",
        history=(HistorySegment(items),),
        tools=(WEATHER,),
        tool_choice=ForcedTool("function", "get_weather"),
        temperature=0.5,
        max_output_tokens=99,
        reasoning_effort="low",
        text_format=TextFormat("json_schema", "out", {"type": "object"}, strict=True),
    )
    await collect(engine, request)
    [body] = await upstream.bodies(model)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "m1",
                    "type": "function",
                    "function": {"name": "wiki__ask", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "m1", "content": "42"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city.",
                "parameters": {"type": "object"},
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["max_tokens"], body["reasoning_effort"]) == (0.5, 99, "low")
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    }


async def test_error_status_before_the_first_byte_is_an_http_error(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(status=503, error="overloaded")])
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(engine, _ask(model))
    assert caught.value.status == 503
    assert "overloaded" in str(caught.value)


async def test_unscripted_model_is_a_404_from_the_upstream(engine: ChatEngine, model: str) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(engine, _ask(model))
    assert caught.value.status == 404


async def test_malformed_chunk_is_a_protocol_error(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    frames = [*chat_chunks(content=["a"])[:2], "data: {not json\n\n"]
    await upstream.script(model, [turn(frames)])
    with pytest.raises(UpstreamProtocolError, match="not JSON"):
        await collect(engine, _ask(model))


async def test_stream_ending_without_finish_reason_is_a_protocol_error(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(chat_chunks(content=["a"])[:2], done=False)])
    with pytest.raises(UpstreamProtocolError, match="finish_reason"):
        await collect(engine, _ask(model))


async def test_closing_the_stream_early_closes_the_upstream_response(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(chat_chunks(content=["a", "b"]))])
    async with aclosing(engine.stream(_ask(model))) as events:
        first = await anext(events)
    assert first == ItemStarted("message")
    [record] = await upstream.requests(model)
    assert record["outcome"] == "disconnected"


async def test_a_turn_read_to_its_end_completes_its_upstream_response(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(chat_chunks(content=["a"]))])
    await collect(engine, _ask(model))
    [record] = await upstream.requests(model)
    assert record["outcome"] == "completed"


async def test_interleaved_tool_call_pieces_are_rejected(
    engine: ChatEngine, upstream: ScriptedUpstream, model: str
) -> None:
    calls = [ToolCallScript("get_weather", ["{}"], "a"), ToolCallScript("get_weather", ["{}"], "b")]
    chunks = chat_chunks(tool_calls=calls, finish_reason="tool_calls")
    late = json.loads(json.dumps(chunks[2]))  # call 0's argument piece, sent again after call 1
    chunks.insert(4, late)
    await upstream.script(model, [turn(chunks)])
    with pytest.raises(UpstreamProtocolError, match="continued after"):
        await collect(engine, replace(_ask(model), tools=(WEATHER,)))


async def test_the_in_process_upstream_refuses_what_needs_a_socket(
    upstream: ScriptedUpstream,
) -> None:
    for fault in ({"stall_after": 1}, {"cut_after": 1}, {"interval": 0.02}):
        with pytest.raises(ConfigurationError, match="needs a real socket"):
            await upstream.script("m", [{**turn(chat_chunks()), **fault}])
