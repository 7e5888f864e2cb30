"""Every upstream fault, streaming and not: a clear error, never a hang or a stack trace."""

from __future__ import annotations

import json

import openai
import pytest
from openai import AsyncOpenAI

from antiphon.testing.upstream import UpstreamControl, chat_chunks, turn
from tests.e2e.conftest import STALL_TIMEOUT, ModelPool
from tests.e2e.support import StreamRecorder, checked_stream
from tests.grammar_items import as_json

pytestmark = pytest.mark.e2e

TEXT = chat_chunks(content=["Part one. ", "Part two. ", "Part three."])


def _error_of(exc: openai.APIStatusError) -> dict[str, object]:
    return dict(as_json(as_json(exc.body)))


async def _failed_stream(
    client: AsyncOpenAI, recorder: StreamRecorder, model: str
) -> tuple[str, str]:
    """Stream a turn that fails: the stored response's id and its error message."""
    final, events = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Go")
    )
    assert events[-1]["type"] == "response.failed"
    assert final.status == "failed"
    assert final.error is not None
    assert final.error.code == "server_error"
    assert "Traceback" not in final.error.message
    return final.id, final.error.message


async def test_refused_connection_is_a_502_or_a_failed_stream(
    client: AsyncOpenAI, recorder: StreamRecorder
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await client.responses.create(model="chat-refused", input="Go")
    assert caught.value.status_code == 502
    error = _error_of(caught.value)
    assert error["code"] == "bad_gateway"
    assert "connect" in str(error["message"])
    _, message = await _failed_stream(client, recorder, "chat-refused")
    assert "connect" in message


async def test_upstream_5xx_before_the_first_byte_is_a_502_or_a_failed_stream(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    down = turn(status=503, error="the GPU is on fire")
    await control.script(model, [down, down])
    with pytest.raises(openai.InternalServerError) as caught:
        await client.responses.create(model=model, input="Go")
    assert caught.value.status_code == 502
    assert "the GPU is on fire" in str(_error_of(caught.value)["message"])
    response_id, message = await _failed_stream(client, recorder, model)
    assert "the GPU is on fire" in message
    assert (await client.responses.retrieve(response_id)).status == "failed"


async def test_stream_cut_mid_way_fails_and_keeps_the_partial_response(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await control.script(model, [turn(TEXT, cut_after=3), turn(TEXT, cut_after=3)])
    response_id, _ = await _failed_stream(client, recorder, model)
    stored = await client.responses.retrieve(response_id)
    assert stored.status == "failed"
    assert stored.output_text == "Part one. Part two. "
    message = stored.output[0]
    assert message.type == "message"
    assert message.status == "incomplete"
    plain = await client.responses.with_raw_response.create(model=model, input="Go")
    body = json.loads(plain.http_response.text)
    assert (plain.http_response.status_code, body["status"]) == (200, "failed")


async def test_malformed_chunk_fails_the_stream(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    frames: list[dict[str, object] | str] = [*TEXT[:2], "data: {not json\n\n", *TEXT[2:]]
    await control.script(model, [turn(frames)])
    response_id, message = await _failed_stream(client, recorder, model)
    assert "not JSON" in message
    assert (await client.responses.retrieve(response_id)).output_text == "Part one. "


async def test_stall_past_the_route_timeout_fails_the_stream(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl
) -> None:
    await control.script("chat-stall", [turn(TEXT, stall_after=2)])
    _, message = await _failed_stream(client, recorder, "chat-stall")
    assert f"the upstream sent nothing for {STALL_TIMEOUT:g} s (upstream_stall_timeout)" in message
    assert await control.wait_ended("chat-stall", 0) == "disconnected"
