"""The streaming harmony text parser: model text in, message starts, content deltas and ends out.

Sans-I/O: :class:`HarmonyStreamParser` is fed the text chunks an upstream returns (special tokens
arrive as text) and returns events; it never raises on model output. What it guarantees:

* **Tiling.** Every character fed ends up in exactly one event: ``MessageStart.raw`` (the header
  text, ``<|start|>`` and ``<|message|>`` included), ``ContentDelta.text``, ``MessageEnd.stop`` or
  ``SkippedText.text`` (text outside any message). Joined in order they give back the input, so
  a message's exact raw text is ``start.raw + content + (end.stop or "")``.
* **Chunking independence.** After merging adjacent ``ContentDelta`` events (and adjacent
  ``SkippedText`` events), the events are identical for every way of splitting the same text.
  No empty ``ContentDelta`` is ever produced.
* **Early deltas.** Inside content the parser holds back only a tail that could begin
  ``<|end|>``, ``<|call|>``, ``<|return|>`` or ``<|start|>``; every other character leaves in the
  ``feed`` call that brought it. (At a message boundary it holds the few characters that decide
  whether a header or plain text follows.)

Stored text for prefix caching: the exact generated text of a turn is every event's raw text
joined; the caller then writes ``<|return|>`` as ``<|end|>`` and appends the stop token the
upstream stripped (the last message's ``MessageEnd.stop`` is ``None`` then).

Leniency: at a message boundary, text that starts (after whitespace) with ``<|channel|>``,
``<|constrain|>``, ``<|message|>`` or ``to=`` continues the header the prompt's
``<|start|>assistant`` began, and any other text is a message with the implied role and no channel;
whitespace between messages joins the next message (a run longer than ``max_header_chars`` is
skipped); a stray stop token is skipped; a header ended by a stop token is a message with empty
content; a header cut by ``<|start|>`` or by the end of the stream is skipped; a "header" longer
than ``max_header_chars`` is content after all; ``<|message|>``, ``<|channel|>`` and
``<|constrain|>`` inside content are plain text. At :meth:`~HarmonyStreamParser.close` an open
message ends with ``stop=None`` (upstreams strip the stop token), and a trailing partial special
token (``<|ca``: cut in transit) is skipped, while a lone ``<`` stays content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Final

from antiphon.exceptions import ProtocolError
from antiphon.harmony._events import (
    ContentDelta,
    HarmonyEvent,
    MessageEnd,
    MessageStart,
    ParsedMessage,
    SkippedText,
    assemble_messages,
)
from antiphon.harmony._header import parse_header
from antiphon.harmony.messages import (
    CALL,
    CHANNEL,
    CONSTRAIN,
    END,
    MESSAGE,
    RETURN,
    SPECIAL_TOKENS,
    START,
    HarmonyHeader,
)

__all__ = [
    "ContentDelta",
    "HarmonyEvent",
    "HarmonyStreamParser",
    "MessageEnd",
    "MessageStart",
    "ParsedMessage",
    "SkippedText",
    "assemble_messages",
    "parse_text",
]


_STOPS: Final = (END, CALL, RETURN)
_LONGEST: Final = max(len(token) for token in SPECIAL_TOKENS)
_TO: Final = "to="
# The tokens that act in each state; every other token is ordinary text there.
_CONTENT_BREAKS: Final = (*_STOPS, START)
_HEADER_BREAKS: Final = (MESSAGE, *_STOPS, START)
_BOUNDARY_MARKERS: Final = (START, *_STOPS, CHANNEL, CONSTRAIN, MESSAGE, _TO)


def _alternation(tokens: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(token) for token in tokens))


def _proper_prefixes(tokens: Iterable[str]) -> frozenset[str]:
    return frozenset(token[:size] for token in tokens for size in range(1, len(token)))


_CONTENT_BREAK: Final = _alternation(_CONTENT_BREAKS)
_HEADER_BREAK: Final = _alternation(_HEADER_BREAKS)
_CONTENT_PREFIXES: Final = _proper_prefixes(_CONTENT_BREAKS)
_HEADER_PREFIXES: Final = _proper_prefixes(_HEADER_BREAKS)
_BOUNDARY_PREFIXES: Final = _proper_prefixes(_BOUNDARY_MARKERS)
_NOTHING: Final[tuple[HarmonyEvent, ...]] = ()


def _held_from(text: str, prefixes: frozenset[str]) -> int:
    """Where a tail of ``text`` that could still grow into a token begins (``len(text)`` if none).

    Tokens hold ``<`` only in first place, so only the last ``<`` can begin such a tail.
    """
    at = text.rfind("<", max(0, len(text) - _LONGEST + 1))
    return at if at >= 0 and text[at:] in prefixes else len(text)


class _State(Enum):
    BOUNDARY = "between messages"
    HEADER = "in a header"
    CONTENT = "in content"
    CLOSED = "closed"


class HarmonyStreamParser:
    """Incremental parser of harmony model output; see the module docstring for its guarantees.

    ``role`` is the author the prompt implied (it ended with ``<|start|>assistant``); it is used
    for messages whose header names none. Feed chunks with :meth:`feed`, then call :meth:`close`
    once. Each call returns the events it completed (read-only; often the shared empty tuple).
    ``max_header_chars`` bounds the text held while a header is read: a longer one is content.
    """

    __slots__ = ("_buf", "_explicit", "_fast", "_max", "_role", "_state", "_ws_skip")

    def __init__(self, *, role: str = "assistant", max_header_chars: int = 512) -> None:
        self._role = role
        self._max = max_header_chars
        self._state = _State.BOUNDARY
        self._buf = ""  # text read but not yet turned into events
        self._explicit = False  # the header being read began with <|start|>
        self._ws_skip = False  # the current whitespace run at a boundary is too long to keep
        self._fast = False  # in content with nothing held back

    def feed(self, chunk: str) -> Sequence[HarmonyEvent]:
        """Parse the next chunk; return the events it completed."""
        # The fast path: most chunks are a few characters of content with no "<".
        if self._fast and "<" not in chunk and chunk:
            return (ContentDelta(chunk),)
        if self._state is _State.CLOSED:
            raise ProtocolError("HarmonyStreamParser.feed: expected an open stream, found closed")
        events: list[HarmonyEvent] = []
        rest = chunk
        while rest:
            if self._state is _State.CONTENT:
                rest = self._content(rest, events)
            elif self._state is _State.HEADER:
                rest = self._header(rest, events)
            else:
                rest = self._boundary(rest, events)
        return events or _NOTHING

    def close(self) -> Sequence[HarmonyEvent]:
        """End the stream: flush held text and end the open message. Later calls return nothing."""
        state, text = self._state, self._buf
        self._state, self._buf, self._fast = _State.CLOSED, "", False
        if state is _State.CONTENT:
            held: list[HarmonyEvent] = []
            if text:
                held.append(SkippedText(text) if text.startswith("<|") else ContentDelta(text))
            return (*held, MessageEnd(None))
        body = text.lstrip()
        if state is _State.BOUNDARY and body and not body.startswith("<|"):
            # Plain text too short to decide on ("to", "<"): it was a message after all.
            start = MessageStart(HarmonyHeader(role=self._role), "")
            return (start, ContentDelta(text), MessageEnd(None))
        return (SkippedText(text),) if text else _NOTHING

    def _enter(self, state: _State, *, explicit: bool = False) -> None:
        self._state, self._explicit, self._buf = state, explicit, ""
        self._fast = state is _State.CONTENT
        self._ws_skip = False

    def _content(self, rest: str, events: list[HarmonyEvent]) -> str:
        text = self._buf + rest
        found = _CONTENT_BREAK.search(text)
        if found is None:
            cut = _held_from(text, _CONTENT_PREFIXES)
            if cut:
                events.append(ContentDelta(text[:cut]))
            self._buf = text[cut:]
            self._fast = not self._buf
            return ""
        at, token = found.start(), found.group()
        if at:
            events.append(ContentDelta(text[:at]))
        if token == START:
            events.append(MessageEnd(None))
            self._enter(_State.HEADER, explicit=True)
            return text[at:]
        events.append(MessageEnd(token))
        self._enter(_State.BOUNDARY)
        return text[found.end() :]

    def _header(self, rest: str, events: list[HarmonyEvent]) -> str:
        floor = len(START) if self._explicit else 0
        text = self._buf + rest
        # A break cannot lie wholly in text already searched: resume a token's length back.
        found = _HEADER_BREAK.search(text, max(floor, len(self._buf) - _LONGEST + 1))
        end = found.start() if found else _held_from(text, _HEADER_PREFIXES)
        if end - floor > self._max:
            # Too long to be a header: it was content of a message with the implied role.
            events.append(MessageStart(HarmonyHeader(role=self._role), text[:floor]))
            self._enter(_State.CONTENT)
            return text[floor:]
        if found is None:
            self._buf = text
            return ""
        at, token = found.start(), found.group()
        if token == START:
            events.append(SkippedText(text[:at]))
            self._enter(_State.HEADER, explicit=True)
            return text[at:]
        role = None if self._explicit else self._role
        header = parse_header(text[floor:at], role=role, default_role=self._role)
        if token == MESSAGE:
            events.append(MessageStart(header, text[: found.end()]))
            self._enter(_State.CONTENT)
        else:
            events.extend((MessageStart(header, text[:at]), MessageEnd(token)))
            self._enter(_State.BOUNDARY)
        return text[found.end() :]

    def _boundary(self, rest: str, events: list[HarmonyEvent]) -> str:
        text = self._buf + rest
        body = text.lstrip()
        spaces = len(text) - len(body)
        if spaces and (self._ws_skip or spaces > self._max):
            events.append(SkippedText(text[:spaces]))
            self._ws_skip, text, spaces = True, body, 0
        marker = next((m for m in _BOUNDARY_MARKERS if body.startswith(m)), None)
        if marker is None and (not body or body in _BOUNDARY_PREFIXES):
            self._buf = text  # undecided: whitespace, or the start of a marker
            return ""
        if marker is None:
            events.append(MessageStart(HarmonyHeader(role=self._role), ""))
            self._enter(_State.CONTENT)
            return text
        if marker == START:
            if spaces:
                events.append(SkippedText(text[:spaces]))
            self._enter(_State.HEADER, explicit=True)
            return body
        if marker in _STOPS:
            events.append(SkippedText(text[: spaces + len(marker)]))
            self._enter(_State.BOUNDARY)
            return body[len(marker) :]
        self._enter(_State.HEADER)  # continues the header the prompt's <|start|>assistant began
        return text


def parse_text(text: str, *, role: str = "assistant") -> list[ParsedMessage]:
    """Parse a complete model output at once (the non-streaming path)."""
    parser = HarmonyStreamParser(role=role)
    return assemble_messages([*parser.feed(text), *parser.close()])
