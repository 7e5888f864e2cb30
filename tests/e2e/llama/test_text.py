"""Text turns against llama.cpp: unstreamed and streamed, a chain, max_output_tokens, a cancelled
background run, JSON mode, and Structured Outputs (which llama.cpp's server refuses).

SmolLM2-135M says little of sense, so the tests assert on the protocol, the stream grammar and on
what reached the engine and what it answered (the proxy's records), never on the wording. Every
request asks for ``temperature=0`` (greedy: the same answer every run) and few tokens.
"""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from openai import AsyncOpenAI
from openai.lib.streaming.responses import AsyncResponseStream
from pydantic import BaseModel

from tests.e2e.llama.conftest import CHAT
from tests.e2e.llama.engine import RecordingProxy, ends_as_the_engine_said
from tests.e2e.support import StreamRecorder, checked_stream, same_response
from tests.grammar_items import as_json, is_json

pytestmark = pytest.mark.e2e

#: A prompt the model answers at length: its turn only ends at the token limit.
ESSAY = "Write a long essay about the history of Paris."


async def test_unstreamed_response_is_what_the_engine_said(
    client: AsyncOpenAI, proxy: RecordingProxy
) -> None:
    mark = proxy.mark()
    response = await client.responses.create(
        model=CHAT, input="Say hello.", max_output_tokens=24, temperature=0
    )
    (exchange,) = proxy.since(mark)
    assert exchange.body["model"] == "smollm2-chat"
    assert exchange.messages == [{"role": "user", "content": "Say hello."}]
    assert exchange.body["max_tokens"] == 24
    assert exchange.body["temperature"] == 0
    answer = exchange.answer()
    assert answer.content
    assert response.output_text == answer.content
    ends_as_the_engine_said(response, answer)
    stored = await client.responses.with_raw_response.retrieve(response.id)
    same_response(response, stored.http_response.text)


async def test_streamed_response_passes_the_grammar_and_matches_the_engine(
    client: AsyncOpenAI, recorder: StreamRecorder, proxy: RecordingProxy
) -> None:
    mark = proxy.mark()
    final, payloads = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=CHAT, input="Name a colour.", max_output_tokens=24, temperature=0
        ),
    )
    (exchange,) = proxy.since(mark)
    assert exchange.body["stream"] is True
    answer = exchange.answer()
    deltas = [p["delta"] for p in payloads if p["type"] == "response.output_text.delta"]
    assert deltas
    assert "".join(str(d) for d in deltas) == answer.content == final.output_text
    ends_as_the_engine_said(final, answer)


async def test_three_turn_chain_sends_the_whole_history_to_the_engine(
    client: AsyncOpenAI, recorder: StreamRecorder, proxy: RecordingProxy
) -> None:
    inputs = ["My name is Ada.", "What is my name?", "Say it once more."]
    first = await client.responses.create(
        model=CHAT, input=inputs[0], max_output_tokens=16, temperature=0
    )
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=CHAT,
            input=inputs[1],
            previous_response_id=first.id,
            max_output_tokens=16,
            temperature=0,
        ),
    )
    mark = proxy.mark()
    third = await client.responses.create(
        model=CHAT,
        input=inputs[2],
        previous_response_id=second.id,
        max_output_tokens=16,
        temperature=0,
    )
    assert second.previous_response_id == first.id
    assert third.previous_response_id == second.id
    (exchange,) = proxy.since(mark)
    assert exchange.messages == [
        {"role": "user", "content": inputs[0]},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": inputs[1]},
        {"role": "assistant", "content": second.output_text},
        {"role": "user", "content": inputs[2]},
    ]
    assert third.output_text == exchange.answer().content
    ends_as_the_engine_said(third, exchange.answer())


async def test_max_output_tokens_ends_the_response_incomplete(
    client: AsyncOpenAI, recorder: StreamRecorder, proxy: RecordingProxy
) -> None:
    mark = proxy.mark()
    final, payloads = await checked_stream(
        client,
        recorder,
        client.responses.stream(model=CHAT, input=ESSAY, max_output_tokens=16, temperature=0),
    )
    (exchange,) = proxy.since(mark)
    assert exchange.body["max_tokens"] == 16
    assert exchange.answer().finish_reason == "length"
    assert payloads[-1]["type"] == "response.incomplete"
    assert final.status == "incomplete"
    assert final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"
    (message,) = final.output
    assert message.type == "message"
    assert message.status == "incomplete"


async def _until_delta(stream: AsyncResponseStream[None]) -> int:
    """Read until the first text delta; its sequence number."""
    async for event in stream:
        if event.type == "response.output_text.delta":
            return event.sequence_number
    raise AssertionError("the response ended before any text")


async def test_cancelling_a_background_run_disconnects_the_engine(
    client: AsyncOpenAI, recorder: StreamRecorder, proxy: RecordingProxy
) -> None:
    mark = proxy.mark()
    created = await client.responses.create(
        model=CHAT, input=ESSAY, max_output_tokens=1024, temperature=0, background=True
    )
    assert created.status == "queued"
    async with client.responses.stream(response_id=created.id) as stream:
        seen = await _until_delta(stream)
    # The engine is ~1000 tokens (many seconds) away from its end: the cancel lands mid-turn.
    cancelled = await client.responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    (exchange,) = proxy.since(mark)
    assert await asyncio.to_thread(exchange.ended.wait, 60)
    assert exchange.outcome == "disconnected"
    assert exchange.answer().finish_reason is None
    final, payloads = await checked_stream(
        client, recorder, client.responses.stream(response_id=created.id, starting_after=seen)
    )
    assert final.status == "cancelled"
    assert payloads[-1]["type"] == "response.incomplete"


async def test_json_mode_reaches_the_engine_and_its_output_is_json(
    client: AsyncOpenAI, proxy: RecordingProxy
) -> None:
    mark = proxy.mark()
    response = await client.responses.create(
        model=CHAT,
        input="Give the capital of France as a JSON object.",
        text={"format": {"type": "json_object"}},
        max_output_tokens=48,
        temperature=0,
    )
    (exchange,) = proxy.since(mark)
    assert exchange.body["response_format"] == {"type": "json_object"}
    answer = exchange.answer()
    assert response.output_text == answer.content
    ends_as_the_engine_said(response, answer)
    assert response.text is not None
    assert response.text.format is not None
    assert response.text.format.type == "json_object"
    if response.status == "completed":  # the engine's grammar holds it to JSON
        assert is_json(json.loads(response.output_text))


class City(BaseModel):
    name: str
    country: str


async def test_structured_outputs_reach_the_engine_which_refuses_them(
    client: AsyncOpenAI, proxy: RecordingProxy
) -> None:
    # llama-cpp-python's server knows response_format "text" and "json_object" only.
    mark = proxy.mark()
    with pytest.raises(openai.InternalServerError) as caught:
        await client.responses.parse(
            model=CHAT, input="Name a city.", text_format=City, max_output_tokens=48
        )
    assert caught.value.status_code == 502
    assert "json_object" in caught.value.message  # the engine's own words are passed on
    (exchange,) = proxy.since(mark)
    assert exchange.status == 500
    response_format = as_json(exchange.body["response_format"])
    assert response_format["type"] == "json_schema"
    json_schema = as_json(response_format["json_schema"])
    assert json_schema["name"] == "City"
    assert json_schema["strict"] is True
    assert set(as_json(as_json(json_schema["schema"])["properties"])) == {"name", "country"}
