"""A lean HTTP/1.1 connection for upstream streams: an asyncio protocol around httptools' parser.

Role: carry one streamed POST at a time over a plain-HTTP connection and hand the reader every
body piece that arrived since it last looked, in one list. Why not httpx here: a model streams one
small chunk per token, and httpx pays its whole stack for each (h11 in Python, an anyio cancel
scope per read); this protocol parses in C and costs the reader one wake-up per network read,
however many chunks that read held. Boundary: bytes and the wait for them; the pool, errors and
SSE decoding are :mod:`antiphon.engines._h1_pool`'s.

Flow control: past ``_HIGH_WATER`` unread bytes the transport stops reading, so a slow reader holds
the upstream back through TCP instead of buffering without bound; a response head (status line
and headers) past ``_MAX_HEAD`` bytes breaks the connection, since the parser buffers it whole.
The stall timeout bounds each wait for bytes with one timer per connection, re-armed only when
it fires early.
"""

from __future__ import annotations

import asyncio
from typing import Final, cast

import httptools  # pyright: ignore[reportMissingTypeStubs]

__all__ = ["Connection", "ConnectionBroken", "StallTimeout"]

_HIGH_WATER: Final = 1 << 20  # unread body bytes before reading pauses
_MAX_HEAD: Final = 64 << 10  # bytes before the end of the headers: the parser keeps them whole


class StallTimeout(Exception):
    """Nothing arrived for the stall timeout while the reader waited."""


class ConnectionBroken(Exception):
    """The connection closed or sent something that is not HTTP before the response ended."""


class Connection(asyncio.Protocol):
    """One client connection; :meth:`request` sends, :meth:`head` and :meth:`body` read."""

    def __init__(self, stall_timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._stall = stall_timeout
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._reset()
        self.closed = False
        self._error: str | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_data = self._loop.time()
        self._wait_started = self._last_data
        self._paused = False

    def _reset(self) -> None:
        self.status = 0
        self.reason = ""
        self._headers_done = False
        self._complete = False
        self._pieces: list[bytes] = []
        self._buffered = 0
        self._delimited = False  # Content-Length or chunked: the end is not the connection's
        self._keep_alive = False
        self._head_bytes = 0

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass, but has its methods.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._last_data = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:  # pyright: ignore[reportUnknownMemberType]
            self._break(f"the upstream sent invalid HTTP: {exc}")
            return
        if not self._headers_done:  # all of this read was head: a status line or header
            self._head_bytes += len(data)  # without end would grow the parser's buffer
            if self._head_bytes > _MAX_HEAD:
                self._break(f"the upstream's response head passed {_MAX_HEAD} bytes")
                return
        if self._buffered > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._headers_done and not self._delimited and not self._complete:
            self._complete = True  # a body without a length ends with its connection
        elif not self._complete and self._error is None:
            self._error = f"the connection closed: {exc}" if exc else "the connection closed"
        self._stop_timer()
        self._wake()

    # -- httptools callbacks -------------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self.status = self._parser.get_status_code()
        self.reason = status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-length" or (
            lowered == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._delimited = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._pieces.append(body)
        self._buffered += len(body)

    def on_message_complete(self) -> None:
        # Asked now: the parser forgets the message's headers once it is complete.
        self._keep_alive = self._parser.should_keep_alive()
        self._complete = True

    # -- the reader's side ---------------------------------------------------------------------

    def request(self, head: bytes, body: bytes) -> None:
        """Send a request (the previous response on this connection was read to its end)."""
        assert self._transport is not None
        self._reset()
        self._transport.write(head + body)

    @property
    def reusable(self) -> bool:
        """Whether the response was read to its end and the connection may carry another."""
        return (
            self._complete
            and not self.closed
            and self._error is None
            and not self._pieces
            and self._keep_alive
        )

    async def head(self) -> None:
        """Wait for the status line and headers."""
        while not self._headers_done:
            await self._wait()

    async def body(self) -> list[bytes] | None:
        """Every body piece that arrived since the last call; ``None`` once the body ended."""
        while True:
            if self._pieces:
                pieces, self._pieces, self._buffered = self._pieces, [], 0
                if self._paused and self._transport is not None:
                    self._paused = False
                    self._transport.resume_reading()
                return pieces
            if self._complete:
                return None
            await self._wait()

    def close(self) -> None:
        """Close the connection (the upstream sees its client leave)."""
        self._stop_timer()
        if self._transport is not None:
            self._transport.close()
        self.closed = True

    async def _wait(self) -> None:
        if self._error is not None:
            raise ConnectionBroken(self._error)
        if self.closed and not self._complete:
            raise ConnectionBroken("the connection closed")
        self._waiter = self._loop.create_future()
        self._wait_started = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._wait_started + self._stall, self._on_timer)
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _on_timer(self) -> None:
        self._timer = None
        if self._waiter is None:
            return  # nobody waits; the next wait arms it again
        due = max(self._last_data, self._wait_started) + self._stall
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._on_timer)
        elif not self._waiter.done():
            self._waiter.set_exception(StallTimeout())

    def _break(self, error: str) -> None:
        self._error = error
        if self._transport is not None:
            self._transport.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
