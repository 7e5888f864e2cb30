"""One connection of the fake server: answers client events and runs one response at a time.

A :class:`Conversation` knows nothing of the transport: it reads and writes text frames through
a :class:`Peer` (a WebSocket connection, or one end of the in-memory pair), so both transports
share every rule of the fake GA server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from openai.types.realtime import (
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    RealtimeClientEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.testing._frames import (
    SERVER_EVENT_ADAPTER,
    Frame,
    Ids,
    error_event,
    server_event,
)
from antiphon.realtime.testing._writer import Reply, ReplyState, ResponseCancelled, ResponseWriter
from antiphon.wire.json import dump

if TYPE_CHECKING:
    from antiphon.realtime.testing._script import ScriptedServer

__all__ = ["Conversation", "Peer", "PeerClosed"]


class PeerClosed(Exception):
    """The connection is gone: nothing more can be sent (a transport's own error, translated)."""


class Peer(Protocol):
    """The server's end of one connection, whatever carries it."""

    def incoming(self) -> AsyncIterator[str | bytes]:
        """Client frames in order; ends (or raises :class:`PeerClosed`) when the client left."""
        ...

    async def send_text(self, text: str) -> None:
        """Send one text frame; raise :class:`PeerClosed` when the connection is gone."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close with a close frame carrying ``code`` and ``reason``."""
        ...

    def abort(self) -> None:
        """Drop the connection without a close frame (the client sees 1006)."""
        ...


class Conversation:
    """The server side of one WebSocket: its session, its items, its active response."""

    def __init__(self, peer: Peer, server: ScriptedServer, ids: Ids) -> None:
        self.ids = ids
        self.session: Frame = {"type": "realtime", "model": server.model}
        self._peer = peer
        self._server = server
        self._items: list[str] = []
        self._active: ResponseWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None

    async def serve(self) -> None:
        """Answer client frames until the connection closes; the active response dies with it."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            try:
                async for message in self._peer.incoming():
                    await self._receive(message)
            except PeerClosed:
                pass  # the client went away: nothing left to answer
            finally:
                self._group = None
                if self._task is not None:
                    self._task.cancel()

    async def send_frame(self, frame: Frame, *, validate: bool = True) -> None:
        """Send one frame; a frame the fake builds must validate (a bug in the fake otherwise)."""
        if validate:
            SERVER_EVENT_ADAPTER.validate_python(frame)
        self._server.record_sent(frame)
        await self._peer.send_text(json.dumps(frame))

    async def send_text(self, text: str) -> None:
        """Send raw text, unchecked."""
        await self._peer.send_text(text)

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with a close frame."""
        await self._peer.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        self._peer.abort()

    def append_item(self, item_id: str) -> str | None:
        """Record a conversation item; return the id of the item before it."""
        previous = self._items[-1] if self._items else None
        self._items.append(item_id)
        return previous

    def end_response(self, writer: ResponseWriter) -> None:
        """Called before ``response.done`` goes out: a new response.create is welcome again."""
        if self._active is writer:
            self._active = None

    def start_response(
        self, reply: Reply, state: ReplyState, request: ResponseCreateEvent | None
    ) -> None:
        """Run ``reply`` as the active response, in this connection's task group."""
        if self._group is None or self._active is not None:
            raise ConfigurationError("cannot start a response: closed, or one is active")
        writer = ResponseWriter(self, state, request)
        self._active = writer
        self._task = self._group.create_task(self._run(reply, writer))

    async def _run(self, reply: Reply, writer: ResponseWriter) -> None:
        try:
            # Cancelled: finish() reports "cancelled"; closed: finish() sends nothing.
            with contextlib.suppress(ResponseCancelled, PeerClosed):
                await reply(writer)
            with contextlib.suppress(PeerClosed):
                await writer.finish()
        finally:
            writer.abandon()  # also when the connection's task group cancels us

    async def _receive(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self._server.log.violations.append("binary frame (the protocol uses text frames)")
            return
        event = await self._server.log.record(message)
        if event is None:
            await self._error(None, "invalid_request_error", "Invalid client event.")
            return
        await self._dispatch(event)

    async def _dispatch(self, event: RealtimeClientEvent) -> None:
        if isinstance(event, SessionUpdateEvent):
            self.session.update(dump(event.session))
            await self._event("session.updated", session=self.session)
        elif isinstance(event, ConversationItemCreateEvent):
            await self._create_item(event)
        elif isinstance(event, ConversationItemTruncateEvent):
            await self._event(
                "conversation.item.truncated",
                item_id=event.item_id,
                content_index=event.content_index,
                audio_end_ms=event.audio_end_ms,
            )
        elif isinstance(event, ConversationItemDeleteEvent):
            await self._event("conversation.item.deleted", item_id=event.item_id)
        elif isinstance(event, InputAudioBufferCommitEvent):
            item_id = self.ids.next("item")
            await self._event(
                "input_audio_buffer.committed",
                item_id=item_id,
                previous_item_id=self.append_item(item_id),
            )
        elif isinstance(event, InputAudioBufferClearEvent):
            await self._event("input_audio_buffer.cleared")
        elif isinstance(event, ResponseCreateEvent):
            await self._response_create(event)
        elif isinstance(event, ResponseCancelEvent):
            await self._response_cancel(event)
        # input_audio_buffer.append, output_audio_buffer.clear, conversation.item.retrieve:
        # recorded, no answer needed by the tests this fake serves.

    async def _create_item(self, event: ConversationItemCreateEvent) -> None:
        item: Frame = dump(event.item)
        item.setdefault("id", self.ids.next("item"))
        item.update(object="realtime.item", status="completed")
        previous = event.previous_item_id or self.append_item(str(item["id"]))
        await self._event("conversation.item.added", item=item, previous_item_id=previous)
        await self._event("conversation.item.done", item=item, previous_item_id=previous)

    async def _response_create(self, event: ResponseCreateEvent) -> None:
        if self._active is not None:
            message = (
                f"Conversation already has an active response in progress: "
                f"{self._active.response_id}. Wait until the response is finished before "
                "creating a new one."
            )
            await self._error(event.event_id, "conversation_already_has_active_response", message)
            return
        reply, state = self._server.next_reply()
        self.start_response(reply, state, event)

    async def _response_cancel(self, event: ResponseCancelEvent) -> None:
        if self._active is None:
            message = "Cancellation failed: no active response found"
            await self._error(event.event_id, "response_cancel_not_active", message)
            return
        self._active.cancel()

    async def _event(self, type_: str, **fields: object) -> None:
        await self.send_frame(server_event(self.ids, type_, **fields))

    async def _error(self, event_id: str | None, code: str, message: str) -> None:
        await self.send_frame(error_event(self.ids, code, message, client_event_id=event_id))
