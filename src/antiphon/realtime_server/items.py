"""The items of one realtime conversation: ordered, bounded, and each with its Responses origin.

The list holds ``openai.types.realtime`` items in conversation order. Items the server produced
keep the Responses item they were made from (:meth:`ConversationItems.origin`): a code
interpreter call is shown to realtime clients as an ``mcp_call`` (the GA protocol has no code
interpreter item), but the engine must see it again as the call it was. Past ``max_items`` items
or ``max_history_bytes`` of JSON the oldest items are dropped, never the one just added.

Assistant audio (the voice pipeline records it with :meth:`ConversationItems.record_audio`) is a
timeline of spoken transcript pieces; ``conversation.item.truncate`` cuts an item to what had
been played by ``audio_end_ms``, so the model's history holds only what the user heard.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field

from openai.types.realtime import ConversationItem, RealtimeConversationItemAssistantMessage
from openai.types.realtime.realtime_conversation_item_assistant_message import Content

from antiphon.exceptions import InvalidRequestError

__all__ = ["AudioSpan", "ConversationItems"]


@dataclass(frozen=True, slots=True)
class AudioSpan:
    """One piece of spoken output: its transcript and how long its audio plays."""

    transcript: str
    duration_ms: int


@dataclass(slots=True)
class _Entry:
    item: ConversationItem
    size: int
    origin: Mapping[str, object] | None = None
    audio: dict[int, list[AudioSpan]] = field(default_factory=dict[int, list[AudioSpan]])
    cut_ms: int | None = None  # a truncation asked while the item was still being spoken


class ConversationItems:
    """The conversation's items (see the module docstring)."""

    def __init__(self, *, max_items: int, max_history_bytes: int) -> None:
        self._entries: list[_Entry] = []
        self._max_items = max_items
        self._max_bytes = max_history_bytes

    def __iter__(self):
        """The items, oldest first."""
        return (entry.item for entry in self._entries)

    def __len__(self) -> int:
        """How many items the conversation holds."""
        return len(self._entries)

    def origin(self, item_id: str | None) -> Mapping[str, object] | None:
        """The Responses item a server-produced item was made from, if any."""
        entry = self._find(item_id) if item_id else None
        return entry.origin if entry is not None else None

    def get(self, item_id: str, param: str = "item_id") -> ConversationItem:
        """The item ``item_id``; an ``item_not_found`` error naming ``param`` otherwise."""
        return self._entries[self.index(item_id, param)].item

    def has(self, item_id: str) -> bool:
        """Whether an item with this id is in the conversation."""
        return self._find(item_id) is not None

    def index(self, item_id: str, param: str) -> int:
        """The position of ``item_id``; an ``item_not_found`` error naming ``param`` otherwise."""
        for position, entry in enumerate(self._entries):
            if entry.item.id == item_id:
                return position
        raise InvalidRequestError(
            f"Item with item_id '{item_id}' not found.", param=param, code="item_not_found"
        )

    def insert(
        self,
        item: ConversationItem,
        after: str | None = None,
        origin: Mapping[str, object] | None = None,
    ) -> str | None:
        """Insert ``item`` after ``after`` (the end when None, the start for ``"root"``).

        Returns the id of the item now before it (None at the start).
        """
        if after is None:
            position = len(self._entries)
        elif after == "root":
            position = 0
        else:
            position = self.index(after, "previous_item_id") + 1
        entry = _Entry(item, _size(item), origin)
        self._entries.insert(position, entry)
        self._trim(keep=entry)
        position = self._entries.index(entry)
        return self._entries[position - 1].item.id if position > 0 else None

    def replace(self, item: ConversationItem, origin: Mapping[str, object] | None = None) -> None:
        """Put the finished version of an item in its place (no-op if it was dropped)."""
        entry = self._find(item.id)
        if entry is None:
            return
        entry.item, entry.size = item, _size(item)
        if origin is not None:
            entry.origin = origin
        if entry.cut_ms is not None and item.id is not None:
            cut, entry.cut_ms = entry.cut_ms, None
            with suppress(InvalidRequestError):  # it ended with nothing to cut (no audio part)
                self.truncate(item.id, 0, cut)
        self._trim(keep=entry)

    def delete(self, item_id: str) -> None:
        """Remove ``item_id``; an ``item_not_found`` error otherwise."""
        del self._entries[self.index(item_id, "item_id")]

    def record_audio(self, item_id: str, content_index: int, span: AudioSpan) -> None:
        """Note that a piece of an assistant item's content was spoken (the voice pipeline)."""
        entry = self._find(item_id)
        if entry is not None:
            entry.audio.setdefault(content_index, []).append(span)

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut an assistant item's content to what its audio had played by ``audio_end_ms``."""
        entry = self._entries[self.index(item_id, "item_id")]
        item = entry.item
        if not isinstance(item, RealtimeConversationItemAssistantMessage):
            raise InvalidRequestError(
                "Only assistant message items can be truncated.", param="item_id"
            )
        if audio_end_ms < 0:
            raise InvalidRequestError(
                "audio_end_ms must be 0 or more.", param="audio_end_ms", code="invalid_value"
            )
        if item.status == "in_progress" and content_index == 0 and entry.audio.get(0):
            # Still being spoken (the client heard the start and cut it): cut it when it ends.
            entry.cut_ms = min(audio_end_ms, sum(span.duration_ms for span in entry.audio[0]))
            return
        if not 0 <= content_index < len(item.content):
            raise InvalidRequestError(
                f"The item has no content part {content_index}.", param="content_index"
            )
        spans = entry.audio.get(content_index)
        if not spans:
            raise InvalidRequestError(
                "This content part has no audio to truncate (the session's output is text).",
                param="content_index",
            )
        total = sum(span.duration_ms for span in spans)
        if audio_end_ms > total:
            raise InvalidRequestError(
                f"audio_end_ms {audio_end_ms} is past the end of the audio ({total} ms).",
                param="audio_end_ms",
                code="invalid_value",
            )
        heard = _heard(spans, audio_end_ms)
        content = list(item.content)
        part = content[content_index]
        content[content_index] = Content(
            type=part.type, text=part.text and heard, transcript=heard, audio=None
        )
        entry.item = item.model_copy(update={"content": content})
        entry.audio[content_index] = [AudioSpan(heard, audio_end_ms)]
        entry.size = _size(entry.item)

    def _find(self, item_id: str | None) -> _Entry | None:
        return next((entry for entry in self._entries if entry.item.id == item_id), None)

    def _trim(self, keep: _Entry) -> None:
        total = sum(entry.size for entry in self._entries)
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_items or total > self._max_bytes
        ):
            victim = 1 if self._entries[0] is keep else 0
            total -= self._entries.pop(victim).size


def _size(item: ConversationItem) -> int:
    return len(item.model_dump_json(by_alias=True, exclude_unset=True))


def _heard(spans: list[AudioSpan], audio_end_ms: int) -> str:
    """The transcript of the spans played by ``audio_end_ms``.

    A span cut mid-way counts in proportion to the time it played (speech is even enough).
    """
    heard: list[str] = []
    elapsed = 0
    for span in spans:
        if elapsed + span.duration_ms <= audio_end_ms:
            heard.append(span.transcript)
        elif elapsed < audio_end_ms and span.duration_ms > 0:
            share = (audio_end_ms - elapsed) / span.duration_ms
            heard.append(span.transcript[: int(len(span.transcript) * share)])
        elapsed += span.duration_ms
    return "".join(heard)
