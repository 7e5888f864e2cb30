"""Helpers of the end-to-end suite: a real ``antiphon serve`` process and checked streams.

:class:`ServerProcess` runs ``python -m antiphon serve`` and waits (bounded, on the pipe) for its
ready line. :class:`StreamRecorder` is an httpx transport that keeps the raw bytes of every
event stream the official client reads, so each stream can be checked by :mod:`tests.grammar`
while the client's own ``responses.stream()`` helper accumulates it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

# The official client speaks httpx2 (its fork of httpx); the recorder plugs in there.
import httpx2
from openai import AsyncOpenAI
from openai.lib.streaming.responses import AsyncResponseStreamManager
from openai.types.responses import Response

from antiphon.realtime.events import RealtimeSessionEvent
from antiphon.realtime.session import RealtimeSession
from antiphon.server.run import READY_PREFIX
from antiphon.testing._child import ReadyChild
from antiphon.wire.sse import SSEDecoder
from tests.grammar import check_stream
from tests.grammar_items import JSON, is_json, is_list

__all__ = [
    "ServerProcess",
    "checked_stream",
    "StreamRecorder",
    "decode_stream",
    "make_client",
    "same_response",
    "write_config",
]


class ServerProcess(ReadyChild):
    """``antiphon serve`` in a child process; a context manager that stops it."""

    def __init__(
        self, args: Sequence[str], *, start_timeout: float = 30.0, stderr: Path | None = None
    ) -> None:
        command = [sys.executable, "-m", "antiphon", "serve", "--port", "0", *args]
        # stderr goes to a file when a test reads the server's logs afterwards.
        self._stderr = stderr.open("wb") if stderr is not None else None
        super().__init__(
            command, name="antiphon serve", start_timeout=start_timeout, stderr=self._stderr
        )
        if not self.ready_line.startswith(READY_PREFIX):
            self.stop()
            raise AssertionError(f"antiphon serve did not start (got {self.ready_line!r})")
        self.url = self.ready_line[len(READY_PREFIX) :].strip()

    def stop(self) -> None:
        """Stop the server, then close its log file."""
        super().stop()
        if self._stderr is not None:
            self._stderr.close()


TomlValue = str | float | bool | Sequence[str] | Mapping[str, str]


def _toml_table(header: str, table: Mapping[str, TomlValue]) -> list[str]:
    # JSON spells strings, numbers, booleans and string arrays as TOML does; maps are sub-tables.
    lines = [header]
    lines += [f"{k} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, Mapping)]
    for key, value in table.items():
        if isinstance(value, Mapping):
            name = header.strip("[]")
            lines += ["", *_toml_table(f"[{name}.{key}]", value)]
    return [*lines, ""]


def write_config(
    path: Path,
    models: Sequence[Mapping[str, str | float]],
    *,
    server: Mapping[str, TomlValue] | None = None,
    mcp_servers: Mapping[str, Mapping[str, TomlValue]] | None = None,
) -> Path:
    """A TOML config file: a ``[server]`` table, one ``[[models]]`` table per entry, and
    ``[mcp_servers.LABEL]`` tables."""
    lines: list[str] = _toml_table("[server]", server) if server else []
    for model in models:
        lines += _toml_table("[[models]]", model)
    for label, table in (mcp_servers or {}).items():
        lines += _toml_table(f"[mcp_servers.{label}]", table)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class _Tee(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, sink: bytearray) -> None:
        self._inner = inner
        self._sink = sink

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._sink += chunk
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class StreamRecorder(httpx2.AsyncBaseTransport):
    """A real HTTP transport that also keeps the body of every ``text/event-stream`` answer."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.streams: list[bytearray] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request``; tee the body when the answer is an event stream."""
        response = await self._inner.handle_async_request(request)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            return response
        sink = bytearray()
        self.streams.append(sink)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_Tee(response.stream, sink),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._inner.aclose()

    def last_stream(self) -> list[JSON]:
        """The decoded events of the latest stream."""
        assert self.streams, "no event stream was read"
        return decode_stream(bytes(self.streams[-1]))

    def check_last(self) -> Response:
        """Grammar-check the latest stream; the response the official client accumulates."""
        return check_stream(self.last_stream())


def decode_stream(body: bytes) -> list[JSON]:
    """The JSON payloads of an SSE body (keep-alive comments are skipped by the decoder)."""
    payloads: list[JSON] = []
    for message in SSEDecoder().feed(body):
        payload: object = json.loads(message.data)  # JSON boundary: checked just below
        assert is_json(payload)
        assert payload.get("type") == message.event
        payloads.append(payload)
    return payloads


def make_client(base_url: str, recorder: StreamRecorder, *, api_key: str = "unused") -> AsyncOpenAI:
    """The official client, strict, without retries, over ``recorder``."""
    return AsyncOpenAI(
        base_url=f"{base_url}/v1",
        api_key=api_key,
        max_retries=0,
        _strict_response_validation=True,
        http_client=httpx2.AsyncClient(transport=recorder, timeout=30.0),
    )


_SDK_FIELDS = frozenset({"parsed", "parsed_arguments"})


def _wire(value: object) -> object:
    if is_json(value):
        return {k: _wire(v) for k, v in value.items() if k not in _SDK_FIELDS}
    if is_list(value):
        return [_wire(v) for v in value]
    return value


def same_response(accumulated: Response, stored_json: str) -> None:
    """Assert the client's accumulated response equals the stored JSON, field for field."""
    mine = _wire(accumulated.model_dump(mode="json", by_alias=True, exclude_unset=True))
    stored: object = json.loads(stored_json)
    assert mine == stored


async def checked_stream(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    manager: AsyncResponseStreamManager[None],
    *,
    stored: bool = True,
) -> tuple[Response, list[JSON]]:
    """Read a stream with the official helper; check it; compare it with ``GET``.

    Returns the response the helper accumulated and the stream's decoded events.
    """
    async with manager as stream:
        events = [event async for event in stream]
    payloads = recorder.last_stream()
    replayed = check_stream(payloads)
    final: object = getattr(events[-1], "response", None)
    assert isinstance(final, Response), f"the helper ended on {events[-1].type}"
    same_response(final, replayed.model_dump_json(by_alias=True, exclude_unset=True))
    if stored:
        raw = await client.responses.with_raw_response.retrieve(final.id)
        same_response(final, raw.http_response.text)
    return final, payloads


async def session_events_until(
    session: RealtimeSession, done: str | type[object], count: int = 1, within: float = 15.0
) -> list[RealtimeSessionEvent]:
    """The events of an ``antiphon.realtime`` session up to the ``count``-th ``done``.

    ``done`` is an event type name or class; the session ending first is an AssertionError.
    """
    seen: list[RealtimeSessionEvent] = []
    async with asyncio.timeout(within):
        async for event in session:
            seen.append(event)
            if isinstance(done, str):
                matched = sum(1 for e in seen if e.type == done)
            else:
                matched = sum(1 for e in seen if isinstance(e, done))
            if matched >= count:
                return seen
    raise AssertionError(f"the session ended before {done}")
