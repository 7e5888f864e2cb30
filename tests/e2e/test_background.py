"""Background runs, cancel, resuming a stream, and a foreground client that goes away.

The stand-in stalls its stream after a few frames, so each test knows the run is still going
while it looks at it; nothing waits on a timer.
"""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.lib.streaming.responses import AsyncResponseStream

from antiphon.testing.upstream import UpstreamControl, chat_chunks, turn
from tests.e2e.conftest import ModelPool
from tests.e2e.support import ServerProcess, StreamRecorder, checked_stream, decode_stream
from tests.grammar import check_stream
from tests.grammar_items import JSON, as_json

pytestmark = pytest.mark.e2e

PARTS = ["Part one. ", "Part two."]


async def _stalled(control: UpstreamControl, model: str) -> None:
    # Frame 0 is the role chunk, frame 1 the first text: then silence until released.
    await control.script(model, [turn(chat_chunks(content=PARTS), stall_after=2)])


async def _until_delta(stream: AsyncResponseStream[None]) -> int:
    """Read until the first text delta; its sequence number."""
    async for event in stream:
        if event.type == "response.output_text.delta":
            return event.sequence_number
    raise AssertionError("the response ended before any text")


async def _first_delta(client: AsyncOpenAI, response_id: str) -> int:
    """Follow a running response until its first text delta; that delta's sequence number."""
    async with client.responses.stream(response_id=response_id) as stream:
        return await _until_delta(stream)


def _response_id(events: list[JSON]) -> str:
    return str(as_json(events[0].get("response")).get("id"))


async def test_background_run_can_be_read_cancelled_and_resumed(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await _stalled(control, model)
    created = await client.responses.create(model=model, input="Go", background=True)
    assert created.status == "queued"
    assert created.background is True
    seen = await _first_delta(client, created.id)
    running = await client.responses.retrieve(created.id)
    assert running.status == "in_progress"
    with pytest.raises(openai.BadRequestError, match="still in progress"):
        await client.responses.create(model=model, input="More", previous_response_id=created.id)
    cancelled = await client.responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert await control.wait_ended(model, 0) == "disconnected"
    final, payloads = await checked_stream(
        client, recorder, client.responses.stream(response_id=created.id, starting_after=seen)
    )
    assert final.status == "cancelled"
    assert payloads[-1]["type"] == "response.incomplete"
    again = await client.responses.cancel(created.id)  # cancelling an ended run changes nothing
    assert again.status == "cancelled"


async def test_background_stream_outlives_its_client_and_resumes_after_a_sequence_number(
    server: ServerProcess,
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
) -> None:
    model = pool.take_chat()
    await _stalled(control, model)
    async with client.responses.stream(model=model, input="Go", background=True) as stream:
        seen = await _until_delta(stream)
    response_id = _response_id(recorder.last_stream())
    await control.release(model)
    assert await control.wait_ended(model, 0) == "completed"
    final, payloads = await checked_stream(
        client, recorder, client.responses.stream(response_id=response_id, starting_after=seen)
    )
    assert final.output_text == "".join(PARTS)
    async with httpx.AsyncClient(base_url=server.url) as http:
        replay = await http.get(
            f"/v1/responses/{response_id}", params={"stream": "true", "starting_after": seen}
        )
    tail = decode_stream(replay.content)
    assert [event["sequence_number"] for event in tail] == list(range(seen + 1, len(payloads)))
    assert tail == payloads[seen + 1 :]


async def test_foreground_client_disconnect_cancels_the_upstream_and_stores_cancelled(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await _stalled(control, model)
    async with client.responses.stream(model=model, input="Go") as stream:
        await _until_delta(stream)
    response_id = _response_id(recorder.last_stream())
    assert await control.wait_ended(model, 0) == "disconnected"
    # Following the stored stream returns once the run has ended, whatever its timing.
    final, _ = await checked_stream(
        client, recorder, client.responses.stream(response_id=response_id)
    )
    assert final.status == "cancelled"
    stored = await client.responses.retrieve(response_id)
    assert stored.status == "cancelled"
    assert check_stream(recorder.last_stream()).status == "cancelled"


async def test_cancelling_a_foreground_response_is_refused(client: AsyncOpenAI) -> None:
    done = await client.responses.create(model="scripted-text", input="Hi")
    with pytest.raises(openai.BadRequestError, match="synchronous"):
        await client.responses.cancel(done.id)


async def test_deleting_a_running_background_response_cancels_it(
    client: AsyncOpenAI, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await _stalled(control, model)
    created = await client.responses.create(model=model, input="Go", background=True)
    await _first_delta(client, created.id)
    await client.responses.delete(created.id)
    assert await control.wait_ended(model, 0) == "disconnected"
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(created.id)
