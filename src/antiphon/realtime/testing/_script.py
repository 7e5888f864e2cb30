"""What every fake GA server shares, whatever carries its frames: the script, the log, the ids.

:class:`ScriptedServer` holds the reply script (one reply per ``response.create``), the
validated log of client events, the frames sent and the latest connection. The WebSocket
server (:class:`~antiphon.realtime.testing.FakeRealtimeServer`) and the in-memory one
(:class:`~antiphon.realtime.testing.InMemoryRealtimeServer`) only add how a connection arrives;
each connection is a :class:`~antiphon.realtime.testing._conversation.Conversation` over a
:class:`~antiphon.realtime.testing._conversation.Peer`.
"""

from __future__ import annotations

import asyncio
from collections import deque

from openai.types.realtime import RealtimeClientEvent

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.testing._conversation import Conversation, Peer
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

__all__ = ["ScriptedServer"]


class ScriptedServer:
    """The scripted GA server behind every transport (see the module docstring).

    With an empty script a ``response.create`` is answered by ``default_reply`` (the text
    ``"OK"`` unless given). Actions on "the connection" apply to the latest one.
    """

    def __init__(self, *, default_reply: Reply | None = None, model: str = "fake-realtime") -> None:
        self.log = ClientEventLog()
        """Every client event received, and the violations found."""
        self.sent: list[Frame] = []
        """Every frame sent, in order (all connections)."""
        self.model = model
        self._default = default_reply or text_reply("OK")
        self._script: deque[tuple[Reply, ReplyState]] = deque()
        self._ids = Ids()
        self._current: Conversation | None = None
        self._connections = 0
        self._connected = asyncio.Condition()

    @property
    def events(self) -> list[RealtimeClientEvent]:
        """Every valid client event received, in order."""
        return self.log.events

    @property
    def violations(self) -> list[str]:
        """The client frames that failed strict validation."""
        return self.log.violations

    @property
    def connection_count(self) -> int:
        """How many connections were accepted so far."""
        return self._connections

    async def wait_for(
        self, type_: str, count: int = 1, *, within: float = 5.0
    ) -> list[RealtimeClientEvent]:
        """Wait for ``count`` client events of ``type_`` (see :meth:`ClientEventLog.wait_for`)."""
        return await self.log.wait_for(type_, count, within=within)

    async def wait_connected(self, count: int = 1, *, within: float = 5.0) -> None:
        """Wait until ``count`` connections have been accepted (``session.created`` sent)."""
        async with asyncio.timeout(within), self._connected:
            await self._connected.wait_for(lambda: self._connections >= count)

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

    async def serve_connection(self, peer: Peer) -> None:
        """Greet a new connection with ``session.created``, then answer it until it closes."""
        conversation = Conversation(peer, self, self._ids)
        self._current = conversation
        await conversation.send_frame(
            server_event(self._ids, "session.created", session=conversation.session)
        )
        async with self._connected:
            self._connections += 1
            self._connected.notify_all()
        await conversation.serve()

    def record_sent(self, frame: Frame) -> None:
        """Note a sent frame (called by the connection)."""
        self.sent.append(frame)
