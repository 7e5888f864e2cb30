"""The HTTP boundary shared by the upstream engines: one streaming POST, decoded as SSE JSON.

Role: open a streaming request with httpx, turn every httpx failure into the typed
:class:`~antiphon.EngineError` subclasses (this module is the one place they are translated),
and yield the JSON object of each ``data:`` message until ``data: [DONE]``. Boundary: it knows
nothing of chat or completion chunk shapes. Closing the generator closes the response, which
closes the connection (an unfinished HTTP/1.1 body cannot be reused), so the upstream sees the
disconnect and can stop generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Mapping
from dataclasses import dataclass, field
from typing import Final, cast

import httpx

from antiphon.exceptions import (
    StreamLimitError,
    UpstreamBusy,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antiphon.wire.sse import DONE, SSEDecoder

__all__ = [
    "AFTER_DONE_SECONDS",
    "ERROR_BODY_LIMIT",
    "KEEPALIVE_CONNECTIONS",
    "ChunkReader",
    "JSONObject",
    "UpstreamConfig",
    "as_int",
    "as_list",
    "as_object",
    "as_str",
    "broken_error",
    "busy_error",
    "connect_error",
    "connect_timeout_error",
    "decode_chunk",
    "error_message",
    "oversized_error",
    "post_json",
    "post_sse",
    "stall_error",
    "stream_error",
]

#: A decoded JSON object. Upstream chunks are read leniently through the helpers below, because
#: real servers deviate from the official chunk models (missing ``index``, extra reasoning keys).
JSONObject = dict[str, object]

ERROR_BODY_LIMIT: Final = 4096  # bytes of an error response kept for the message
AFTER_DONE_SECONDS: Final = 1.0  # how long the end of a body after [DONE] may take
KEEPALIVE_CONNECTIONS: Final = 20  # idle connections kept for reuse (httpx's default)


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """Where an upstream is and how long to wait for it.

    ``base_url`` ends before the endpoint (``http://127.0.0.1:8000/v1``). ``connect_timeout``
    bounds opening a connection. ``stall_timeout`` bounds every wait for bytes (headers or the
    next chunk): a stream silent for longer raises :class:`~antiphon.UpstreamTimeout`.
    ``deadline_seconds`` bounds one whole upstream call, however steadily it trickles (0: no
    deadline; the engine enforces it). At most ``max_connections`` requests are open at once;
    one more waits up to ``pool_timeout`` for a free connection, then raises
    :class:`~antiphon.UpstreamBusy`. ``headers`` are added to every request.
    """

    base_url: str
    api_key: str | None = None
    connect_timeout: float = 10.0
    stall_timeout: float = 60.0
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    max_event_bytes: int = 4 << 20
    deadline_seconds: float = 600.0
    max_connections: int = 1000
    pool_timeout: float = 30.0

    def timeout(self) -> httpx.Timeout:
        """The httpx timeouts: stall (read and write), connect, and the wait for the pool."""
        return httpx.Timeout(
            self.stall_timeout, connect=self.connect_timeout, pool=self.pool_timeout
        )

    def make_client(self) -> httpx.AsyncClient:
        """An httpx client with these timeouts, limits and headers (its owner closes it)."""
        headers = dict(self.headers)
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        limits = httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=min(KEEPALIVE_CONNECTIONS, self.max_connections),
        )
        return httpx.AsyncClient(
            base_url=self.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=self.timeout(),
            limits=limits,
        )


async def post_sse(
    client: httpx.AsyncClient,
    path: str,
    body: Mapping[str, object],
    *,
    max_event_bytes: int,
    max_connections: int | None = None,
) -> AsyncGenerator[JSONObject, None]:
    """POST ``body`` to ``path`` and yield each SSE ``data:`` JSON object until ``[DONE]``.

    A body that ends cleanly without ``[DONE]`` just ends (some servers omit it): the caller
    decides from what it saw whether the turn was complete. A body cut inside an event raises
    :class:`~antiphon.UpstreamProtocolError`; so does an error the upstream reports inside the
    stream (vLLM, SGLang and llama.cpp send ``data: {"error": ...}`` after the 200 headers), with
    the upstream's own message. ``max_connections`` (the client's pool size) is only quoted in
    the error when every connection is busy.
    """
    reader = ChunkReader(max_event_bytes)
    with _translated(client, max_connections):
        async with client.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                raise UpstreamHTTPError(await _error_text(response), status=response.status_code)
            chunks = response.aiter_bytes()
            async for chunk in chunks:
                for data in reader.feed(chunk):
                    yield data
                if reader.done:
                    await _finish_body(chunks)
                    return
            reader.finish()


class ChunkReader:
    """SSE bytes in, the upstream's JSON chunks out, until ``[DONE]`` (no I/O).

    Shared by both transports of :func:`post_sse`. An error the upstream reports inside its
    stream is raised after the chunks that came before it in the same bytes were returned, so a
    caller yields those first.
    """

    __slots__ = ("_decoder", "_error", "done")

    def __init__(self, max_event_bytes: int) -> None:
        self._decoder = SSEDecoder(max_event_bytes=max_event_bytes)
        self._error: UpstreamProtocolError | None = None
        self.done = False  # [DONE] was read: what follows is not chunks

    def feed(self, data: bytes) -> list[JSONObject]:
        """The chunks ``data`` completed (raises the error a previous call stopped at)."""
        if self._error is not None:
            raise self._error
        chunks: list[JSONObject] = []
        for message in self._decoder.feed(data):
            if message.data == DONE:
                self.done = True
                break
            try:
                chunk = decode_chunk(message.data)
            except UpstreamProtocolError as exc:
                self._error = exc
                break
            if (reported := stream_error(message.event, chunk)) is not None:
                self._error = UpstreamProtocolError(f"the upstream reported an error: {reported}")
                break
            chunks.append(chunk)
        if self._error is not None and not chunks:
            raise self._error
        return chunks

    def finish(self) -> None:
        """The body ended: raise what is pending (an error, or an event cut in the middle)."""
        if self._error is not None:
            raise self._error
        if not self.done and self._decoder.has_partial_event:
            raise UpstreamProtocolError("the upstream stream ended inside an event")


async def post_json(
    client: httpx.AsyncClient,
    path: str,
    body: Mapping[str, object],
    *,
    max_bytes: int,
    max_connections: int | None = None,
) -> JSONObject:
    """POST ``body`` to ``path`` and return its JSON object answer (an unstreamed request).

    The body is read with the same bound as one streamed event, so a runaway answer cannot take
    the server's memory.
    """
    with _translated(client, max_connections):
        async with client.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                raise UpstreamHTTPError(await _error_text(response), status=response.status_code)
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise UpstreamProtocolError(
                        f"the upstream's answer is larger than {max_bytes} bytes"
                    )
        obj = decode_chunk(data.decode("utf-8", errors="replace"))
        if (reported := stream_error("message", obj)) is not None:
            raise UpstreamProtocolError(f"the upstream reported an error: {reported}")
        return obj


@contextlib.contextmanager
def _translated(client: httpx.AsyncClient, max_connections: int | None) -> Generator[None]:
    """Every httpx failure as the typed engine error it means (the one place they are mapped).

    A timeout's message names the limit that fired and its value (httpx's own text is often
    empty): the wait for a free pooled connection, for a new connection, or for bytes.
    """
    timeout = client.timeout
    try:
        yield
    except httpx.PoolTimeout as exc:
        raise busy_error(max_connections, timeout.pool) from exc
    except httpx.ConnectTimeout as exc:
        raise connect_timeout_error(timeout.connect) from exc
    except httpx.TimeoutException as exc:
        raise stall_error(timeout.read) from exc
    except httpx.ConnectError as exc:
        raise connect_error(_detail(exc)) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise broken_error(_detail(exc)) from exc
    except StreamLimitError as exc:
        raise oversized_error(exc) from exc
    except httpx.HTTPError as exc:
        raise UpstreamConnectError(f"upstream request failed: {_detail(exc)}") from exc


# The errors of both transports (httpx here, the lean path of _h1_pool), worded once: a timeout
# names the limit that fired and its value.


def busy_error(max_connections: int | None, waited: float | None) -> UpstreamBusy:
    """Every pooled connection stayed busy for the pool timeout."""
    many = "all" if max_connections is None else f"all {max_connections}"
    return UpstreamBusy(
        f"{many} upstream connections are busy: waited {_seconds(waited)} for one "
        "(upstream_max_connections, upstream_pool_timeout)"
    )


def connect_timeout_error(seconds: float | None) -> UpstreamConnectError:
    """Opening a connection took longer than the connect timeout."""
    return UpstreamConnectError(
        f"connecting to the upstream timed out after {_seconds(seconds)} (upstream_connect_timeout)"
    )


def stall_error(seconds: float | None) -> UpstreamTimeout:
    """Nothing arrived for the stall timeout."""
    return UpstreamTimeout(
        f"the upstream sent nothing for {_seconds(seconds)} (upstream_stall_timeout)"
    )


def connect_error(detail: str) -> UpstreamConnectError:
    """No connection could be opened (refused, unreachable, ...)."""
    return UpstreamConnectError(f"cannot connect to the upstream: {detail}")


def broken_error(detail: str) -> UpstreamProtocolError:
    """The connection broke, or stopped speaking HTTP, before the body ended."""
    return UpstreamProtocolError(f"the upstream stream broke: {detail}")


def oversized_error(exc: StreamLimitError) -> UpstreamProtocolError:
    """An SSE line or event over its limit."""
    return UpstreamProtocolError(f"the upstream sent an oversized event: {exc}")


def _seconds(value: float | None) -> str:
    return "ever" if value is None else f"{value:g} s"


def _detail(exc: BaseException) -> str:
    """An exception's text, or its type when it has none (httpx's often have none)."""
    return str(exc) or type(exc).__name__


def stream_error(event: str, data: JSONObject) -> str | None:
    """The message of an error the upstream reported in place of a chunk, else ``None``."""
    error = data.get("error")
    if event != "error" and (error is None or "choices" in data):
        return None
    detail = as_object(error) or {}
    return as_str(detail.get("message")) or as_str(error) or json.dumps(data)[:500]


async def _finish_body(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows ``[DONE]`` (normally the body's last few bytes), briefly and bounded.

    A response read to its end goes back to the client's pool; one closed early takes its
    connection with it, and the next turn pays for a new one. A server that keeps talking or
    stalls after ``[DONE]`` just loses its connection.
    """
    left = ERROR_BODY_LIMIT
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(AFTER_DONE_SECONDS):
            async for chunk in chunks:
                left -= len(chunk)
                if left < 0:
                    return


async def _error_text(response: httpx.Response) -> str:
    """The upstream's error message, bounded: its ``error.message`` when it sent JSON."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= ERROR_BODY_LIMIT:
            break
    return error_message(bytes(data), response.reason_phrase)


def error_message(data: bytes, reason: str) -> str:
    """The message of an upstream's error body: its ``error.message`` when it sent JSON."""
    text = data[:ERROR_BODY_LIMIT].decode("utf-8", errors="replace")
    try:
        error = (as_object(json.loads(text)) or {}).get("error")
    except ValueError:
        return text.strip() or reason
    message = as_str((as_object(error) or {}).get("message")) or as_str(error)
    return message or text.strip() or reason


def decode_chunk(data: str) -> JSONObject:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise UpstreamProtocolError(f"the upstream sent a chunk that is not JSON: {exc}") from exc
    obj = as_object(value)
    if obj is None:
        raise UpstreamProtocolError("the upstream sent a chunk that is not a JSON object")
    return obj


def as_object(value: object) -> JSONObject | None:
    """``value`` as a JSON object, or ``None``."""
    # JSON boundary: decoded objects always have str keys, which isinstance cannot express.
    return cast(JSONObject, value) if isinstance(value, dict) else None


def as_list(value: object) -> list[object]:
    """``value`` as a JSON array; anything else is an empty list."""
    return cast(list[object], value) if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    """``value`` when it is a string, else ``None``."""
    return value if isinstance(value, str) else None


def as_int(value: object) -> int | None:
    """``value`` when it is an integer (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
