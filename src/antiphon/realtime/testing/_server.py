"""The fake Realtime GA server: a real local WebSocket server driven by a script.

It listens on ``127.0.0.1`` (port 0), answers each client event the way the real GA server
does (``session.created`` on connect, ``session.updated`` for each ``session.update``,
``conversation.item.added`` and ``.done`` for each ``conversation.item.create``,
``conversation.item.truncated``, ``response.*``), and consumes one scripted reply per
``response.create``. Like the real server it rejects a ``response.create`` that arrives while a
response is active (``conversation_already_has_active_response``) and a ``response.cancel`` with
nothing to cancel (``response_cancel_not_active``). Every frame it builds is validated against
the official GA server union before it is sent; every client frame is recorded and validated
(:class:`~antiphon.realtime.testing.ClientEventLog`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType
from typing import Self

from openai.types.realtime import RealtimeClientEvent
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.testing._conversation import Conversation
from antiphon.realtime.testing._frames import Frame, Ids, server_event
from antiphon.realtime.testing._log import ClientEventLog
from antiphon.realtime.testing._replies import (
    audio_reply,
    close_reply,
    error_reply,
    text_reply,
    tool_call_reply,
)
from antiphon.realtime.testing._writer import Reply, ReplyControl, ReplyState

__all__ = ["FakeRealtimeServer"]


class FakeRealtimeServer:
    """A scriptable Realtime GA server for tests and demos; use it as an async context manager.

    ::

        async with FakeRealtimeServer() as server:
            server.respond_with_tool_call("get_weather", {"city": "Paris"})
            server.respond_with_text("It is sunny.", chunks=3)
            ...  # connect a model to server.url
            await server.wait_for("response.create", 2)

    With an empty script a ``response.create`` is answered by ``default_reply`` (the text
    ``"OK"`` unless given). Actions on "the connection" apply to the latest one.
    """

    def __init__(self, *, default_reply: Reply | None = None, model: str = "fake-realtime") -> None:
        self.log = ClientEventLog()
        """Every client event received, and the violations found."""
        self.sent: list[Frame] = []
        """Every frame sent, in order (all connections)."""
        self.request_headers: list[Headers] = []
        """The handshake headers of each connection."""
        self.model = model
        self._default = default_reply or text_reply("OK")
        self._script: deque[tuple[Reply, ReplyState]] = deque()
        self._ids = Ids()
        self._server: Server | None = None
        self._current: Conversation | None = None
        self._connected = asyncio.Condition()

    async def __aenter__(self) -> Self:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=16 * 2**20)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>/v1/realtime?model=<model>``."""
        if self._server is None:
            raise ConfigurationError("the fake server is not started (use `async with`)")
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/v1/realtime?model={self.model}"

    @property
    def events(self) -> list[RealtimeClientEvent]:
        """Every valid client event received, in order."""
        return self.log.events

    @property
    def violations(self) -> list[str]:
        """The client frames that failed strict validation."""
        return self.log.violations

    async def wait_for(
        self, type_: str, count: int = 1, *, within: float = 5.0
    ) -> list[RealtimeClientEvent]:
        """Wait for ``count`` client events of ``type_`` (see :meth:`ClientEventLog.wait_for`)."""
        return await self.log.wait_for(type_, count, within=within)

    async def wait_connected(self, count: int = 1, *, within: float = 5.0) -> None:
        """Wait until ``count`` connections have been accepted (``session.created`` sent)."""
        async with asyncio.timeout(within), self._connected:
            await self._connected.wait_for(lambda: len(self.request_headers) >= count)

    # -- the script: one reply per response.create -------------------------------------------

    def respond(self, reply: Reply, *, hold: bool = False) -> ReplyControl:
        """Queue a reply (any async callable taking a ``ResponseWriter``)."""
        state = ReplyState(hold)
        self._script.append((reply, state))
        return ReplyControl(state)

    def respond_with_text(self, text: str, *, chunks: int = 1, hold: bool = False) -> ReplyControl:
        """Queue a text answer streamed in ``chunks`` deltas."""
        return self.respond(text_reply(text, chunks=chunks), hold=hold)

    def respond_with_tool_call(
        self,
        name: str,
        arguments: str | dict[str, object],
        *,
        call_id: str | None = None,
        hold: bool = False,
    ) -> ReplyControl:
        """Queue a ``function_call`` answer."""
        return self.respond(tool_call_reply(name, arguments, call_id=call_id), hold=hold)

    def respond_with_audio(
        self, audio: bytes, transcript: str, *, chunks: int = 1, hold: bool = False
    ) -> ReplyControl:
        """Queue an audio answer with its transcript."""
        return self.respond(audio_reply(audio, transcript, chunks=chunks), hold=hold)

    def respond_with_error(self, code: str, message: str) -> ReplyControl:
        """Queue a rejection of the next ``response.create``."""
        return self.respond(error_reply(code, message))

    def respond_with_close(self, code: int = 1011, reason: str = "") -> ReplyControl:
        """Close the connection on the next ``response.create``."""
        return self.respond(close_reply(code, reason))

    def next_reply(self) -> tuple[Reply, ReplyState]:
        """Pop the next scripted reply (the default one when the script is empty)."""
        return self._script.popleft() if self._script else (self._default, ReplyState(False))

    # -- immediate actions on the latest connection --------------------------------------------

    def start_response(self, reply: Reply, *, hold: bool = False) -> ReplyControl:
        """Start a response nobody asked for, as server VAD does."""
        state = ReplyState(hold)
        self._connection().start_response(reply, state, None)
        return ReplyControl(state)

    async def send_event(self, frame: Frame) -> None:
        """Send a JSON object as is, unvalidated (to test invalid or unknown events)."""
        await self._connection().send_frame(frame, validate=False)

    async def send_raw(self, text: str) -> None:
        """Send a text frame as is (to test malformed JSON)."""
        await self._connection().send_text(text)

    async def close_connection(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with a close frame carrying ``code`` and ``reason``."""
        await self._connection().close(code, reason)

    def abort_connection(self) -> None:
        """Drop the TCP connection without a close frame (the client sees 1006)."""
        self._connection().abort()

    def _connection(self) -> Conversation:
        if self._current is None:
            raise ConfigurationError("no client is connected to the fake server")
        return self._current

    async def _handle(self, websocket: ServerConnection) -> None:
        conversation = Conversation(websocket, self, self._ids)
        self._current = conversation
        await conversation.send_frame(
            server_event(self._ids, "session.created", session=conversation.session)
        )
        assert websocket.request is not None  # the handler runs after the handshake
        async with self._connected:
            self.request_headers.append(websocket.request.headers)
            self._connected.notify_all()
        await conversation.serve()

    def record_sent(self, frame: Frame) -> None:
        """Note a sent frame (called by the connection)."""
        self.sent.append(frame)
