"""The lean upstream path (``engines/_h1*.py``) against hand-written HTTP servers on real sockets.

The stand-in upstream (``test_engine_transport.py``, and every server test) covers the usual
answers; these servers answer what a stand-in does not: a body delimited by the connection's
end, bytes that are not HTTP, an error body, a body cut inside a chunk, a full pool, a reader that
stops reading, and the request's own bytes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from antiphon.engines import UpstreamConfig
from antiphon.engines._h1_pool import H1Streams, fast_path_allowed
from antiphon.engines._http import JSONObject
from antiphon.exceptions import (
    UpstreamBusy,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
)

pytestmark = pytest.mark.e2e

_TIMEOUT = 20.0
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
_BODY: JSONObject = {"model": "m", "stream": True, "messages": []}


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _data(obj: JSONObject) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


async def _request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The head and body of one request."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


@asynccontextmanager
async def _server(handler: Handler) -> AsyncGenerator[str]:
    """A server on a free loopback port answering with ``handler``; its base URL."""

    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()


async def _collect(streams: H1Streams) -> list[JSONObject]:
    return [data async for data in streams.post_sse("chat/completions", _BODY)]


async def test_a_body_ended_by_the_connection_is_read_whole_and_the_request_is_as_sent() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, body = await _request(reader)
        seen.extend((head, body))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
        writer.write(_data({"n": 1}) + _data({"n": 2}))
        writer.close()  # no Content-Length, not chunked: the end of the body is the close

    config = UpstreamConfig("", api_key="sk-test", headers={"x-tenant": "t1"})
    async with asyncio.timeout(_TIMEOUT), _server(handler) as url:
        streams = H1Streams(UpstreamConfig(url, api_key="sk-test", headers=config.headers))
        assert await _collect(streams) == [{"n": 1}, {"n": 2}]
        await streams.aclose()
    head, body = seen
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    lines = {line.split(b":", 1)[0].lower(): line for line in head.split(b"\r\n")[1:] if line}
    assert lines[b"authorization"] == b"authorization: Bearer sk-test"
    assert lines[b"x-tenant"] == b"x-tenant: t1"
    assert json.loads(body) == _BODY


async def test_an_error_status_is_an_http_error_with_the_upstreams_message() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        body = json.dumps({"error": {"message": "model overloaded"}}).encode()
        writer.write(b"HTTP/1.1 503 Busy\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    async with asyncio.timeout(_TIMEOUT), _server(handler) as url:
        streams = H1Streams(UpstreamConfig(url))
        with pytest.raises(UpstreamHTTPError) as caught:
            await _collect(streams)
        await streams.aclose()
    assert caught.value.status == 503
    assert "model overloaded" in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"SMTP ready\r\n\r\n", "invalid HTTP"),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + _chunk(_data({"n": 1}))[:-4],
            "stream broke",
        ),
        (b"HTTP/1.1 200 OK\r\nx-pad: " + b"a" * (1 << 20), "response head passed"),
    ],
    ids=["not-http", "cut-inside-a-chunk", "endless-header"],
)
async def test_a_broken_answer_is_a_protocol_error(answer: bytes, message: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with asyncio.timeout(_TIMEOUT), _server(handler) as url:
        streams = H1Streams(UpstreamConfig(url))
        with pytest.raises(UpstreamProtocolError, match=message):
            await _collect(streams)
        await streams.aclose()


async def test_a_full_pool_is_busy_after_its_timeout_and_frees_when_a_stream_ends() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: one answer per request on the connection
            try:
                await _request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            writer.write(_chunk(_data({"n": 1})))
            await release.wait()
            writer.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()

    async with asyncio.timeout(_TIMEOUT), _server(handler) as url:
        streams = H1Streams(UpstreamConfig(url, max_connections=1, pool_timeout=0.2))
        first = streams.post_sse("chat/completions", _BODY)
        assert await anext(first) == {"n": 1}
        with pytest.raises(UpstreamBusy, match="upstream_max_connections"):
            await _collect(streams)
        release.set()
        assert [data async for data in first] == []
        release.clear()
        second = streams.post_sse("chat/completions", _BODY)
        assert await anext(second) == {"n": 1}  # the slot came back
        await second.aclose()
        await streams.aclose()


async def test_a_reader_that_stops_reading_holds_the_upstream_back() -> None:
    held = asyncio.Event()
    accepted: list[asyncio.BaseTransport] = []

    class Writer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            accepted.append(transport)

        def data_received(self, data: bytes) -> None:
            if b"\r\n\r\n" not in data:
                return
            assert isinstance(self.transport, asyncio.WriteTransport)
            self.transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            piece = _chunk(_data({"pad": "x" * 60_000}))
            for _ in range(2_000):  # ~120 MB offered: far past every buffer on the way
                self.transport.write(piece)

        def pause_writing(self) -> None:
            held.set()  # the client's window is full: it stopped reading

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Writer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(_TIMEOUT):
            streams = H1Streams(UpstreamConfig(f"http://127.0.0.1:{port}/v1"))
            stream = streams.post_sse("chat/completions", _BODY)
            await anext(stream)  # then this reader stops
            await held.wait()
            await stream.aclose()
            await streams.aclose()
    finally:
        for transport in accepted:
            transport.close()
        server.close()
        await server.wait_closed()


async def test_a_refused_connection_and_a_header_with_a_line_break_are_connect_errors() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    streams = H1Streams(UpstreamConfig(f"http://127.0.0.1:{port}/v1"))
    with pytest.raises(UpstreamConnectError, match="cannot connect"):
        await _collect(streams)
    with pytest.raises(UpstreamConnectError, match="line break"):
        H1Streams(UpstreamConfig(f"http://127.0.0.1:{port}/v1", headers={"x": "a\r\nb: c"}))


def test_only_plain_http_without_a_proxy_takes_the_lean_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert fast_path_allowed("http://127.0.0.1:8000/v1")
    assert not fast_path_allowed("https://api.example.com/v1")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert not fast_path_allowed("http://10.0.0.5:8000/v1")
    monkeypatch.setenv("NO_PROXY", "10.0.0.5")
    assert fast_path_allowed("http://10.0.0.5:8000/v1")
