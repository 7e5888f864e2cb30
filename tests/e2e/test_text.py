"""Text and reasoning turns through a real ``antiphon serve``, streaming or not."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel

from antiphon.testing.upstream import UpstreamControl, chat_chunks, completion_chunks, turn, usage
from tests.e2e.conftest import ModelPool
from tests.e2e.support import ServerProcess, StreamRecorder, checked_stream
from tests.grammar_items import as_json, is_json, is_list

pytestmark = pytest.mark.e2e

HARMONY_ANSWER = (
    "<|channel|>analysis<|message|>Say hello.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Hello there!"
)


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def test_chat_text_streams_and_is_stored_as_streamed(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    frames = chat_chunks(content=["Hel", "lo", "!"], usage_data=usage(5, 3))
    await control.script(model, [turn(frames)])
    final, events = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Hi", instructions="Be brief")
    )
    assert final.status == "completed"
    assert final.output_text == "Hello!"
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (5, 3)
    assert [e["type"] for e in events].count("response.output_text.delta") == 3
    (body,) = await control.bodies(model)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hi"},
    ]


async def test_chat_reasoning_streams_as_a_reasoning_item_before_the_message(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    frames = chat_chunks(reasoning=["Think", "ing."], content=["Done."])
    await control.script(model, [turn(frames)])
    final, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Go")
    )
    reasoning, message = final.output
    assert reasoning.type == "reasoning"
    assert reasoning.content is not None
    assert [part.text for part in reasoning.content] == ["Thinking."]
    assert message.type == "message"
    assert final.output_text == "Done."


async def test_harmony_turn_parses_reasoning_and_final_answer(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_harmony()
    await control.script(model, [turn(completion_chunks(_pieces(HARMONY_ANSWER)))])
    final, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Greet me")
    )
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output_text == "Hello there!"
    (body,) = await control.bodies(model)
    prompt = str(body["prompt"])
    assert "<|start|>user<|message|>Greet me<|end|>" in prompt
    assert prompt.endswith("<|start|>assistant")
    assert body["skip_special_tokens"] is False


async def test_non_streaming_json_equals_the_completed_event_of_the_same_run(
    client: AsyncOpenAI, recorder: StreamRecorder
) -> None:
    raw = await client.responses.with_raw_response.create(model="scripted-text", input="Hi")
    created = raw.parse()  # strict validation by the official client
    assert created.output_text == "Hello from the script!"
    replay = await client.responses.retrieve(created.id, stream=True)
    async with replay:
        events = [event async for event in replay]
    assert events[-1].type == "response.completed"
    _, payloads = await checked_stream(
        client, recorder, client.responses.stream(response_id=created.id)
    )
    assert json.loads(raw.http_response.text) == payloads[-1]["response"]
    stored = await client.responses.with_raw_response.retrieve(created.id)
    assert stored.http_response.text == raw.http_response.text


def _without_ids(value: object) -> object:
    if is_json(value):
        return {
            key: _without_ids(item)
            for key, item in value.items()
            if key not in ("id", "created_at", "completed_at", "call_id")
        }
    if is_list(value):
        return [_without_ids(item) for item in value]
    return value


async def test_scripted_run_is_the_same_streamed_or_not(
    client: AsyncOpenAI, recorder: StreamRecorder
) -> None:
    raw = await client.responses.with_raw_response.create(model="scripted-weather", input="Hi")
    _, payloads = await checked_stream(
        client, recorder, client.responses.stream(model="scripted-weather", input="Hi")
    )
    plain = _without_ids(json.loads(raw.http_response.text))
    assert plain == _without_ids(payloads[-1]["response"])


async def test_max_output_tokens_ends_incomplete_with_the_reason(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    frames = chat_chunks(content=["A long", " story"], finish_reason="length")
    await control.script(model, [turn(frames), turn(frames)])
    final, events = await checked_stream(
        client,
        recorder,
        client.responses.stream(model=model, input="Tell me", max_output_tokens=16),
    )
    assert events[-1]["type"] == "response.incomplete"
    assert final.status == "incomplete"
    assert final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"
    plain = await client.responses.create(model=model, input="Tell me", max_output_tokens=16)
    assert plain.status == "incomplete"
    assert [body["max_tokens"] for body in await control.bodies(model)] == [16, 16]


async def test_store_false_answers_but_keeps_nothing(
    client: AsyncOpenAI, recorder: StreamRecorder
) -> None:
    final, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(model="scripted-text", input="Hi", store=False),
        stored=False,
    )
    assert final.output_text == "Hello from the script!"
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(final.id)


async def test_an_item_cut_by_max_output_tokens_is_incomplete(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    frames = chat_chunks(content=["A long", " story"], finish_reason="length")
    await control.script(model, [turn(frames)])
    final, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(model=model, input="Tell me", max_output_tokens=16),
    )
    assert final.output[0].type == "message"
    assert final.output[0].status == "incomplete"


class _Forecast(BaseModel):
    city: str
    celsius: int


async def test_structured_outputs_parse_through_the_official_client(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    server: ServerProcess,
) -> None:
    """``text.format.schema`` goes on the wire as ``schema`` (the model's field is ``schema_``),
    in every event and body that carries the response, so ``responses.parse`` works."""
    model = pool.take_chat()
    answer = '{"city": "Paris", "celsius": 21}'
    await control.script(model, [turn(chat_chunks(content=_pieces(answer))) for _ in range(2)])
    parsed = await client.responses.parse(model=model, input="Weather?", text_format=_Forecast)
    assert parsed.output_parsed == _Forecast(city="Paris", celsius=21)
    assert parsed.text is not None
    assert parsed.text.format is not None
    assert parsed.text.format.type == "json_schema"
    assert parsed.text.format.schema_["required"] == ["city", "celsius"]
    async with client.responses.stream(
        model=model, input="Again?", text_format=_Forecast
    ) as stream:
        final = await stream.get_final_response()
    assert final.output_parsed == _Forecast(city="Paris", celsius=21)
    lifecycle = [
        as_json(as_json(event.get("response")).get("text")).get("format")
        for event in recorder.last_stream()
        if event["type"] in ("response.created", "response.in_progress", "response.completed")
    ]
    async with httpx.AsyncClient(base_url=server.url) as raw:
        stored = (await raw.get(f"/v1/responses/{final.id}")).json()
    lifecycle.append(stored["text"]["format"])
    assert len(lifecycle) == 4
    for wire_format in lifecycle:
        assert is_json(wire_format)
        assert "schema_" not in wire_format
        assert as_json(wire_format.get("schema")).get("required") == ["city", "celsius"]
    bodies = await control.bodies(model)
    assert [as_json(body["response_format"])["type"] for body in bodies] == ["json_schema"] * 2
