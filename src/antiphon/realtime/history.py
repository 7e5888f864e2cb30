"""The session's local copy of the conversation: a bounded, ordered store fed by server events.

Pure (no I/O, no ``await``): :meth:`ConversationHistory.apply` takes one server event and returns
the history event to deliver, if any. The server is the single source of truth: items enter only
when the server reports them (``conversation.item.added/created/done/retrieved`` and
``response.output_item.added/done``), so a message the server rejected never appears here.

Transcripts grow in place: ``response.output_text.delta``,
``response.output_audio_transcript.delta`` and input-audio transcription deltas update the
matching content part and produce a ``history_updated`` event each time (the upstream SDK
updated silently; openai-agents #2940).

Items are *live*: the history owns its message items and grows their text in place, so the
item of an earlier ``history_added``/``history_updated`` event shows the latest text too (copy it,
e.g. ``item.model_copy(deep=True)``, to keep a snapshot). The event's own ``item`` from the
server is never mutated.

Bounds, documented because a session can run for hours: at most ``max_items`` items are kept, the
oldest forgotten first (the server keeps its own conversation); audio bytes are never stored, only
transcripts and text. One item costs its text plus a few hundred bytes of model overhead.
"""

from __future__ import annotations

from typing import Literal

from openai.types.realtime import (
    ConversationItem,
    ConversationItemAdded,
    ConversationItemCreatedEvent,
    ConversationItemDeletedEvent,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    RealtimeConversationItemAssistantMessage,
    RealtimeConversationItemSystemMessage,
    RealtimeConversationItemUserMessage,
    RealtimeServerEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
)
from openai.types.realtime.realtime_conversation_item_assistant_message import (
    Content as AssistantContent,
)
from openai.types.realtime.realtime_server_event import ConversationItemRetrieved

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.events import HistoryAddedEvent, HistoryUpdatedEvent

__all__ = ["DEFAULT_MAX_HISTORY_ITEMS", "ConversationHistory", "HistoryEvent"]

DEFAULT_MAX_HISTORY_ITEMS = 256
"""Items kept by default: generous for a conversation, bounded for a session that runs all day."""

HistoryEvent = HistoryAddedEvent | HistoryUpdatedEvent

_Message = (
    RealtimeConversationItemAssistantMessage
    | RealtimeConversationItemUserMessage
    | RealtimeConversationItemSystemMessage
)
_KINDS: dict[str, str] = {
    "conversation.item.added": "item",
    "conversation.item.created": "item",
    "conversation.item.done": "item",
    "conversation.item.retrieved": "item",
    "response.output_item.added": "item",
    "response.output_item.done": "item",
    "response.output_text.delta": "delta",
    "response.output_audio_transcript.delta": "delta",
    "conversation.item.input_audio_transcription.delta": "delta",
    "conversation.item.input_audio_transcription.completed": "transcript",
    "conversation.item.deleted": "deleted",
}
_ITEM_EVENTS = (
    ConversationItemAdded,
    ConversationItemCreatedEvent,
    ConversationItemDone,
    ConversationItemRetrieved,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
)


class ConversationHistory:
    """Ordered conversation items keyed by item id, bounded to ``max_items``."""

    __slots__ = ("_items", "_max_items")

    def __init__(self, max_items: int = DEFAULT_MAX_HISTORY_ITEMS) -> None:
        if max_items < 1:
            raise ConfigurationError(f"max_history_items must be at least 1, got {max_items}")
        self._max_items = max_items
        self._items: dict[str, ConversationItem] = {}

    @property
    def items(self) -> tuple[ConversationItem, ...]:
        """A snapshot of the history, oldest first."""
        return tuple(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def get(self, item_id: str) -> ConversationItem | None:
        """The current value of one item, or ``None`` when it is unknown or forgotten."""
        return self._items.get(item_id)

    def apply(self, event: RealtimeServerEvent) -> HistoryEvent | None:
        """Fold one server event into the history; return the event to deliver, if any."""
        # A lookup on the type string: most events (audio deltas) concern no item at all.
        kind = _KINDS.get(event.type)
        if kind is None:
            return None
        if kind == "item" and isinstance(event, _ITEM_EVENTS):
            return self._upsert(event.item)
        if isinstance(event, ResponseTextDeltaEvent):
            return self._append(event.item_id, event.content_index, "text", event.delta)
        if isinstance(event, ResponseAudioTranscriptDeltaEvent):
            return self._append(event.item_id, event.content_index, "transcript", event.delta)
        if isinstance(event, ConversationItemInputAudioTranscriptionDeltaEvent):
            index = event.content_index or 0
            return self._append(event.item_id, index, "transcript", event.delta or "")
        if isinstance(event, ConversationItemInputAudioTranscriptionCompletedEvent):
            return self._set_transcript(event.item_id, event.content_index, event.transcript)
        if isinstance(event, ConversationItemDeletedEvent) and self._items.pop(event.item_id, None):
            return HistoryUpdatedEvent(event.item_id, None)
        return None

    def _upsert(self, item: ConversationItem) -> HistoryEvent | None:
        item_id = item.id
        if item_id is None:
            return None  # an item without an id cannot be updated or deleted later
        owned = _own(item)
        previous = self._items.get(item_id)
        if previous is None:
            self._store(item_id, owned)
            return HistoryAddedEvent(owned)
        _keep_known_text(previous, owned)
        self._items[item_id] = owned
        return HistoryUpdatedEvent(item_id, owned)

    def _store(self, item_id: str, item: ConversationItem) -> None:
        self._items[item_id] = item
        if len(self._items) > self._max_items:
            del self._items[next(iter(self._items))]

    def _append(self, item_id: str, index: int, field: str, delta: str) -> HistoryEvent:
        item = self._items.get(item_id)
        if item is None:
            # A delta for an item the server never announced: start an assistant message so
            # the text is not lost (servers that skip ``output_item.added`` exist).
            item = RealtimeConversationItemAssistantMessage(
                id=item_id, type="message", role="assistant", status="in_progress", content=[]
            )
            _extend_part(item, index, field, delta)
            self._store(item_id, item)
            return HistoryAddedEvent(item)
        if isinstance(item, _Message):
            _extend_part(item, index, field, delta)
        return HistoryUpdatedEvent(item_id, item)

    def _set_transcript(self, item_id: str, index: int, transcript: str) -> HistoryEvent | None:
        item = self._items.get(item_id)
        if not isinstance(item, _Message):
            return None
        _extend_part(item, index, "transcript", transcript, replace=True)
        return HistoryUpdatedEvent(item_id, item)


def _extend_part(
    item: _Message, index: int, field: str, text: str, *, replace: bool = False
) -> None:
    """Extend (or replace) ``item.content[index].<field>`` in place with ``text``.

    In place on purpose: the history owns its message items (see :func:`_own`), and a copy per
    delta would cost more than everything else the session does for that event. Only assistant
    messages grow missing parts; a delta for a missing part of another message is ignored.
    """
    if isinstance(item, RealtimeConversationItemAssistantMessage):
        while len(item.content) <= index:
            part_type: Literal["output_text", "output_audio"] = (
                "output_text" if field == "text" else "output_audio"
            )
            item.content.append(AssistantContent(type=part_type))
    if index >= len(item.content):
        return
    part = item.content[index]
    setattr(part, field, text if replace else (getattr(part, field, None) or "") + text)


def _own(item: ConversationItem) -> ConversationItem:
    """The history's own copy of a message, without base64 audio (words, not sound).

    Copied so that growing it in place never touches the server event's item; other items are
    never mutated, so they are shared as they are.
    """
    if not isinstance(item, _Message):
        return item
    owned = item.model_copy(deep=True)
    for part in owned.content:
        if getattr(part, "audio", None) is not None:
            setattr(part, "audio", None)  # noqa: B010  # not every part type declares audio
    return owned


def _keep_known_text(previous: ConversationItem, new: ConversationItem) -> None:
    """Fill text the server's final copy (``new``, owned) leaves out from ``previous``."""
    if not isinstance(previous, _Message) or not isinstance(new, _Message):
        return
    for part, old in zip(new.content, previous.content, strict=False):
        for field in ("text", "transcript"):
            if getattr(part, field, None) is None and getattr(old, field, None):
                setattr(part, field, getattr(old, field))
