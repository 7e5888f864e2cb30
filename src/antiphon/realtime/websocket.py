"""The Realtime GA transport over WebSocket: :class:`WebSocketRealtimeModel`.

It turns frames into :data:`~antiphon.realtime.model.ModelEvent` values and client event models
into frames, and translates every ``websockets``/``pydantic``/``json`` failure into the
transport events and :class:`~antiphon.TransportError` of the seam. It knows no session logic.

Decoding (:func:`decode_server_frame`): a frame is validated against the official GA server
union, discriminated on ``type``. Malformed JSON fails the transport (context ``"malformed JSON
from server"``), and so does an event of a known type that does not validate (``"invalid server
event <type>"``). An event whose ``type`` the installed ``openai`` package does not know is
passed through as :class:`~antiphon.realtime.model.UnknownServerEvent`: servers ship new events
before clients learn them, and one unknown event must not end a session.

Buffering: one reader task (created in :meth:`connect`, cancelled and awaited in :meth:`close`)
feeds a bounded buffer of ``queue_size`` events (default 256). When it is full the reader stops
reading, so back-pressure reaches the server through TCP; nothing is ever dropped. Worst-case
memory per connection is about ``queue_size * max_message_bytes`` plus the ``websockets``
receive buffer (16 frames). Events already buffered are delivered before the terminal event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, TypeGuard, get_args

import pydantic
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.protocol import State

from antiphon._version import __version__
from antiphon.exceptions import ConfigurationError, TransportClosed, TransportError
from antiphon.realtime.model import (
    ModelEvent,
    RealtimeModelConfig,
    ServerEventReceived,
    TransportEnded,
    TransportFailed,
    UnknownServerEvent,
)
from antiphon.wire.json import dump_json

__all__ = ["ModelStats", "WebSocketRealtimeModel", "decode_server_frame"]

_SERVER_EVENTS: pydantic.TypeAdapter[RealtimeServerEvent] = pydantic.TypeAdapter(
    Annotated[RealtimeServerEvent, pydantic.Field(discriminator="type")]
)
_KNOWN_TYPES = frozenset(
    value
    for member in get_args(get_args(RealtimeServerEvent)[0])
    for value in get_args(member.model_fields["type"].annotation)
)
_CLEAN_CODES = (1000, 1001)
USER_AGENT = f"antiphon/{__version__}"


def decode_server_frame(frame: str | bytes) -> ModelEvent:
    """Decode one frame into a model event (never raises)."""
    try:
        return ServerEventReceived(_SERVER_EVENTS.validate_json(frame))
    except pydantic.ValidationError:
        pass  # slow path below: tell malformed, unknown and invalid apart
    try:
        # A JSON boundary: the payload is untyped until the type checks above pass.
        payload: object = json.loads(frame)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return TransportFailed(TransportError(str(exc), context="malformed JSON from server"))
    event_type = payload.get("type") if _is_object(payload) else None
    if not isinstance(event_type, str) or not _is_object(payload):
        error = TransportError("not an object with a string type", context="invalid server event")
        return TransportFailed(error)
    if event_type not in _KNOWN_TYPES:
        return UnknownServerEvent(event_type, payload)
    try:
        return ServerEventReceived(_SERVER_EVENTS.validate_python(payload))
    except pydantic.ValidationError as exc:
        context = f"invalid server event {event_type}"
        return TransportFailed(TransportError(_summary(exc), context=context))


def _summary(exc: pydantic.ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{exc.error_count()} error(s), first at {where}: {first['msg']}"


def _is_object(value: object) -> TypeGuard[dict[str, object]]:
    # JSON objects always have string keys, so the narrowing is exact.
    return isinstance(value, dict)


@dataclass(slots=True)
class ModelStats:
    """Cheap counters of the receive path: frames and bytes received (no clock reads)."""

    frames: int = 0
    bytes: int = 0


class _State(Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class WebSocketRealtimeModel:
    """A :class:`~antiphon.realtime.model.RealtimeModel` over the ``websockets`` asyncio client.

    Headers: ``config["headers"]`` verbatim when given; otherwise ``Authorization: Bearer`` with
    ``config["api_key"]`` or ``$OPENAI_API_KEY`` (no header when neither is set, for local
    servers). ``User-Agent`` is always ``antiphon/<version>``.
    """

    def __init__(self) -> None:
        self.stats = ModelStats()
        self._state = _State.NEW
        self._websocket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._buffer: deque[ModelEvent] = deque()
        self._limit = 256
        self._close_timeout = 5.0
        self._terminal: TransportFailed | TransportEnded | None = None
        self._readable = asyncio.Event()  # set when the buffer or the terminal changed
        self._writable = asyncio.Event()  # set when the buffer has room

    async def connect(self, config: RealtimeModelConfig) -> None:
        """Open the WebSocket and start the reader; raise ``TransportError`` when it fails."""
        if self._state is not _State.NEW:
            raise ConfigurationError(f"connect(): expected state new, found {self._state.value}")
        if "url" not in config:
            raise ConfigurationError("RealtimeModelConfig needs a 'url'")
        self._limit = max(1, config.get("queue_size", 256))
        self._close_timeout = config.get("close_timeout", 5.0)
        try:
            websocket = await connect(
                config["url"],
                additional_headers=_headers(config),
                user_agent_header=USER_AGENT,
                max_size=config.get("max_message_bytes", 8 * 2**20),
                open_timeout=config.get("open_timeout", 10.0),
                close_timeout=self._close_timeout,
                compression=None,  # realtime frames are small and latency-bound
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise TransportError(repr(exc), context="connect failed") from exc
        if self._was_closed():
            # close() ran during the handshake, when there was nothing to close yet: nobody
            # would ever read or close this connection, so it is dropped here.
            websocket.transport.abort()
            raise TransportError("the model was closed while connecting", context="connect failed")
        self._websocket = websocket
        self._state = _State.OPEN
        self._reader = asyncio.create_task(self._read(websocket), name="antiphon-ws-reader")

    def _was_closed(self) -> bool:
        # A method, so the type checker does not take the state for unchanged across an await.
        return self._state is _State.CLOSED

    async def send(self, event: RealtimeClientEvent) -> None:
        """Send one client event (fields never set stay absent on the wire)."""
        websocket = self._websocket
        if self._state is not _State.OPEN or websocket is None:
            raise TransportError(f"the model is {self._state.value}", context="send failed")
        text = dump_json(event)
        try:
            await websocket.send(text)
        except (ConnectionClosed, OSError) as exc:
            error = TransportError(repr(exc), context="send failed")
            if self._reader is None or self._reader.done():
                # No reader left to notice the dead socket: make sure events() ends.
                self._finish(TransportFailed(error))
            raise error from exc

    async def events(self) -> AsyncIterator[ModelEvent]:
        """Yield buffered events, then the terminal one (see the module docstring)."""
        while True:
            if self._buffer:
                event = self._buffer.popleft()
                self._writable.set()
                yield event
            elif self._terminal is not None:
                yield self._terminal
                return
            else:
                self._readable.clear()
                await self._readable.wait()

    async def close(self) -> None:
        """Close; idempotent, bounded by ``close_timeout``, never raises, always wakes events()."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        # First, so iterators wake whatever happens below (openai-agents #5070).
        self._finish(TransportEnded(1000, "closed by the client"))
        websocket, reader = self._websocket, self._reader
        try:
            if reader is not None:
                # The reader may be parked on a full queue nobody reads any more: stop it first.
                reader.cancel()
                await asyncio.wait({reader})  # its outcome is not ours to raise
            if websocket is not None:
                # Frames still arriving are drained, so the server's close frame is seen at once
                # instead of after the close timeout (websockets stops reading on a full buffer).
                drain = asyncio.create_task(_discard_frames(websocket))
                try:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(self._close_timeout + 1.0):
                            await websocket.close()
                finally:
                    drain.cancel()
                    await asyncio.wait({drain})
        finally:
            if websocket is not None and websocket.state is not State.CLOSED:
                # Cancelled before the handshake ended: websockets enforces its close timeout
                # only inside the close() call we left, so nothing else would ever close this
                # socket. Drop the TCP connection now.
                websocket.transport.abort()

    async def _read(self, websocket: ClientConnection) -> None:
        stats = self.stats
        try:
            while True:
                frame = await websocket.recv()
                event = decode_server_frame(frame)
                stats.frames += 1
                stats.bytes += len(frame)
                if isinstance(event, TransportFailed):
                    self._finish(event)
                    await websocket.close(1002, "invalid frame")
                    return
                if len(self._buffer) < self._limit:  # the usual case: no coroutine per frame
                    self._buffer.append(event)
                    self._readable.set()
                else:
                    await self._push(event)
        except ConnectionClosed as exc:
            self._finish(_closed(exc))
        except Exception as exc:  # a bug must still end events(), never leave it hanging
            self._finish(TransportFailed(TransportError(repr(exc), context="reader failed")))

    async def _push(self, event: ModelEvent) -> None:
        while len(self._buffer) >= self._limit:
            self._writable.clear()
            await self._writable.wait()
        self._buffer.append(event)
        self._readable.set()

    def _finish(self, event: TransportFailed | TransportEnded) -> None:
        if self._terminal is None:
            self._terminal = event
        self._readable.set()


def _closed(exc: ConnectionClosed) -> TransportFailed | TransportEnded:
    """Clean when the server said 1000/1001; anything else (1006 included) is a failure."""
    code = exc.rcvd.code if exc.rcvd is not None else 1006
    reason = exc.rcvd.reason if exc.rcvd is not None else ""
    if code in _CLEAN_CODES:
        return TransportEnded(code, reason)
    return TransportFailed(TransportClosed(code=code, reason=reason))


def _headers(config: RealtimeModelConfig) -> dict[str, str]:
    if "headers" in config:
        return dict(config["headers"])
    api_key = config.get("api_key") or os.environ.get("OPENAI_API_KEY")
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


async def _discard_frames(websocket: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        while True:
            await websocket.recv()
