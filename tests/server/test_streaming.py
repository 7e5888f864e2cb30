"""sse_body: batches become single writes, idle becomes a comment, a gap becomes an error event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from antiphon.exceptions import InvalidRequestError
from antiphon.server.streaming import sse_body
from antiphon.wire.sse import SSEDecoder


async def _batches(
    *batches: list[tuple[str, str]], error: Exception | None = None
) -> AsyncIterator[list[tuple[str, str]]]:
    for batch in batches:
        yield batch
    if error is not None:
        raise error


def _event(kind: str, seq: int) -> tuple[str, str]:
    return kind, json.dumps({"type": kind, "sequence_number": seq})


async def test_each_batch_is_one_write_and_an_empty_one_a_keepalive() -> None:
    first = [_event("response.created", 0), _event("response.in_progress", 1)]
    frames = [
        frame async for frame in sse_body(_batches(first, [], [_event("response.completed", 2)]))
    ]
    assert len(frames) == 3
    assert frames[1] == b": keepalive\n\n"
    messages = [m for frame in frames for m in SSEDecoder().feed(frame)]
    assert [m.event for m in messages] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    assert [json.loads(m.data)["sequence_number"] for m in messages] == [0, 1, 2]


async def test_an_antiphon_error_ends_the_stream_with_an_error_event() -> None:
    gap = InvalidRequestError("3 events after 4 are no longer stored.", param="starting_after")
    frames = [
        frame
        async for frame in sse_body(
            _batches([_event("response.output_text.delta", 5)], error=gap), starting_after=4
        )
    ]
    (message,) = SSEDecoder().feed(frames[-1])
    assert message.event == "error"
    payload = json.loads(message.data)
    assert payload == {
        "type": "error",
        "code": "stream_unavailable",
        "message": "3 events after 4 are no longer stored.",
        "param": None,
        "sequence_number": 6,
    }
