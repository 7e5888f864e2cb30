"""The events a :class:`~antiphon.realtime.RealtimeSession` delivers to the application.

Each event is a frozen, slotted dataclass with a ``type`` literal, so ``match event.type`` (or
``isinstance``) narrows :data:`RealtimeSessionEvent` exhaustively. Events carry the official
``openai.types.realtime`` models where they expose wire data (items, raw server events) and never
hold a reference to the session. This module has no behaviour: the session builds these values,
the application reads them.

Two families, which the event queue treats differently (see ``session`` for the policy):

- *lossy* events (:class:`AudioEvent`, :class:`HistoryUpdatedEvent`, :class:`RawModelEvent`) are
  frequent and either replayable from ``session.history`` or stale once late; past the queue limit
  they are dropped and counted;
- every other event is a *control* event and is never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from openai.types.realtime import ConversationItem, RealtimeServerEvent

from antiphon.realtime.model import UnknownServerEvent

if TYPE_CHECKING:
    from antiphon.realtime.agent import RealtimeAgent

__all__ = [
    "AgentEndEvent",
    "AgentStartEvent",
    "AudioEndEvent",
    "AudioEvent",
    "AudioInterruptedEvent",
    "ErrorEvent",
    "GuardrailTrippedEvent",
    "HandoffEvent",
    "HistoryAddedEvent",
    "HistoryUpdatedEvent",
    "LOSSY_EVENT_TYPES",
    "RawModelEvent",
    "RealtimeSessionEvent",
    "ToolEndEvent",
    "ToolStartEvent",
]


@dataclass(frozen=True, slots=True)
class AgentStartEvent:
    """A response began (``response.created``) while ``agent`` was the current agent."""

    agent: RealtimeAgent
    response_id: str | None
    type: Literal["agent_start"] = field(default="agent_start", init=False)


@dataclass(frozen=True, slots=True)
class AgentEndEvent:
    """A response finished (``response.done``); ``status`` is the server's response status."""

    agent: RealtimeAgent
    response_id: str | None
    status: str | None
    type: Literal["agent_end"] = field(default="agent_end", init=False)


@dataclass(frozen=True, slots=True)
class HandoffEvent:
    """The session switched from one agent to another (already applied on the server)."""

    from_agent: RealtimeAgent
    to_agent: RealtimeAgent
    call_id: str
    type: Literal["handoff"] = field(default="handoff", init=False)


@dataclass(frozen=True, slots=True)
class ToolStartEvent:
    """A function tool is about to run for ``call_id`` with the model's JSON ``arguments``."""

    agent: RealtimeAgent
    tool_name: str
    call_id: str
    arguments: str
    type: Literal["tool_start"] = field(default="tool_start", init=False)


@dataclass(frozen=True, slots=True)
class ToolEndEvent:
    """A tool call was answered; ``output`` is exactly what the model received.

    ``error`` is set when the tool failed (raised, timed out, unknown name); the model then
    received an error message it can read, and an :class:`ErrorEvent` follows.
    """

    agent: RealtimeAgent
    tool_name: str
    call_id: str
    output: str
    error: BaseException | None = None
    type: Literal["tool_end"] = field(default="tool_end", init=False)


@dataclass(frozen=True, slots=True)
class AudioEvent:
    """A chunk of output audio, decoded from base64 (PCM16 24 kHz mono by default)."""

    audio: bytes
    item_id: str
    content_index: int
    response_id: str
    type: Literal["audio"] = field(default="audio", init=False)


@dataclass(frozen=True, slots=True)
class AudioEndEvent:
    """The server finished sending audio for one content part."""

    item_id: str
    content_index: int
    response_id: str
    type: Literal["audio_end"] = field(default="audio_end", init=False)


@dataclass(frozen=True, slots=True)
class AudioInterruptedEvent:
    """Playback must stop: the audio item was truncated at ``audio_end_ms`` (or just stopped)."""

    item_id: str
    content_index: int
    audio_end_ms: int
    type: Literal["audio_interrupted"] = field(default="audio_interrupted", init=False)


@dataclass(frozen=True, slots=True)
class HistoryAddedEvent:
    """An item joined the session history (in the order the server reported it)."""

    item: ConversationItem
    type: Literal["history_added"] = field(default="history_added", init=False)


@dataclass(frozen=True, slots=True)
class HistoryUpdatedEvent:
    """An item of the history changed (a transcript grew, the item completed, ...).

    ``item`` is the new value, or ``None`` when the server deleted the item. ``session.history``
    always holds the current state, so a dropped update loses nothing but the notification.
    """

    item_id: str
    item: ConversationItem | None
    type: Literal["history_updated"] = field(default="history_updated", init=False)


@dataclass(frozen=True, slots=True)
class GuardrailTrippedEvent:
    """An output guardrail tripped on ``transcript``; the response was cancelled."""

    guardrail_names: tuple[str, ...]
    transcript: str
    response_id: str | None
    item_id: str
    type: Literal["guardrail_tripped"] = field(default="guardrail_tripped", init=False)


@dataclass(frozen=True, slots=True)
class RawModelEvent:
    """A server event as the transport decoded it (for features the SDK lacks; opt-in).

    ``event`` is the validated official model, or an :class:`UnknownServerEvent` carrying the
    JSON payload of a type the installed ``openai`` package does not know yet.
    """

    event: RealtimeServerEvent | UnknownServerEvent
    type: Literal["raw_model_event"] = field(default="raw_model_event", init=False)


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Something failed; ``error`` is a typed antiphon exception (``ServerError``, ...)."""

    error: BaseException
    type: Literal["error"] = field(default="error", init=False)


RealtimeSessionEvent = (
    AgentStartEvent
    | AgentEndEvent
    | HandoffEvent
    | ToolStartEvent
    | ToolEndEvent
    | AudioEvent
    | AudioEndEvent
    | AudioInterruptedEvent
    | HistoryAddedEvent
    | HistoryUpdatedEvent
    | GuardrailTrippedEvent
    | RawModelEvent
    | ErrorEvent
)
"""Every event a session can deliver."""

LOSSY_EVENT_TYPES: frozenset[str] = frozenset({"audio", "history_updated", "raw_model_event"})
"""Event types the queue may drop (and count) when the application falls behind."""
