"""The in-memory pair: a :class:`~antiphon.realtime.model.RealtimeModel` wired to a fake GA server.

:class:`InMemoryRealtimeServer` is the scripted server of
:class:`~antiphon.realtime.testing.FakeRealtimeServer` (same script, log and replies) with no
socket: :meth:`InMemoryRealtimeServer.model` builds a model whose frames travel through a pair of
bounded in-process channels. It is as strict as the socket path: the client's events are
serialised to JSON text and validated strictly by the server's log, and every server frame is
decoded by :func:`~antiphon.realtime.websocket.decode_server_frame` (the GA union, discriminated
on ``type``), so an invalid frame fails the transport exactly as it does over a WebSocket.

Close semantics mirror the WebSocket model: a server close with 1000/1001 ends ``events()``
with :class:`~antiphon.realtime.model.TransportEnded`, any other code (or an abort, seen as 1006)
with :class:`~antiphon.realtime.model.TransportFailed` carrying
:class:`~antiphon.TransportClosed`; buffered events are delivered before the terminal one.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from openai.types.realtime import RealtimeClientEvent

from antiphon.exceptions import ConfigurationError, TransportClosed, TransportError
from antiphon.realtime.model import (
    ModelEvent,
    RealtimeModelConfig,
    TransportEnded,
    TransportFailed,
)
from antiphon.realtime.testing._channel import Channel
from antiphon.realtime.testing._conversation import PeerClosed
from antiphon.realtime.testing._script import ScriptedServer
from antiphon.realtime.testing._writer import Reply
from antiphon.realtime.websocket import decode_server_frame
from antiphon.wire.json import dump_json

__all__ = ["InMemoryRealtimeModel", "InMemoryRealtimeServer"]

_CLEAN_CODES = (1000, 1001)
_DEFAULT_QUEUE_SIZE = 256


class _Pipe:
    """Both directions of one connection, and the terminal event the client will see."""

    def __init__(self, limit: int) -> None:
        self.to_server: Channel[str] = Channel(limit)
        self.to_client: Channel[ModelEvent] = Channel(limit)
        self.terminal: TransportFailed | TransportEnded | None = None

    @property
    def closed(self) -> bool:
        return self.terminal is not None

    def end(self, terminal: TransportFailed | TransportEnded) -> None:
        """Close both directions; the first terminal wins. Buffered frames stay readable."""
        if self.terminal is None:
            self.terminal = terminal
        self.to_server.close()
        self.to_client.close()


class _ServerEnd:
    """The server's :class:`~antiphon.realtime.testing._conversation.Peer` on a pipe."""

    def __init__(self, pipe: _Pipe) -> None:
        self._pipe = pipe

    async def incoming(self) -> AsyncIterator[str | bytes]:
        while (frame := await self._pipe.to_server.get()) is not None:
            yield frame

    async def send_text(self, text: str) -> None:
        if self._pipe.closed:
            raise PeerClosed("the client is gone")
        # Decoded here, as the WebSocket model's reader does on arrival: an invalid frame ends
        # the connection at once, and what was buffered before it is still delivered.
        event = decode_server_frame(text)
        if isinstance(event, TransportFailed):
            self._pipe.end(event)
        elif not await self._pipe.to_client.put(event):
            raise PeerClosed("the client is gone")

    async def close(self, code: int, reason: str) -> None:
        if code in _CLEAN_CODES:
            self._pipe.end(TransportEnded(code, reason))
        else:
            self._pipe.end(TransportFailed(TransportClosed(code=code, reason=reason)))

    def abort(self) -> None:
        self._pipe.end(TransportFailed(TransportClosed(code=1006, reason="")))


class InMemoryRealtimeServer(ScriptedServer):
    """A scripted GA server reached without a socket; use it as an async context manager.

    ::

        async with InMemoryRealtimeServer() as server:
            server.respond_with_text("It is sunny.", chunks=3)
            runner = RealtimeRunner(agent, model_factory=server.new_model)
            ...

    Each connection is served by a task the server owns: leaving the ``async with`` closes the
    connections still open and waits (up to ``SHUTDOWN_TIMEOUT`` seconds) for those tasks; a
    task that crashed (a bug in a custom reply) is raised then.
    """

    SHUTDOWN_TIMEOUT = 5.0

    def __init__(self, *, default_reply: Reply | None = None, model: str = "fake-realtime") -> None:
        super().__init__(default_reply=default_reply, model=model)
        self._running = False
        self._pipes: list[_Pipe] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._running = True
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._running = False
        for pipe in self._pipes:
            pipe.end(TransportEnded(1001, "the server is shutting down"))
        tasks = list(self._tasks)
        if not tasks:
            return
        async with asyncio.timeout(self.SHUTDOWN_TIMEOUT):
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        crashes = [o for o in outcomes if isinstance(o, Exception)]
        if crashes and exc is None:
            raise crashes[0]

    def new_model(self) -> InMemoryRealtimeModel:
        """A fresh, unconnected model for this server (a model factory for the runner)."""
        return InMemoryRealtimeModel(self)

    def accept(self, queue_size: int) -> _Pipe:
        """Open a connection for a model (called by :meth:`InMemoryRealtimeModel.connect`)."""
        if not self._running:
            raise TransportError("the in-memory server is not running", context="connect failed")
        pipe = _Pipe(queue_size)
        self._pipes.append(pipe)
        task = asyncio.create_task(self._serve(pipe), name="antiphon-fake-connection")
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return pipe

    def _finished(self, task: asyncio.Task[None]) -> None:
        # A crashed task is kept until __aexit__ raises its error; the others are forgotten.
        if task.cancelled() or task.exception() is None:
            self._tasks.discard(task)

    async def _serve(self, pipe: _Pipe) -> None:
        try:
            await self.serve_connection(_ServerEnd(pipe))
        except PeerClosed:
            pass  # the client left before session.created went out
        finally:
            # Like a WebSocket handler returning: the connection is over for the client too.
            pipe.end(TransportEnded(1000, ""))
            self._pipes.remove(pipe)


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class InMemoryRealtimeModel:
    """A :class:`~antiphon.realtime.model.RealtimeModel` whose far end is an in-memory server.

    ``connect`` ignores ``url`` and credentials (there is nothing to reach) but honours
    ``queue_size``, the bound of each direction of the pipe. States: ``new -> open -> closed``
    (``close()`` from any state); the pipe records how the connection itself ended.
    """

    def __init__(self, server: InMemoryRealtimeServer) -> None:
        self._server = server
        self._state = _State.NEW
        self._pipe: _Pipe | None = None

    async def connect(self, config: RealtimeModelConfig) -> None:
        """Open a connection to the server; raise ``TransportError`` when it is not running."""
        if self._state is not _State.NEW:
            raise ConfigurationError(f"connect(): expected state new, found {self._state.value}")
        self._pipe = self._server.accept(max(1, config.get("queue_size", _DEFAULT_QUEUE_SIZE)))
        self._state = _State.OPEN

    async def send(self, event: RealtimeClientEvent) -> None:
        """Send one client event as JSON text (fields never set stay absent, as on the wire)."""
        pipe = self._pipe
        if self._state is not _State.OPEN or pipe is None:
            raise TransportError(f"the model is {self._state.value}", context="send failed")
        if pipe.closed:
            raise TransportError("the server closed the connection", context="send failed")
        if not await pipe.to_server.put(dump_json(event)):
            raise TransportError("the connection closed during the send", context="send failed")

    async def events(self) -> AsyncIterator[ModelEvent]:
        """Yield the server's events, then exactly one terminal event."""
        pipe = self._pipe
        if pipe is None:
            yield TransportFailed(TransportError("never connected", context="events failed"))
            return
        while (event := await pipe.to_client.get()) is not None:
            yield event
        yield pipe.terminal or TransportEnded(1000, "")

    async def close(self) -> None:
        """Close; idempotent, never raises, wakes ``events()``."""
        self._state = _State.CLOSED
        if self._pipe is not None:
            self._pipe.end(TransportEnded(1000, "closed by the client"))
