"""The reader: pulls transport events and turns each server event into session effects.

:func:`pump` is the session's one reader task. For every server event :class:`Dispatcher` feeds
the sequencer, the history and the raw-event stream, then runs the handler for that event type
(a dict lookup, so the per-event cost does not grow with the number of types handled). Nothing
slow runs here: tool calls and guardrails start owned tasks, so a slow tool never stalls audio.
The transport's end (clean or failed) ends the session through :meth:`SessionCore.end`.
"""

from __future__ import annotations

import binascii
from collections.abc import Awaitable, Callable

from openai.types.realtime import (
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
from antiphon.realtime._core import SessionCore
from antiphon.realtime._guarding import GuardrailRunner
from antiphon.realtime._interrupt import interrupt
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
from antiphon.realtime.model import ServerEventReceived, TransportFailed, UnknownServerEvent
from antiphon.realtime.sequencer import ACTIVE_RESPONSE_CODE

__all__ = ["Dispatcher", "pump"]

Handler = Callable[[RealtimeServerEvent], "RealtimeSessionEvent | None"]
AsyncHandler = Callable[[RealtimeServerEvent], Awaitable[None]]

_SEQUENCER_TYPES = frozenset({"response.created", "response.done", "error"})
"""The only events the sequencer reacts to (see ``ResponseSequencer.on_server_event``)."""


async def pump(core: SessionCore, dispatcher: Dispatcher) -> None:
    """Read the transport until it ends, then end the session (with its error, if any)."""
    async for model_event in core.model.events():
        if isinstance(model_event, ServerEventReceived):
            await dispatcher.handle(model_event.event)
        elif isinstance(model_event, UnknownServerEvent):
            dispatcher.unknown(model_event)  # newer than our openai package: never fatal
        elif isinstance(model_event, TransportFailed):
            core.end(model_event.error)
            return
        else:
            core.end(None)  # a clean close (code 1000, or the one we asked for)
            return
    core.end(None)


class Dispatcher:
    """Maps server events to session effects for one session.

    Most handlers are plain functions returning the control event to queue (if any); only the
    two that must send or start tasks are coroutines. On the hot path (audio and transcript
    deltas) this saves a coroutine per event.
    """

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._tools = ToolCallRunner(core)
        self._guardrails = GuardrailRunner(core)
        self._raw = core.config.get("raw_model_events", False)
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

    async def handle(self, event: RealtimeServerEvent) -> None:
        """Apply one server event."""
        core = self._core
        kind = event.type
        if kind in _SEQUENCER_TYPES:
            core.sequencer.on_server_event(event)
        if self._raw:
            core.queue.offer(RawModelEvent(event))
        change = core.history.apply(event)
        if change is not None:
            if change.type == "history_updated":
                core.queue.offer(change)  # lossy: no need to go through the awaiting path
            else:
                await core.queue.put(change)
        handler = self._handlers.get(kind)
        if handler is not None:
            control = handler(event)
            if control is not None:
                await core.queue.put(control)
            return
        async_handler = self._async_handlers.get(kind)
        if async_handler is not None:
            await async_handler(event)

    def unknown(self, event: UnknownServerEvent) -> None:
        """An event type the installed ``openai`` package does not know: raw event only."""
        if self._raw:
            self._core.queue.offer(RawModelEvent(event))

    def _response_created(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if isinstance(event, ResponseCreatedEvent):
            return AgentStartEvent(self._core.agent, event.response.id)
        return None

    def _response_done(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if not isinstance(event, ResponseDoneEvent):
            return None
        response = event.response
        if response.id is not None:
            self._guardrails.forget(response.id)
        return AgentEndEvent(self._core.agent, response.id, response.status)

    def _audio_delta(self, event: RealtimeServerEvent) -> RealtimeSessionEvent | None:
        if not isinstance(event, ResponseAudioDeltaEvent):
            return None
        core = self._core
        if event.response_id == core.muted_response_id:
            return None  # audio of a response we cancelled: the listener must not hear it
        try:
            audio = binascii.a2b_base64(event.delta, strict_mode=True)
        except binascii.Error as exc:
            return ErrorEvent(TransportError(f"invalid base64 audio: {exc}", context=event.type))
        core.audio.on_audio(event.item_id, event.content_index, len(audio))
        core.queue.offer(AudioEvent(audio, event.item_id, event.content_index, event.response_id))
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
            await interrupt(self._core, cancel=False, background=True)
        except TransportError:
            return  # the failed send already ended the session with its error
