"""The reader: pulls transport events and turns each server event into session effects.

:func:`pump` is the session's one reader task. For every server event :class:`Dispatcher` feeds
the response component, the history and the raw-event stream, then runs the handler for that
event type (a dict lookup, so the per-event cost does not grow with the number of types
handled). Nothing slow runs here: tool calls and guardrails start owned tasks, so a slow tool
never stalls audio. The transport's end (clean or failed) ends the session through ``end``.

The dispatcher owns the session's :class:`~antiphon.realtime.history.ConversationHistory`: it is
the only writer, and the session reads it through :attr:`Dispatcher.history_items`.
"""

from __future__ import annotations

import binascii
from collections.abc import Awaitable, Callable

from openai.types.realtime import (
    ConversationItem,
    RealtimeConversationItemFunctionCall,
    RealtimeErrorEvent,
    RealtimeServerEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)

from antiphon.exceptions import ServerError, TransportError
from antiphon.realtime._agent_slot import AgentSlot
from antiphon.realtime._guarding import GuardrailRunner
from antiphon.realtime._interrupt import Interrupter
from antiphon.realtime._link import Link
from antiphon.realtime._queue import EventQueue
from antiphon.realtime._responses import Responses
from antiphon.realtime._tool_calls import ToolCallRunner
from antiphon.realtime.events import (
    AgentEndEvent,
    AgentStartEvent,
    AudioEndEvent,
    AudioEvent,
    ErrorEvent,
    RawModelEvent,
    RealtimeSessionEvent,
)
from antiphon.realtime.history import ConversationHistory
from antiphon.realtime.model import ServerEventReceived, TransportFailed, UnknownServerEvent
from antiphon.realtime.sequencer import ACTIVE_RESPONSE_CODE

__all__ = ["Dispatcher", "pump"]

Handler = Callable[[RealtimeServerEvent], "RealtimeSessionEvent | None"]
AsyncHandler = Callable[[RealtimeServerEvent], Awaitable[None]]

_SEQUENCER_TYPES = frozenset({"response.created", "response.done", "error"})
"""The only events the sequencer reacts to (see ``ResponseSequencer.on_server_event``)."""


async def pump(
    link: Link, dispatcher: Dispatcher, end: Callable[[BaseException | None], None]
) -> None:
    """Read the transport until it ends, then end the session (with its error, if any)."""
    async for model_event in link.events():
        if isinstance(model_event, ServerEventReceived):
            pending = dispatcher.handle(model_event.event)
            if pending is not None:
                await pending
        elif isinstance(model_event, UnknownServerEvent):
            dispatcher.unknown(model_event)  # newer than our openai package: never fatal
        elif isinstance(model_event, TransportFailed):
            end(model_event.error)
            return
        else:
            end(None)  # a clean close (code 1000, or the one we asked for)
            return
    end(None)


class Dispatcher:
    """Maps server events to session effects for one session.

    Most handlers are plain functions returning the control event to queue (if any); only the
    two that must send or start tasks are coroutines. On the hot path (audio and transcript
    deltas) this saves a coroutine per event.
    """

    def __init__(
        self,
        *,
        history: ConversationHistory,
        responses: Responses,
        agent: AgentSlot,
        interrupter: Interrupter,
        tools: ToolCallRunner,
        guardrails: GuardrailRunner,
        events: EventQueue,
        raw: bool,
    ) -> None:
        self._history = history
        self._responses = responses
        self._agent = agent
        self._interrupter = interrupter
        self._tools = tools
        self._guardrails = guardrails
        self._events = events
        self._raw = raw
        self._handlers: dict[str, Handler] = {
            "response.created": self._response_created,
            "response.done": self._response_done,
            "response.output_audio.delta": self._audio_delta,
            "response.output_audio.done": self._audio_done,
            "response.output_text.delta": self._transcript_delta,
            "response.output_audio_transcript.delta": self._transcript_delta,
            "response.output_text.done": self._transcript_done,
            "response.output_audio_transcript.done": self._transcript_done,
            "error": self._error,
        }
        self._async_handlers: dict[str, AsyncHandler] = {
            "response.output_item.done": self._output_item_done,
            "input_audio_buffer.speech_started": self._speech_started,
        }

    @property
    def history_items(self) -> tuple[ConversationItem, ...]:
        """A snapshot of the conversation so far, oldest first."""
        return self._history.items

    def handle(self, event: RealtimeServerEvent) -> Awaitable[None] | None:
        """Apply one server event; what is left to await, if anything.

        Most events (audio and transcript deltas) need nothing awaited: they are applied here
        and ``None`` comes back, which saves a coroutine per event. An event that must queue
        a control event (with back-pressure), send, or start a task returns the coroutine that
        finishes it.
        """
        events = self._events
        kind = event.type
        if kind in _SEQUENCER_TYPES:
            self._responses.on_server_event(event)
        if self._raw:
            events.offer(RawModelEvent(event))
        change = self._history.apply(event)
        added: RealtimeSessionEvent | None = None
        if change is not None:
            if change.type == "history_updated":
                events.offer(change)  # lossy: no need to go through the awaiting path
            else:
                added = change
        handler = self._handlers.get(kind)
        if handler is not None:
            control = handler(event)
            if added is None and control is None:
                return None
            return self._queue(added, control)
        async_handler = self._async_handlers.get(kind)
        if async_handler is None:
            return None if added is None else self._queue(added, None)
        return self._queue_then(added, async_handler(event))

    async def _queue(
        self, first: RealtimeSessionEvent | None, second: RealtimeSessionEvent | None
    ) -> None:
        for event in (first, second):
            if event is not None:
                await self._events.put(event)

    async def _queue_then(self, first: RealtimeSessionEvent | None, then: Awaitable[None]) -> None:
        if first is not None:
            await self._events.put(first)
        await then

    def unknown(self, event: UnknownServerEvent) -> None:
        """An event type the installed ``openai`` package does not know: raw event only."""
        if self._raw:
            self._events.offer(RawModelEvent(event))

    def _response_created(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if isinstance(event, ResponseCreatedEvent):
            return AgentStartEvent(self._agent.current, event.response.id)
        return None

    def _response_done(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if not isinstance(event, ResponseDoneEvent):
            return None
        response = event.response
        if response.id is not None:
            self._guardrails.forget(response.id)
        return AgentEndEvent(self._agent.current, response.id, response.status)

    def _audio_delta(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if not isinstance(event, ResponseAudioDeltaEvent):
            return None
        if self._interrupter.is_muted(event.response_id):
            return None  # audio of a response we cancelled: the listener must not hear it
        try:
            audio = binascii.a2b_base64(event.delta, strict_mode=True)
        except binascii.Error as exc:
            return ErrorEvent(TransportError(f"invalid base64 audio: {exc}", context=event.type))
        self._interrupter.on_audio(event.item_id, event.content_index, len(audio))
        self._events.offer(AudioEvent(audio, event.item_id, event.content_index, event.response_id))
        return None

    def _audio_done(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if isinstance(event, ResponseAudioDoneEvent):
            return AudioEndEvent(event.item_id, event.content_index, event.response_id)
        return None

    def _transcript_delta(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if isinstance(event, ResponseTextDeltaEvent | ResponseAudioTranscriptDeltaEvent):
            self._guardrails.on_delta(event.response_id, event.item_id, event.delta)
        return None

    def _transcript_done(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if isinstance(event, ResponseTextDoneEvent | ResponseAudioTranscriptDoneEvent):
            self._guardrails.on_item_end(event.response_id, event.item_id)
        return None

    def _error(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if not isinstance(event, RealtimeErrorEvent):
            return None
        error = event.error
        if error.code == ACTIVE_RESPONSE_CODE:
            return None  # our own response.create racing a response: the sequencer handles it
        return ErrorEvent(ServerError(error.message, code=error.code, event_id=error.event_id))

    async def _output_item_done(self, event: RealtimeServerEvent) -> None:
        if isinstance(event, ResponseOutputItemDoneEvent) and isinstance(
            event.item, RealtimeConversationItemFunctionCall
        ):
            await self._tools.start(event.item)

    async def _speech_started(self, event: RealtimeServerEvent) -> None:
        # Server VAD heard the user: stop playback and cut what was not heard. The server
        # cancels the response itself (turn_detection.interrupt_response defaults to true).
        try:
            await self._interrupter.interrupt(cancel=False)
        except TransportError:
            return  # the failed send already ended the session with its error
