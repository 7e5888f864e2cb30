"""The events of the streaming harmony parser, and their assembly into complete messages.

Private: the names are re-exported by :mod:`antiphon.harmony.parser`, which documents the
guarantees the events carry (tiling, chunking independence). Plain data, no behaviour beyond
:func:`assemble_messages`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from antiphon.harmony.messages import HarmonyHeader, HarmonyMessage

__all__ = [
    "ContentDelta",
    "HarmonyEvent",
    "MessageEnd",
    "MessageStart",
    "ParsedMessage",
    "SkippedText",
    "assemble_messages",
]


@dataclass(frozen=True, slots=True)
class MessageStart:
    """A header was read to its ``<|message|>``: content follows. ``raw`` is its exact text."""

    header: HarmonyHeader
    raw: str


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """A piece of the open message's content (never empty)."""

    text: str


@dataclass(frozen=True, slots=True)
class MessageEnd:
    """The open message ended, by ``stop`` if a stop token ended it.

    ``stop`` is ``<|end|>``, ``<|call|>`` or ``<|return|>``; ``None`` means the stream ended or a
    ``<|start|>`` began the next message.
    """

    stop: str | None


@dataclass(frozen=True, slots=True)
class SkippedText:
    """Text outside any message: stray stop tokens, abandoned headers, long whitespace runs."""

    text: str


HarmonyEvent = MessageStart | ContentDelta | MessageEnd | SkippedText


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A complete message with its exact raw text and how it ended (``None``: not by a token)."""

    message: HarmonyMessage
    raw: str
    stop: str | None


def assemble_messages(events: Iterable[HarmonyEvent]) -> list[ParsedMessage]:
    """Fold parser events into complete messages; a message never ended is left out."""
    messages: list[ParsedMessage] = []
    start: MessageStart | None = None
    parts: list[str] = []
    for event in events:
        if isinstance(event, MessageStart):
            start, parts = event, []
        elif isinstance(event, ContentDelta):
            parts.append(event.text)
        elif isinstance(event, MessageEnd) and start is not None:
            content = "".join(parts)
            raw = start.raw + content + (event.stop or "")
            messages.append(ParsedMessage(HarmonyMessage(start.header, content), raw, event.stop))
            start = None
    return messages
