"""The chat engine in-process over ``httpx.MockTransport``: unstreamed upstreams, errors the
upstream reports inside a stream, and the assistant turn every engine accepts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import pytest
from openai.types.responses import ResponseInputItemParam

from antiphon.engines import (
    ChatEngine,
    ChatOptions,
    EngineRequest,
    ForcedTool,
    FunctionTool,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    TurnFinished,
    UpstreamConfig,
    Usage,
)
from antiphon.exceptions import UpstreamHTTPError, UpstreamProtocolError
from antiphon.wire.ids import SequentialIds

from .conftest import collect

WEATHER = FunctionTool("get_weather", "Weather of a city.", {"type": "object"})
Handler = Callable[[httpx.Request], httpx.Response]


class _Upstream:
    """Answers each request with ``handler`` and keeps the bodies it was sent."""

    def __init__(self) -> None:
        self.clients: list[httpx.AsyncClient] = []


@pytest.fixture
async def up() -> AsyncIterator[_Upstream]:
    made = _Upstream()
    yield made
    for client in made.clients:
        await client.aclose()


def _engine(
    upstream: _Upstream, handler: Handler, seen: list[dict[str, Any]], *, stream: bool
) -> ChatEngine:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return handler(request)

    client = httpx.AsyncClient(
        transport=httpx.MockTransport(record), base_url="http://upstream.test/v1/"
    )
    upstream.clients.append(client)
    return ChatEngine(
        UpstreamConfig("http://upstream.test/v1"),
        ChatOptions(stream=stream),
        client=client,
        ids=SequentialIds(),
    )


def _ask(*items: ResponseInputItemParam, tools: tuple[FunctionTool, ...] = ()) -> EngineRequest:
    history = items or ({"role": "user", "content": "Hi"},)
    return EngineRequest(model="m", history=(HistorySegment(history),), tools=tools)


def _completion(message: Mapping[str, object], finish: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
        },
    )


async def test_an_unstreamed_upstream_text_answer_becomes_the_same_events(
    up: _Upstream,
) -> None:
    seen: list[dict[str, Any]] = []
    engine = _engine(
        up,
        lambda _: _completion({"role": "assistant", "content": "Hello!"}, "stop"),
        seen,
        stream=False,
    )
    events = await collect(engine, _ask())
    assert events == [
        ItemStarted("message"),
        ItemDelta("Hello!"),
        ItemFinished(),
        TurnFinished("stop", Usage(input_tokens=9, output_tokens=4)),
    ]
    [body] = seen
    assert body["stream"] is False
    assert "stream_options" not in body  # llama.cpp refuses stream_options without stream


async def test_an_unstreamed_tool_call_streams_as_a_tool_call_item(up: _Upstream) -> None:
    seen: list[dict[str, Any]] = []
    message = {
        "role": "assistant",
        "content": None,
        "reasoning_content": "need the weather",
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
    }
    engine = _engine(up, lambda _: _completion(message, "tool_calls"), seen, stream=False)
    events = await collect(engine, _ask(tools=(WEATHER,)))
    assert events == [
        ItemStarted("reasoning"),
        ItemDelta("need the weather"),
        ItemFinished(),
        ItemStarted("tool_call", name="functions.get_weather", call_id="call_9"),
        ItemDelta('{"city":"Oslo"}'),
        ItemFinished(),
        TurnFinished("tool_calls", Usage(input_tokens=9, output_tokens=4)),
    ]


async def test_an_unstreamed_upstream_error_keeps_its_message(up: _Upstream) -> None:
    seen: list[dict[str, Any]] = []
    engine = _engine(
        up,
        lambda _: httpx.Response(400, json={"error": {"message": "context too long"}}),
        seen,
        stream=False,
    )
    with pytest.raises(UpstreamHTTPError, match="context too long"):
        await collect(engine, _ask())


async def test_an_error_reported_inside_the_stream_says_what_the_upstream_said(
    up: _Upstream,
) -> None:
    chunk = {
        "choices": [{"index": 0, "delta": {"content": "Hal"}, "finish_reason": None}],
    }
    error = {"error": {"code": 500, "message": "Automatic streaming tool choice is not supported"}}
    sse = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(error)}\n\n"
    seen: list[dict[str, Any]] = []
    engine = _engine(up, lambda _: httpx.Response(200, text=sse), seen, stream=True)
    with pytest.raises(UpstreamProtocolError, match="Automatic streaming tool choice"):
        await collect(engine, _ask())
    assert seen[0]["stream"] is True


async def test_an_answered_tool_call_replays_with_empty_content_not_null(
    up: _Upstream,
) -> None:
    """llama.cpp's server refuses ``"content": null`` beside ``tool_calls``; ``""`` is accepted
    by every engine antiphon supports."""
    seen: list[dict[str, Any]] = []
    engine = _engine(
        up,
        lambda _: _completion({"role": "assistant", "content": "Sunny."}, "stop"),
        seen,
        stream=False,
    )
    call: ResponseInputItemParam = {
        "type": "function_call",
        "call_id": "c1",
        "name": "get_weather",
        "arguments": "{}",
    }
    output: ResponseInputItemParam = {
        "type": "function_call_output",
        "call_id": "c1",
        "output": "sunny",
    }
    question: ResponseInputItemParam = {"role": "user", "content": "Weather?"}
    request = _ask(question, call, output, tools=(WEATHER,))
    await collect(engine, request)
    assert seen[0]["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ],
    }


async def test_a_forced_call_without_streaming_still_names_the_function(
    up: _Upstream,
) -> None:
    seen: list[dict[str, Any]] = []
    message = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ],
    }
    engine = _engine(up, lambda _: _completion(message, "tool_calls"), seen, stream=False)
    request = EngineRequest(
        model="m",
        history=(HistorySegment(({"role": "user", "content": "Hi"},)),),
        tools=(WEATHER,),
        tool_choice=ForcedTool("function", "get_weather"),
    )
    events = await collect(engine, request)
    assert seen[0]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert events[0] == ItemStarted("tool_call", name="functions.get_weather", call_id="c")
