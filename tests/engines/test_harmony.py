"""The harmony engine in-process, over the stand-in upstream's ``httpx.MockTransport`` form.

What needs a real socket (stalls, cuts) is in ``tests/e2e/test_engine_transport.py``.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace

import httpx
import pytest

from antiphon.engines import (
    EngineEvent,
    EngineRequest,
    ForcedTool,
    FunctionTool,
    HarmonyEngine,
    HarmonyOptions,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    TurnFinished,
    UpstreamConfig,
    Usage,
)
from antiphon.exceptions import UpstreamHTTPError, UpstreamProtocolError
from antiphon.testing.upstream import (
    ScriptedUpstream,
    completion_chunks,
    turn,
    usage,
)
from antiphon.wire.ids import SequentialIds

from .conftest import collect, drain

WEATHER = FunctionTool("get_weather", "Weather of a city.", {"type": "object"})
CALL_TEXT = (
    "<|channel|>analysis<|message|>Need weather.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city":"Paris"}'
)


@pytest.fixture
async def engine(client: httpx.AsyncClient) -> AsyncIterator[HarmonyEngine]:
    config = UpstreamConfig("http://upstream.test/v1")
    harmony = HarmonyEngine(config, client=client, ids=SequentialIds())
    yield harmony
    await harmony.aclose()


def _ask(model: str, text: str = "Weather in Paris?") -> EngineRequest:
    return EngineRequest(
        model=model,
        history=(HistorySegment(({"role": "user", "content": text},)),),
        tools=(WEATHER,),
        current_date=datetime.date(2025, 8, 1),
    )


def _pieces(text: str, size: int = 5) -> list[str]:
    return [text[at : at + size] for at in range(0, len(text), size)]


def _joined(events: list[EngineEvent]) -> list[tuple[ItemStarted, str]]:
    items: list[tuple[ItemStarted, str]] = []
    for event in events:
        if isinstance(event, ItemStarted):
            items.append((event, ""))
        elif isinstance(event, ItemDelta):
            items[-1] = (items[-1][0], items[-1][1] + event.text)
    return items


async def test_reasoning_then_a_call_with_the_stop_token_stripped(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(
        model, [turn(completion_chunks(_pieces(CALL_TEXT), usage_data=usage(50, 20)))]
    )
    events = await collect(engine, _ask(model))
    assert _joined(events) == [
        (ItemStarted("reasoning", channel="analysis"), "Need weather."),
        (
            ItemStarted(
                "tool_call",
                name="functions.get_weather",
                call_id="call_0001",
                channel="commentary",
                content_type="<|constrain|>json",
            ),
            '{"city":"Paris"}',
        ),
    ]
    assert events[-1] == TurnFinished(
        "tool_calls", Usage(input_tokens=50, output_tokens=20), CALL_TEXT + "<|call|>"
    )


async def test_preamble_and_final_answer_get_their_phases_and_return_is_stored_as_end(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    text = (
        "<|channel|>commentary<|message|>Checking.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Sunny.<|return|>"
    )
    await upstream.script(model, [turn(completion_chunks(_pieces(text, 3)))])
    events = await collect(engine, _ask(model))
    assert _joined(events) == [
        (ItemStarted("message", channel="commentary", phase="commentary"), "Checking."),
        (ItemStarted("message", channel="final", phase="final_answer"), "Sunny."),
    ]
    assert events[-1] == TurnFinished("stop", None, text.replace("<|return|>", "<|end|>"))


async def test_length_leaves_the_raw_text_as_cut(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    text = "<|channel|>final<|message|>Sun"
    await upstream.script(model, [turn(completion_chunks([text], finish_reason="length"))])
    events = await collect(engine, _ask(model))
    assert events[-2:] == [ItemFinished(), TurnFinished("length", None, text)]


async def test_request_is_a_harmony_prompt_with_special_tokens_as_text(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(completion_chunks(["<|channel|>final<|message|>ok"]))])
    await collect(engine, replace(_ask(model), instructions="Be brief.", temperature=0.2))
    [body] = await upstream.bodies(model)
    prompt = body["prompt"]
    assert isinstance(prompt, str)
    assert prompt.startswith("<|start|>system<|message|>")
    assert "Current date: 2025-08-01" in prompt
    assert "Be brief." in prompt
    assert "type get_weather" in prompt
    assert prompt.endswith("<|start|>user<|message|>Weather in Paris?<|end|><|start|>assistant")
    assert body["skip_special_tokens"] is False
    assert body["spaces_between_special_tokens"] is False
    assert body["stop"] == ["<|call|>", "<|return|>"]
    assert (body["max_tokens"], body["temperature"], body["stream"]) == (8192, 0.2, True)


async def test_raw_text_of_an_earlier_turn_is_replayed_verbatim(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(completion_chunks(["<|channel|>final<|message|>ok"]))])
    earlier = HistorySegment(
        (
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": "re-rendered differently"}],
            },
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        ),
        raw_text=CALL_TEXT + "<|call|>",
    )
    result = HistorySegment(({"type": "function_call_output", "call_id": "c1", "output": "sunny"},))
    await collect(engine, replace(_ask(model), history=(earlier, result)))
    [body] = await upstream.bodies(model)
    prompt = body["prompt"]
    assert isinstance(prompt, str)
    assert "<|start|>assistant" + CALL_TEXT + "<|call|>" in prompt
    assert "re-rendered differently" not in prompt
    assert (
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>sunny" in prompt
    )


async def test_forced_function_prefill_opens_the_call_before_model_text(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(completion_chunks(['{"city":', '"Oslo"}']))])
    request = replace(_ask(model), tool_choice=ForcedTool("function", "get_weather"))
    events = await collect(engine, request)
    [body] = await upstream.bodies(model)
    prefill = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
    assert isinstance(body["prompt"], str)
    assert body["prompt"].endswith(prefill)
    [(started, arguments)] = _joined(events)
    assert (started.name, arguments) == ("functions.get_weather", '{"city":"Oslo"}')
    assert events[-1] == TurnFinished("tool_calls", None, prefill + '{"city":"Oslo"}<|call|>')


async def test_an_error_status_is_an_http_error_before_any_event(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(status=500)])
    forced = replace(_ask(model), tool_choice=ForcedTool("function", "get_weather"))
    seen: list[EngineEvent] = []
    with pytest.raises(UpstreamHTTPError):
        await drain(engine, forced, seen)
    assert seen == []  # not even the prefilled call's item


@pytest.mark.parametrize("reason", ["abort", "error"])
async def test_an_upstream_that_gives_up_is_a_protocol_error(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str, reason: str
) -> None:
    chunks = completion_chunks(["<|channel|>final<|message|>Sun"])
    chunks[-1]["choices"] = [{"index": 0, "text": "", "logprobs": None, "finish_reason": reason}]
    await upstream.script(model, [turn(chunks)])
    with pytest.raises(UpstreamProtocolError, match=reason):
        await collect(engine, _ask(model))


async def test_a_stream_without_finish_reason_is_a_protocol_error(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(completion_chunks(_pieces(CALL_TEXT))[:-1], done=False)])
    with pytest.raises(UpstreamProtocolError, match="finish_reason"):
        await collect(engine, _ask(model))


async def test_closing_the_stream_early_closes_the_upstream_response(
    engine: HarmonyEngine, upstream: ScriptedUpstream, model: str
) -> None:
    await upstream.script(model, [turn(completion_chunks(_pieces(CALL_TEXT)))])
    async with aclosing(engine.stream(_ask(model))) as events:
        assert isinstance(await anext(events), ItemStarted)
    [record] = await upstream.requests(model)
    assert record["outcome"] == "disconnected"


def test_options_are_frozen_defaults() -> None:
    assert HarmonyOptions().stop == ("<|call|>", "<|return|>")
