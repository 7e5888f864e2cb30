"""The sans-I/O core of one ``/v1/realtime`` connection: client events in, server events out.

A :class:`RealtimeConversation` holds one session (:mod:`~antiphon.realtime_server.session`),
the conversation items (:mod:`~antiphon.realtime_server.items`) and at most one active
response. It never awaits and does no I/O: the WebSocket adapter feeds it client frames
(:meth:`RealtimeConversation.receive`), drives the turn loop a ``response.create`` planned
(:attr:`Step.turn`, the same :class:`~antiphon.responses.turn.TurnLoop` as ``POST
/v1/responses``, so MCP tools and the code interpreter run on the server under the same
policies and limits) and feeds its event batches back (:meth:`RealtimeConversation.run_events`).

States: *idle*, or *responding* between ``response.created`` and ``response.done``. A
``response.create`` while responding is refused with ``conversation_already_has_active_response``,
a ``response.cancel`` while idle with ``response_cancel_not_active``, as OpenAI does. Every
refusal is an ``error`` event; the connection stays open. Text only for now: ``output_modalities``
must be ``["text"]`` and the ``input_audio_buffer.*`` events are refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Final, cast

from openai.types.realtime import (
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeSessionCreateRequest,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from openai.types.responses import ResponseStreamEvent
from pydantic import Field, TypeAdapter, ValidationError

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server._responses import ResponsePlanner
from antiphon.realtime_server.errors import error_event, short_id, validation_error
from antiphon.realtime_server.item_events import ItemEvents
from antiphon.realtime_server.items import ConversationItems
from antiphon.realtime_server.listening import Heard, Listening
from antiphon.realtime_server.responder import Responder
from antiphon.realtime_server.session import RealtimeSession, take_code_tools
from antiphon.realtime_server.translate import Outgoing
from antiphon.realtime_server.voice import SpeakJob, TranscribeJob
from antiphon.responses.catalog import ServedModel
from antiphon.responses.plan import TurnLimits
from antiphon.responses.runtime import ToolRuntime
from antiphon.responses.turn import TurnLoop
from antiphon.speech.base import SpeechPipeline

__all__ = ["CLIENT_EVENTS", "RealtimeConversation", "Step", "error_event", "short_id"]

CLIENT_EVENTS: TypeAdapter[RealtimeClientEvent] = TypeAdapter(
    Annotated[RealtimeClientEvent, Field(discriminator="type")]
)
"""Validates one client frame against the official GA client event union."""

DEFAULT_MAX_ITEMS: Final = 512
DEFAULT_MAX_HISTORY_BYTES: Final = 4 * 2**20


@dataclass(slots=True)
class Step:
    """What the adapter does after feeding the core one client frame.

    Send ``events`` in order; then run ``turn`` when it is set (feed its batches to
    :meth:`RealtimeConversation.run_events` with ``response_id``), or cancel the running turn
    when ``cancel`` is true (and feed :meth:`RealtimeConversation.cancelled`).
    """

    events: list[RealtimeServerEvent] = field(default_factory=list[RealtimeServerEvent])
    turn: TurnLoop | None = None
    response_id: str = ""
    cancel: bool = False
    #: Committed utterances to transcribe (feed :meth:`RealtimeConversation.transcribed`).
    transcribe: list[TranscribeJob] = field(default_factory=list[TranscribeJob])
    #: Utterances likely to be committed as they are: their transcription may start early (a
    #: committed job with the same item and audio takes its result).
    early: list[TranscribeJob] = field(default_factory=list[TranscribeJob])


class RealtimeConversation:
    """One connection's session, conversation and active response; feed it, send what it returns.

    ``model`` is the name the client asked for and ``served`` its engine; ``runtime`` the
    operator's server-side tools; ``limits`` bound each response as for ``POST /v1/responses``.
    ``session`` (an ephemeral key's, say) is applied as a ``session.update`` would be, without
    an event: ``session.created`` shows it; an unsupported one raises
    :class:`~antiphon.exceptions.InvalidRequestError` naming the field. ``ids`` makes item,
    response and event ids (random by default; tests inject a sequence).
    """

    def __init__(
        self,
        model: str,
        served: ServedModel,
        *,
        runtime: ToolRuntime | None = None,
        limits: TurnLimits | None = None,
        session: RealtimeSessionCreateRequest | None = None,
        speech: SpeechPipeline | None = None,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_history_bytes: int = DEFAULT_MAX_HISTORY_BYTES,
        ids: Callable[[str], str] = short_id,
        clock: Callable[[], float] = time.time,
    ) -> None:
        runtime = runtime or ToolRuntime()
        self._ids = ids
        self._items = ConversationItems(max_items=max_items, max_history_bytes=max_history_bytes)
        self._session = RealtimeSession(model, runtime.check, speaks=speech is not None)
        self._listening = Listening(speech, self._items, ids) if speech is not None else None
        self._item_events = ItemEvents(self._items, ids)
        planner = ResponsePlanner(
            model, served, runtime, self._session, self._items, limits or TurnLimits(), ids, clock
        )
        self._planner = planner
        self._responder = Responder(planner)
        if session is not None:
            self._session.update(session, {})

    @property
    def responding(self) -> bool:
        """True between ``response.created`` and ``response.done``."""
        return self._responder.active is not None

    @property
    def active_response_id(self) -> str | None:
        """The id of the active response, or None when idle."""
        return self._responder.active.response_id if self._responder.active is not None else None

    @property
    def items(self) -> ConversationItems:
        """The conversation items, oldest first."""
        return self._items

    # -- client side ---------------------------------------------------------------------------

    def open(self) -> list[RealtimeServerEvent]:
        """The events the server sends as the connection opens: ``session.created``."""
        return [self._planner.session_event("session.created")]

    def receive(self, frame: str | bytes) -> Step:
        """Handle one client frame; a malformed or refused event is an ``error`` event."""
        if isinstance(frame, bytes):
            message = "Binary frames are not supported; send JSON text."
            return Step([self._error(message, None, code="invalid_value")])
        try:
            raw: object = json.loads(frame)
        except ValueError:
            return Step([self._error("The frame is not valid JSON.", None, code="invalid_json")])
        if not isinstance(raw, dict):
            return Step(
                [self._error("A client event is a JSON object.", None, code="invalid_json")]
            )
        fields = cast(dict[str, object], raw)
        given = fields.get("event_id")
        client_id = given if isinstance(given, str) else None
        code_tools = take_code_tools(fields)
        try:
            event = CLIENT_EVENTS.validate_python(raw)
        except ValidationError as exc:
            return Step([validation_error(exc, client_id, self._ids)])
        try:
            return self._dispatch(event, code_tools)
        except InvalidRequestError as exc:
            return Step([self._error(exc.message, client_id, param=exc.param, code=exc.code)])

    def _dispatch(
        self, event: RealtimeClientEvent, code_tools: Mapping[int, Mapping[str, object]]
    ) -> Step:
        if isinstance(event, SessionUpdateEvent):
            if not isinstance(event.session, RealtimeSessionCreateRequest):
                raise InvalidRequestError(
                    "Transcription sessions are not supported; use session.type 'realtime'.",
                    param="session.type",
                )
            self._session.update(event.session, code_tools)
            return Step([self._planner.session_event("session.updated")])
        if isinstance(event, ConversationItemCreateEvent):
            return Step(self._item_events.create(event))
        if isinstance(event, ConversationItemRetrieveEvent):
            return Step([self._item_events.retrieve(event)])
        if isinstance(event, ConversationItemDeleteEvent):
            return Step([self._item_events.delete(event)])
        if isinstance(event, ConversationItemTruncateEvent):
            return Step([self._item_events.truncate(event)])
        if isinstance(event, ResponseCreateEvent):
            return self._response_create(event, code_tools)
        if isinstance(event, ResponseCancelEvent):
            return self._response_cancel(event)
        if self._listening is not None:
            return self._audio_event(self._listening, event)
        # What is left is audio: input_audio_buffer.* and output_audio_buffer.clear.
        raise InvalidRequestError(
            f"{event.type} is not supported: this server has no speech pipeline configured "
            "(text modality only).",
            param="type",
            code="unsupported_event",
        )

    def _audio_event(self, listening: Listening, event: RealtimeClientEvent) -> Step:
        voice = self._session.voice
        if isinstance(event, InputAudioBufferAppendEvent):
            return self._heard(listening.append(event.audio, voice))
        if isinstance(event, InputAudioBufferCommitEvent):
            return self._heard(listening.commit(voice))
        if isinstance(event, InputAudioBufferClearEvent):
            return Step(listening.clear())
        raise InvalidRequestError(
            f"{event.type} is for WebRTC connections; over a WebSocket the client owns playback "
            "(send conversation.item.truncate to say what was heard).",
            param="type",
            code="unsupported_event",
        )

    def _heard(self, heard: Heard) -> Step:
        step = Step(heard.events, transcribe=heard.transcribe, early=heard.early)
        if heard.interrupt and self._responder.active is not None:
            step.cancel = True  # the user spoke over the answer (interrupt_response)
        if heard.respond:
            self._respond(step)
        return step

    def _respond(self, step: Step) -> None:
        """Start the response server VAD asks for, unless one is running."""
        if self._responder.active is not None:
            return
        planned = self._responder.create(ResponseCreateEvent(type="response.create"), {})
        step.events += planned.events
        step.turn, step.response_id = planned.turn, planned.translator.response_id

    # -- speech side ---------------------------------------------------------------------------

    def transcribed(self, job: TranscribeJob, text: str) -> Step:
        """The transcript of a committed utterance (and the response it starts, if any)."""
        assert self._listening is not None
        try:
            return self._heard(self._listening.transcribed(job, text, self._session.voice))
        except InvalidRequestError as exc:  # the planned response cannot run
            return Step([self._error(exc.message, None, param=exc.param, code=exc.code)])

    def transcription_failed(self, job: TranscribeJob, message: str) -> list[RealtimeServerEvent]:
        """The transcriber failed on ``job``: a failed transcription, the session goes on."""
        assert self._listening is not None
        return self._listening.transcription_failed(job, message)

    def audio_delta(self, job: SpeakJob, pcm: bytes) -> RealtimeServerEvent | None:
        """The event for a piece of spoken answer (PCM16, 24 kHz); None once it is over."""
        if self._listening is None or not self._responder.is_current(job.response_id):
            return None
        return self._listening.audio_delta(job, pcm, self._session.voice)

    def spoken(self, job: SpeakJob, duration_ms: int) -> None:
        """A sentence went out as ``duration_ms`` of audio."""
        if self._listening is not None:
            self._listening.spoken(job, duration_ms)

    def speech_failed(self, job: SpeakJob, message: str) -> RealtimeServerEvent:
        """The synthesizer failed on a sentence: an ``error``; the transcript still goes out."""
        return error_event(
            f"Speech synthesis failed: {message}",
            code="speech_synthesis_failed",
            ids=self._ids,
        )

    def _response_create(
        self, event: ResponseCreateEvent, code_tools: Mapping[int, Mapping[str, object]]
    ) -> Step:
        planned = self._responder.create(event, code_tools)
        return Step(planned.events, turn=planned.turn, response_id=planned.translator.response_id)

    def _response_cancel(self, event: ResponseCancelEvent) -> Step:
        self._responder.check_cancel(event)
        return Step(cancel=True)

    # -- run side ------------------------------------------------------------------------------

    def run_events(self, response_id: str, batch: list[ResponseStreamEvent]) -> list[Outgoing]:
        """The server events for one batch of the run of ``response_id`` (a late one: none)."""
        return self._responder.run_events(response_id, batch)

    def failed(self, response_id: str, message: str) -> list[Outgoing]:
        """The run ended without its terminal event (it raised): the response ends ``failed``."""
        return self._responder.failed(response_id, message)

    def cancelled(self, response_id: str) -> list[Outgoing]:
        """The run was cancelled (``response.cancel``, or the user spoke over it)."""
        return self._responder.cancelled(response_id)

    def _error(
        self,
        message: str,
        client_event_id: str | None,
        *,
        param: str | None = None,
        code: str = "invalid_request",
    ) -> RealtimeServerEvent:
        return error_event(
            message, code=code, param=param, client_event_id=client_event_id, ids=self._ids
        )
