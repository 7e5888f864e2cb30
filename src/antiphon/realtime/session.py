"""The application's handle on one realtime conversation: ``async with`` it, iterate its events.

:class:`RealtimeSession` is a thin facade over components that each own their state (built in
``_parts``): the lifecycle (``_lifecycle``), the transport link (``_link``), the responses
(``_responses``: every ``response.create`` goes through the pure
:class:`~antiphon.realtime.sequencer.ResponseSequencer`), the reader (``_dispatch``, which owns
the history), tools (``_tool_calls``), guardrails (``_guarding``) and interrupts with the audio
progress (``_interrupt``). Each session owns its transport.

Event delivery (``async for event in session``), one consumer at a time:

- the queue holds at most ``max_queued_events`` events (default 1024). When the application
  stops reading, *lossy* events (``audio``, ``history_updated``, ``raw_model_event``) are dropped
  and counted in :attr:`RealtimeSession.dropped_events`; control events are never dropped: the
  reader waits for room instead, so backpressure reaches the socket;
- when the transport fails (malformed frame, invalid event, failed send, abrupt close), the
  events already queued are delivered first, then the typed error (``TransportError``,
  ``TransportClosed`` with ``code`` and ``reason``) is raised from ``async for``; a clean close
  ends the iteration normally; :meth:`RealtimeSession.close` always ends it, even when closing the
  socket fails.

Also: ``raw_model_event`` is opt-in (``raw_model_events`` in the run config), because it doubles
the events of every frame; ``history`` items are live views that grow as transcripts stream
(see :mod:`antiphon.realtime.history`); tool calls, guardrails and the response sequencer run as
tasks the session owns, cancelled and awaited by :meth:`RealtimeSession.close`.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from types import TracebackType

from openai.types.realtime import (
    ConversationItem,
    ConversationItemCreateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferCommitEvent,
    RealtimeConversationItemUserMessage,
    RealtimeResponseCreateParams,
)
from openai.types.realtime.realtime_conversation_item_user_message import Content

from antiphon.exceptions import ArgumentTypeError, TransportError
from antiphon.realtime._dispatch import pump
from antiphon.realtime._lifecycle import SessionState
from antiphon.realtime._parts import SessionParts, build_parts
from antiphon.realtime._queue import EventQueue
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig, build_session_update
from antiphon.realtime.events import RealtimeSessionEvent
from antiphon.realtime.model import RealtimeModel, RealtimeModelConfig
from antiphon.realtime.sequencer import RequestKind, ResponseHandle

__all__ = ["RealtimeSession"]

_log = logging.getLogger("antiphon.realtime")


class RealtimeSession:
    """One conversation with a realtime model; build it with :class:`RealtimeRunner`.

    Use as ``async with session:`` (connects, then closes and awaits every task it started) and
    read ``async for event in session``. See the module docstring for the delivery policy.
    """

    def __init__(
        self,
        model: RealtimeModel,
        agent: RealtimeAgent,
        config: RealtimeRunConfig,
        model_config: RealtimeModelConfig,
    ) -> None:
        self._parts: SessionParts = build_parts(model, agent, config)
        self._model_config = model_config

    @property
    def agent(self) -> RealtimeAgent:
        """The agent currently speaking."""
        return self._parts.agent.current

    @property
    def history(self) -> tuple[ConversationItem, ...]:
        """The conversation so far, oldest first (bounded by ``max_history_items``)."""
        return self._parts.dispatcher.history_items

    @property
    def dropped_events(self) -> int:
        """Lossy events dropped because the application did not read fast enough."""
        return self._parts.events.dropped

    async def __aenter__(self) -> RealtimeSession:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.close()
        except TransportError:
            if exc is None:
                raise
            _log.warning("closing the realtime transport failed", exc_info=True)

    async def connect(self) -> None:
        """Open the transport, start the reader and send the agent's ``session.update``.

        Raises :class:`~antiphon.TransportError` when the connection cannot be opened.
        """
        parts = self._parts
        lifecycle = parts.lifecycle
        lifecycle.require("connect", SessionState.NEW)
        update = await build_session_update(parts.agent.current, parts.config)
        try:
            await parts.link.connect(self._model_config)
        except BaseException:
            lifecycle.end(None)
            raise
        lifecycle.open()
        reader = pump(parts.link, parts.dispatcher, lifecycle.end)
        parts.tasks.spawn(reader, name="antiphon-session-reader")
        parts.tasks.spawn(parts.responses.run(), name="antiphon-response-sequencer")
        await parts.link.send(update)

    def __aiter__(self) -> _EventIterator:
        return _EventIterator(self._parts.events)

    async def send_message(self, message: str | ConversationItem) -> None:
        """Add a user message (text, or any conversation item) and ask for a response."""
        parts = self._parts
        parts.lifecycle.require("send_message", SessionState.OPEN)
        if isinstance(message, str):
            content = [Content(type="input_text", text=message)]
            message = RealtimeConversationItemUserMessage(
                type="message", role="user", content=content
            )
        await parts.link.send(
            ConversationItemCreateEvent(type="conversation.item.create", item=message)
        )
        parts.responses.request_auto()

    async def send_audio(self, audio: bytes, *, commit: bool = False) -> None:
        """Append input audio (PCM16 24 kHz mono by default); ``commit`` ends the user turn."""
        parts = self._parts
        parts.lifecycle.require("send_audio", SessionState.OPEN)
        encoded = base64.b64encode(audio).decode("ascii")
        await parts.link.send(
            InputAudioBufferAppendEvent(type="input_audio_buffer.append", audio=encoded)
        )
        if commit:
            await parts.link.send(InputAudioBufferCommitEvent(type="input_audio_buffer.commit"))

    async def interrupt(self) -> None:
        """Stop the assistant: truncate its audio at what was played and cancel the response."""
        parts = self._parts
        parts.lifecycle.require("interrupt", SessionState.OPEN)
        await parts.interrupter.interrupt(cancel=True)

    async def update_agent(self, agent: RealtimeAgent) -> None:
        """Make ``agent`` current: its instructions and tools are sent in a ``session.update``."""
        parts = self._parts
        parts.lifecycle.require("update_agent", SessionState.OPEN)
        update = await build_session_update(agent, parts.config)
        parts.agent.switch(agent)
        await parts.link.send(update)

    async def create_response(
        self, *, instructions: str | None = None, metadata: dict[str, str] | None = None
    ) -> ResponseHandle:
        """Ask for a response now (queued behind any active response; never merged).

        ``instructions`` apply to this response only; the agent is unchanged. With no argument
        the ``response.create`` carries no ``response`` object. Await ``handle.wait()`` for the
        outcome: it raises :class:`~antiphon.ResponseRequestRejected` if the server refused.

        Raises:
            ArgumentTypeError: ``metadata`` is not a mapping of str to str (nothing is sent);
                it is also a ``TypeError``.
        """
        _check_metadata(metadata)
        parts = self._parts
        parts.lifecycle.require("create_response", SessionState.OPEN)
        params: RealtimeResponseCreateParams | None = None
        if instructions is not None or metadata is not None:
            params = RealtimeResponseCreateParams()
            # Only the given fields are set, so `exclude_unset` leaves the others out.
            if instructions is not None:
                params.instructions = instructions
            if metadata is not None:
                params.metadata = dict(metadata)
        return parts.responses.request(params, kind=RequestKind.MANUAL)

    async def close(self) -> None:
        """End the session: wake iterators, cancel and await its tasks, close the transport.

        Idempotent. Raises :class:`~antiphon.TransportError` if closing the socket failed
        (after everything else was released).
        """
        lifecycle = self._parts.lifecycle
        lifecycle.end(None)
        await lifecycle.closed()
        error = lifecycle.take_close_error()
        if error is not None:
            raise TransportError(repr(error), context="closing the transport failed") from error


def _check_metadata(metadata: object) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise ArgumentTypeError(
            f"metadata must be a dict of str to str, got {type(metadata).__name__}"
        )
    for key, value in metadata.items():  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(key, str) or not isinstance(value, str):
            raise ArgumentTypeError("metadata must map str to str")


class _EventIterator:
    """Reads the session's queue; ends when the session ends (or raises its error)."""

    __slots__ = ("_events",)

    def __init__(self, events: EventQueue) -> None:
        self._events = events

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> RealtimeSessionEvent:
        return await self._events.get()
