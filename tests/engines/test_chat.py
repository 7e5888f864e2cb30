from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace

import pytest
from openai.types.responses import ResponseInputItemParam

from antiphon.engines import (
    ChatEngine,
    EngineEvent,
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
from antiphon.exceptions import (
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antiphon.testing.upstream import (
    ToolCallScript,
    UpstreamControl,
    UpstreamProcess,
    chat_chunks,
    turn,
    usage,
)
from antiphon.wire.ids import SequentialIds

from .conftest import collect, drain

pytestmark = pytest.mark.e2e

WEATHER = FunctionTool("get_weather", "Weather of a city.", {"type": "object"})


@pytest.fixture
async def engine(upstream: UpstreamProcess) -> AsyncIterator[ChatEngine]:
    chat = ChatEngine(UpstreamConfig(upstream.base_url, stall_timeout=5), ids=SequentialIds())
    yield chat
    await chat.aclose()


def _ask(model: str, text: str = "Hi") -> EngineRequest:
    return EngineRequest(
        model=model, history=(HistorySegment(({"role": "user", "content": text},)),)
    )


async def test_text_streams_as_one_message_with_usage(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    chunks = chat_chunks(content=["Hel", "lo", "!"], usage_data=usage(12, 3, cached=4))
    await control.script(model, [turn(chunks)])
    events = await collect(engine, _ask(model))
    assert events == [
        ItemStarted("message"),
        ItemDelta("Hel"),
        ItemDelta("lo"),
        ItemDelta("!"),
        ItemFinished(),
        TurnFinished("stop", Usage(input_tokens=12, output_tokens=3, cached_tokens=4)),
    ]


async def test_consecutive_turns_reuse_one_upstream_connection(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=[word])) for word in ("a", "b", "c")])
    for _ in range(3):
        await collect(engine, _ask(model))
    peers = {str(record["peer"]) for record in await control.requests(model)}
    assert len(peers) == 1  # each body was read past [DONE], so its connection went back


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
async def test_reasoning_deltas_become_a_reasoning_item_before_the_message(
    engine: ChatEngine, control: UpstreamControl, model: str, key: str
) -> None:
    chunks = chat_chunks(
        reasoning=["Think", "ing"],
        content=["Done"],
        reasoning_key=key,
        usage_data=usage(5, 7, reasoning=2),
    )
    await control.script(model, [turn(chunks)])
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
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    calls = [
        ToolCallScript("get_weather", ['{"city":', '"Paris"}'], "call_a"),
        ToolCallScript("get_weather", ['{"city":"Oslo"}'], "call_b"),
    ]
    await control.script(model, [turn(chat_chunks(tool_calls=calls, finish_reason="tool_calls"))])
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
    engine: ChatEngine, control: UpstreamControl, model: str
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
    await control.script(model, [turn([head, whole, finish])])
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
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    calls = [ToolCallScript("deep_wiki__ask", ["{}"]), ToolCallScript("python", ['{"code":"1"}'])]
    await control.script(model, [turn(chat_chunks(tool_calls=calls, finish_reason="tool_calls"))])
    mcp = McpServerTools("Deep-Wiki", (FunctionTool("ask"),))
    events = await collect(engine, replace(_ask(model), mcp_servers=(mcp,), code_interpreter=True))
    started = [event for event in events if isinstance(event, ItemStarted)]
    assert [event.name for event in started] == ["deep_wiki.ask", "python"]


async def test_length_finish_is_reported(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["cut sh"], finish_reason="length"))])
    events = await collect(engine, _ask(model))
    assert events[-1] == TurnFinished("length", None)


async def test_request_carries_messages_tools_and_options(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["ok"]))])
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
    [body] = await control.bodies(model)
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
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(status=503, error="overloaded")])
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(engine, _ask(model))
    assert caught.value.status == 503
    assert "overloaded" in str(caught.value)


async def test_unscripted_model_is_a_404_from_the_upstream(engine: ChatEngine, model: str) -> None:
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(engine, _ask(model))
    assert caught.value.status == 404


async def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = holder.getsockname()[1]
        engine = ChatEngine(UpstreamConfig(f"http://127.0.0.1:{port}/v1"))
        with pytest.raises(UpstreamConnectError):
            await collect(engine, _ask("m"))
        await engine.aclose()


async def test_stream_cut_mid_way_is_a_protocol_error(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["a", "b", "c"]), cut_after=2)])
    seen: list[EngineEvent] = []
    with pytest.raises(UpstreamProtocolError):
        await drain(engine, _ask(model), seen)
    assert seen == [ItemStarted("message"), ItemDelta("a")]
    assert await control.wait_ended(model) == "cut"


async def test_malformed_chunk_is_a_protocol_error(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    frames = [*chat_chunks(content=["a"])[:2], "data: {not json\n\n"]
    await control.script(model, [turn(frames)])
    with pytest.raises(UpstreamProtocolError, match="not JSON"):
        await collect(engine, _ask(model))


async def test_stream_ending_without_finish_reason_is_a_protocol_error(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["a"])[:2], done=False)])
    with pytest.raises(UpstreamProtocolError, match="finish_reason"):
        await collect(engine, _ask(model))


async def test_stall_past_the_timeout_raises_and_disconnects(
    upstream: UpstreamProcess, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["a", "b"]), stall_after=2)])
    engine = ChatEngine(UpstreamConfig(upstream.base_url, stall_timeout=0.3))
    with pytest.raises(UpstreamTimeout):
        await collect(engine, _ask(model))
    await engine.aclose()
    assert await control.wait_ended(model) == "disconnected"


async def test_closing_the_stream_early_cancels_the_upstream_request(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["a", "b"]), stall_after=2)])
    async with aclosing(engine.stream(_ask(model))) as events:
        first = await anext(events)
    assert first == ItemStarted("message")
    assert await control.wait_ended(model) == "disconnected"


async def test_interleaved_tool_call_pieces_are_rejected(
    engine: ChatEngine, control: UpstreamControl, model: str
) -> None:
    calls = [ToolCallScript("get_weather", ["{}"], "a"), ToolCallScript("get_weather", ["{}"], "b")]
    chunks = chat_chunks(tool_calls=calls, finish_reason="tool_calls")
    late = json.loads(json.dumps(chunks[2]))  # call 0's argument piece, sent again after call 1
    chunks.insert(4, late)
    await control.script(model, [turn(chunks)])
    with pytest.raises(UpstreamProtocolError, match="continued after"):
        await collect(engine, replace(_ask(model), tools=(WEATHER,)))
