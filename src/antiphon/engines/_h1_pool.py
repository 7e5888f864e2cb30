"""Streamed POSTs to a plain-HTTP upstream, over pooled lean connections (``_h1``).

Role: the fast path of :func:`antiphon.engines._http.post_sse`, with the same contract (the
``data:`` JSON objects until ``[DONE]``, the same typed errors with the same messages, the same
limits: at most ``max_connections`` requests at once, ``pool_timeout`` for a free one,
``connect_timeout``, ``stall_timeout`` for every wait for bytes). An engine uses it for an
``http://`` upstream that no proxy setting covers (:func:`fast_path_allowed`); HTTPS and proxied
upstreams keep httpx, which knows certificates and proxies. Idle connections are kept for reuse
(at most as many as httpx keeps); a response closed early takes its connection with it, so the
upstream sees its client leave and stops generating.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncGenerator, Mapping
from urllib.parse import urlsplit

from antiphon._version import __version__
from antiphon.engines._h1 import Connection, ConnectionBroken, StallTimeout
from antiphon.engines._http import (
    AFTER_DONE_SECONDS,
    ERROR_BODY_LIMIT,
    KEEPALIVE_CONNECTIONS,
    ChunkReader,
    JSONObject,
    UpstreamConfig,
    broken_error,
    busy_error,
    connect_error,
    connect_timeout_error,
    error_message,
    oversized_error,
    stall_error,
)
from antiphon.exceptions import (
    StreamLimitError,
    UpstreamConnectError,
    UpstreamHTTPError,
)

__all__ = ["H1Streams", "fast_path_allowed"]


def fast_path_allowed(base_url: str) -> bool:
    """Whether ``base_url`` is plain HTTP with no proxy from the environment applying to it."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    proxies = urllib.request.getproxies()
    if not (proxies.get("http") or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass(parts.hostname))


class H1Streams:
    """A pool of connections to one ``http://`` upstream; :meth:`post_sse` streams a POST."""

    def __init__(self, config: UpstreamConfig) -> None:
        parts = urlsplit(config.base_url)
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._config = config
        self._slots = asyncio.Semaphore(config.max_connections)
        self._idle: list[Connection] = []
        authority = parts.netloc.rpartition("@")[2]
        fixed = {"user-agent": f"antiphon/{__version__}", **dict(config.headers)}
        if config.api_key:
            fixed["authorization"] = f"Bearer {config.api_key}"
        self._head_start = f"Host: {authority}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in _checked(fixed).items()
        )

    async def post_sse(self, path: str, body: Mapping[str, object]) -> AsyncGenerator[JSONObject]:
        """POST ``body`` as JSON to ``path``; yield each SSE ``data:`` object until ``[DONE]``."""
        # Encoded as httpx encodes ``json=``: the upstream sees the same bytes either way.
        payload = json.dumps(
            body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
        head = (
            f"POST {self._prefix}/{path.lstrip('/')} HTTP/1.1\r\n{self._head_start}"
            "Accept: text/event-stream\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode("latin-1")
        await self._acquire()
        conn: Connection | None = None
        try:
            conn = await self._connection()
            conn.request(head, payload)
            async for data in _events(conn, self._config.max_event_bytes):
                yield data
        except StallTimeout as exc:
            raise stall_error(self._config.stall_timeout) from exc
        except ConnectionBroken as exc:
            raise broken_error(str(exc)) from exc
        except StreamLimitError as exc:
            raise oversized_error(exc) from exc
        finally:
            if conn is not None:
                if conn.reusable and len(self._idle) < KEEPALIVE_CONNECTIONS:
                    self._idle.append(conn)
                else:
                    conn.close()
            self._slots.release()

    async def aclose(self) -> None:
        """Close the idle connections (streams in flight close their own)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def _acquire(self) -> None:
        config = self._config
        try:
            async with asyncio.timeout(config.pool_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise busy_error(config.max_connections, config.pool_timeout) from exc

    async def _connection(self) -> Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        stall = self._config.stall_timeout
        timeout = self._config.connect_timeout
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(stall), self._host, self._port
                )
        except TimeoutError as exc:
            raise connect_timeout_error(timeout) from exc
        except OSError as exc:
            raise connect_error(exc.strerror or str(exc)) from exc
        return conn


async def _events(conn: Connection, max_event_bytes: int) -> AsyncGenerator[JSONObject]:
    """The ``data:`` objects of the response on ``conn``; see :meth:`H1Streams.post_sse`."""
    await conn.head()
    if conn.status >= 400:
        raise UpstreamHTTPError(
            error_message(await _prefix(conn, ERROR_BODY_LIMIT), conn.reason), status=conn.status
        )
    reader = ChunkReader(max_event_bytes)
    while (pieces := await conn.body()) is not None:
        for piece in pieces:
            for data in reader.feed(piece):
                yield data
            if reader.done:
                await _after_done(conn)
                return
    reader.finish()


async def _prefix(conn: Connection, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body (an error's): what a message needs, no more."""
    data = bytearray()
    try:
        while len(data) < limit and (pieces := await conn.body()) is not None:
            data += b"".join(pieces)
    except (ConnectionBroken, StallTimeout):
        pass  # the message is what arrived
    return bytes(data[:limit])


async def _after_done(conn: Connection) -> None:
    """Read what follows ``[DONE]`` briefly, so the connection can be reused (see _http)."""
    left = ERROR_BODY_LIMIT
    try:
        async with asyncio.timeout(AFTER_DONE_SECONDS):
            while left >= 0 and (pieces := await conn.body()) is not None:
                left -= sum(len(piece) for piece in pieces)
    except (TimeoutError, ConnectionBroken, StallTimeout):
        pass  # the connection is not reused


def _checked(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names and values that cannot split the request (CR and LF refused)."""
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n"):
            raise UpstreamConnectError(f"the upstream header {name!r} holds a line break")
    return dict(headers)
