"""The WebSocket model over a real socket: the model contract, then what only a socket has
(handshake headers, TCP back-pressure, the closing handshake)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import pytest
from openai.types.realtime import ResponseCreateEvent

from antiphon import __version__
from antiphon.exceptions import ConfigurationError, TransportError
from antiphon.realtime import websocket as websocket_module
from antiphon.realtime.model import (
    ModelEvent,
    RealtimeModel,
    RealtimeModelConfig,
    ServerEventReceived,
    TransportEnded,
)
from antiphon.realtime.testing import FakeRealtimeServer
from antiphon.realtime.websocket import WebSocketRealtimeModel, decode_server_frame
from tests.realtime.model_contract import Far, Harness, ModelContract

pytestmark = pytest.mark.e2e

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's key suffix


async def drain(model: WebSocketRealtimeModel) -> list[ModelEvent]:
    async with asyncio.timeout(5):
        return [event async for event in model.events()]


@asynccontextmanager
async def websocket_harness() -> AsyncGenerator[tuple[RealtimeModel, Far]]:
    async with FakeRealtimeServer() as server:
        model = WebSocketRealtimeModel()
        await model.connect({"url": server.url, "api_key": "sk-test"})
        await server.wait_connected()
        far = Far(
            server.close_connection, server.send_raw, server.send_event, server.abort_connection
        )
        try:
            yield model, far
        finally:
            await model.close()


class TestWebSocketModel(ModelContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return websocket_harness


async def test_api_key_becomes_a_bearer_header_with_our_user_agent() -> None:
    async with FakeRealtimeServer() as server:
        model = WebSocketRealtimeModel()
        await model.connect({"url": server.url, "api_key": "sk-local"})
        await server.wait_connected()
        await model.close()
    headers = server.request_headers[0]
    assert headers["Authorization"] == "Bearer sk-local"
    assert headers["User-Agent"] == f"antiphon/{__version__}"


async def test_explicit_headers_are_sent_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    async with FakeRealtimeServer() as server:
        model = WebSocketRealtimeModel()
        await model.connect({"url": server.url, "headers": {"api-key": "azure"}})
        await server.wait_connected()
        await model.close()
    headers = server.request_headers[0]
    assert headers["api-key"] == "azure"
    assert "Authorization" not in headers


async def test_unset_response_stays_absent_on_the_wire() -> None:
    async with FakeRealtimeServer() as server:
        model = WebSocketRealtimeModel()
        await model.connect({"url": server.url})
        await model.send(ResponseCreateEvent(type="response.create", event_id="rc_1"))
        await server.wait_for("response.create")
        await model.close()
    assert json.loads(server.log.raw[0]) == {"type": "response.create", "event_id": "rc_1"}
    assert server.violations == []


async def test_a_held_consumer_stops_the_reader_at_the_bound_and_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "abcdefghijklmnopqrst"
    bound = 2
    received: list[ModelEvent] = []
    read_when_taken: list[int] = []  # frames the reader had taken off the socket, per event
    go, filled = asyncio.Event(), asyncio.Event()
    decoded = [0]

    def counting_decode(frame: str | bytes) -> ModelEvent:
        # The reader decodes each frame it takes off the socket: the buffer is full, plus the one
        # frame in the reader's hand, once bound + 1 frames were decoded.
        decoded[0] += 1
        if decoded[0] == bound + 1:
            filled.set()
        return decode_server_frame(frame)

    monkeypatch.setattr(websocket_module, "decode_server_frame", counting_decode)

    async def consume(model: WebSocketRealtimeModel) -> None:
        await go.wait()  # the slow consumer: reads nothing until the test lets it
        async for event in model.events():
            received.append(event)
            read_when_taken.append(model.stats.frames)
            if isinstance(event, ServerEventReceived) and event.event.type == "response.done":
                return

    async with FakeRealtimeServer() as server:
        reply = server.respond_with_text(text, chunks=20)
        model = WebSocketRealtimeModel()
        await model.connect({"url": server.url, "queue_size": bound})
        async with asyncio.timeout(5), asyncio.TaskGroup() as group:
            group.create_task(consume(model))
            await model.send(ResponseCreateEvent(type="response.create"))
            await reply.wait_finished()  # every frame is on its way: the sockets hold them
            await filled.wait()
            read_while_held, sent_while_held = model.stats.frames, len(server.sent)
            go.set()
        await model.close()
    # Nobody read: the reader filled the buffer, held one more frame and stopped reading the
    # socket (the rest stayed in TCP: back-pressure) instead of buffering all that was sent.
    assert read_while_held == bound + 1
    assert sent_while_held > 2 * (bound + 1)
    # Nothing dropped: one event per frame sent, in order.
    assert len(received) == len(server.sent)
    deltas = [
        event.event.delta
        for event in received
        if isinstance(event, ServerEventReceived)
        and event.event.type == "response.output_text.delta"
    ]
    assert "".join(deltas) == text
    # The reader never got more than the buffer plus the frame in its hand ahead of the consumer:
    # when the consumer took its n-th event, at most n + bound frames had been read.
    assert all(read <= taken + bound for taken, read in enumerate(read_when_taken, start=1))
    assert model.stats.frames == len(server.sent)


async def test_connect_failure_is_a_transport_error() -> None:
    async with FakeRealtimeServer() as server:
        url = server.url
    with pytest.raises(TransportError) as caught:
        await WebSocketRealtimeModel().connect({"url": url, "open_timeout": 2})
    assert caught.value.context == "connect failed"


async def test_connect_is_guarded() -> None:
    model = WebSocketRealtimeModel()
    with pytest.raises(ConfigurationError, match="url"):
        await model.connect({})
    await model.close()
    with pytest.raises(ConfigurationError, match="expected state new, found closed"):
        await model.connect({"url": "ws://127.0.0.1:9"})
    assert isinstance((await drain(model))[-1], TransportEnded)


async def test_close_completes_the_handshake_even_when_nobody_reads_a_full_queue() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    codes: list[int | None] = []
    sent, closed = asyncio.Event(), asyncio.Event()
    session = {"type": "realtime", "instructions": "x" * 4000}
    frame = json.dumps({"type": "session.created", "event_id": "e", "session": session})

    async def handler(connection: ServerConnection) -> None:
        for _ in range(200):  # far more than the client's queue and websockets' own buffer
            await connection.send(frame)
        sent.set()
        await connection.wait_closed()
        codes.append(connection.close_code)
        closed.set()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        model = WebSocketRealtimeModel()
        # A long close timeout: if close() waited on a stalled handshake, the guard below trips.
        config: RealtimeModelConfig = {
            "url": f"ws://127.0.0.1:{port}",
            "queue_size": 2,
            "close_timeout": 60,
        }
        await model.connect(config)
        async with asyncio.timeout(10):
            await sent.wait()
            await model.close()
            await closed.wait()
    assert codes == [1000]  # the handshake finished cleanly instead of stalling


class _MutePeer:
    """A raw WebSocket peer: it accepts the upgrade once ``answer`` is set, then never replies.

    So a client's close handshake cannot finish; it notes when the upgrade request came, when
    the client sent its first frame, and when the client's side of the connection ended.
    """

    def __init__(self, *, answer_at_once: bool = True) -> None:
        self.answer, self.requested = asyncio.Event(), asyncio.Event()
        self.got_frame, self.ended = asyncio.Event(), asyncio.Event()
        if answer_at_once:
            self.answer.set()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.requested.set()
            key = re.search(rb"(?i)sec-websocket-key: *(\S+)", request)
            assert key is not None
            accept = base64.b64encode(hashlib.sha1(key[1] + _WS_GUID).digest())
            await self.answer.wait()
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            await writer.drain()
            if await reader.read(1):
                self.got_frame.set()
                while await reader.read(4096):  # until the client's side of the connection ends
                    pass
            self.ended.set()
        finally:
            writer.close()


async def test_a_close_cancelled_mid_handshake_still_drops_the_connection() -> None:
    peer = _MutePeer()
    async with await asyncio.start_server(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        model = WebSocketRealtimeModel()
        # A close timeout far beyond the test's: only close() itself can drop the connection.
        await model.connect({"url": f"ws://127.0.0.1:{port}", "close_timeout": 60})
        closing = asyncio.create_task(model.close())
        async with asyncio.timeout(5):
            await peer.got_frame.wait()  # the client's close frame
            closing.cancel()  # e.g. the application's own timeout around close()
            await asyncio.wait({closing})
            await peer.ended.wait()
    assert closing.cancelled()


async def test_a_close_during_the_opening_handshake_drops_the_new_connection() -> None:
    peer = _MutePeer(answer_at_once=False)
    async with await asyncio.start_server(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        model = WebSocketRealtimeModel()
        connecting = asyncio.create_task(model.connect({"url": f"ws://127.0.0.1:{port}"}))
        async with asyncio.timeout(5):
            await peer.requested.wait()
            await model.close()  # nothing to close yet: the handshake is in flight
            peer.answer.set()
            with pytest.raises(TransportError) as caught:
                await connecting
            await peer.ended.wait()  # the connection the handshake opened did not stay open
    assert caught.value.context == "connect failed"
    assert isinstance((await drain(model))[-1], TransportEnded)
