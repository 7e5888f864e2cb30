"""Server-sent event bodies for the Responses routes.

Every body ends after the terminal event. While nothing happens (a long tool call, a slow
upstream), a comment line goes out every ``keepalive`` seconds: clients ignore it, proxies and
idle timers see traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openai.types.responses import ResponseErrorEvent

from antiphon.exceptions import AntiphonError
from antiphon.wire.sse import SSEEncoder

__all__ = ["sse_body"]

_ENCODER = SSEEncoder()


async def sse_body(
    batches: AsyncIterator[list[tuple[str, str]]], *, starting_after: int = -1
) -> AsyncIterator[bytes]:
    """SSE bytes for batches of ``(type, JSON)``; an empty batch becomes a keep-alive comment.

    Each batch is one write: events that arrived together leave together, which saves a send
    (and a pass through the HTTP layer) per event when the upstream is faster than the client.
    An antiphon error while replaying (a gap in a stored log) ends the stream with an ``error``
    event that names it, never with a stack trace.
    """
    sequence_number = starting_after + 1
    try:
        async for batch in batches:
            if not batch:
                yield _ENCODER.keepalive()
                continue
            sequence_number += len(batch)
            yield b"".join(_ENCODER.encode_json(kind, data) for kind, data in batch)
    except AntiphonError as exc:
        error = ResponseErrorEvent(
            type="error",
            code="stream_unavailable",
            message=str(exc),
            param=None,
            sequence_number=sequence_number,
        )
        yield _ENCODER.encode(error)
