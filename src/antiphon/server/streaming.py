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
    events: AsyncIterator[tuple[str, str] | None], *, starting_after: int = -1
) -> AsyncIterator[bytes]:
    """SSE frames for ``(type, JSON)`` pairs; ``None`` becomes a keep-alive comment.

    An antiphon error while replaying (a gap in a stored log) ends the stream with an ``error``
    event that names it, never with a stack trace.
    """
    sequence_number = starting_after + 1
    try:
        async for event in events:
            if event is None:
                yield _ENCODER.keepalive()
            else:
                sequence_number += 1
                yield _ENCODER.encode_json(*event)
    except AntiphonError as exc:
        error = ResponseErrorEvent(
            type="error",
            code="stream_unavailable",
            message=str(exc),
            param=None,
            sequence_number=sequence_number,
        )
        yield _ENCODER.encode(error)
