"""Harmony model text to engine events: the streaming parser plus item mapping.

Role: :class:`HarmonyTurn` feeds text chunks to :class:`HarmonyStreamParser`, maps each message
to one item (``analysis`` -> reasoning, ``commentary`` -> a ``commentary`` message, ``final`` or
no channel -> a ``final_answer`` message, a tool recipient -> a tool call carrying the raw
recipient) and keeps the exact text of the turn for replay. Shared by the harmony engine (text
from an upstream) and the scripted engine (text from a script). :class:`HarmonyChunkMapper` reads
that text, the finish reason and the usage out of ``/completions`` stream chunks. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from antiphon.engines._chat_events import checked_finish_reason, parse_usage
from antiphon.engines._http import JSONObject, as_list, as_object, as_str
from antiphon.engines.base import (
    EngineEvent,
    FinishReason,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    Phase,
    TurnFinished,
    Usage,
)
from antiphon.harmony.classifier import DeclaredTools, MessageKind, classify
from antiphon.harmony.messages import CALL, END, RETURN
from antiphon.harmony.parser import (
    ContentDelta,
    HarmonyEvent,
    HarmonyStreamParser,
    MessageEnd,
    MessageStart,
)
from antiphon.wire.ids import IdFactory

__all__ = ["HarmonyChunkMapper", "HarmonyTurn", "harmony_raw_text"]

# Classified against no tools at all: only "text or tool?" and the phase matter here; which
# tool a recipient names is the turn loop's question.
_NO_TOOLS: Final = DeclaredTools()
_TEXT_KINDS: Final = {MessageKind.REASONING, MessageKind.MESSAGE}


class HarmonyTurn:
    """One turn of harmony text in, engine events out. ``prefill`` is prompt-side header text."""

    def __init__(self, ids: IdFactory, *, prefill: str = "") -> None:
        self._ids = ids
        self._parser = HarmonyStreamParser()
        self._text: list[str] = []
        self._last_was_call = False
        self._last_stop: str | None = None
        self._open = False
        self._prefill_events = self.feed(prefill) if prefill else []

    def start(self) -> list[EngineEvent]:
        """Events the prefill produced (a forced call's item starts before any model text)."""
        events, self._prefill_events = self._prefill_events, []
        return events

    def feed(self, text: str) -> list[EngineEvent]:
        """Events completed by the next piece of model text."""
        self._text.append(text)
        return self._map(self._parser.feed(text))

    def finish(self, *, truncated: bool, usage: Usage | None) -> list[EngineEvent]:
        """End of the model's output: close the open item and report the turn."""
        events = self._map(self._parser.close())
        reason: FinishReason = "tool_calls" if self._last_was_call else "stop"
        if truncated:
            reason = "length"
        raw = harmony_raw_text(
            "".join(self._text), self._last_stop, self._last_was_call, truncated=truncated
        )
        events.append(TurnFinished(reason, usage, raw))
        return events

    def _map(self, parsed: Iterable[HarmonyEvent]) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for event in parsed:
            if isinstance(event, MessageStart):
                events.append(self._item(event))
                self._open = True
            elif isinstance(event, ContentDelta):
                events.append(ItemDelta(event.text))
            elif isinstance(event, MessageEnd) and self._open:
                events.append(ItemFinished())
                self._open = False
                self._last_stop = event.stop
        return events

    def _item(self, start: MessageStart) -> ItemStarted:
        header = start.header
        verdict = classify(header, _NO_TOOLS)
        self._last_was_call = verdict.kind not in _TEXT_KINDS
        if self._last_was_call:
            return ItemStarted(
                "tool_call",
                name=header.recipient,
                call_id=self._ids("call"),
                channel=header.channel,
                content_type=header.content_type,
            )
        if verdict.kind is MessageKind.REASONING:
            return ItemStarted("reasoning", channel=header.channel)
        phase: Phase = "commentary" if header.channel == "commentary" else "final_answer"
        return ItemStarted(
            "message", channel=header.channel, phase=phase, content_type=header.content_type
        )


class HarmonyChunkMapper:
    """Maps one ``/completions`` stream of harmony text to engine events.

    ``prefill`` is the prompt-side header of a forced call (see :class:`HarmonyTurn`). Its item
    opens with the first chunk, not before: a failure before the upstream's first byte then
    still comes before any event.
    """

    def __init__(self, ids: IdFactory, *, prefill: str = "") -> None:
        self._turn = HarmonyTurn(ids, prefill=prefill)
        self._reason: str | None = None
        self._usage: Usage | None = None

    def feed(self, chunk: JSONObject) -> list[EngineEvent]:
        """Events completed by one chunk (the prefill's with the first)."""
        events = self._turn.start()
        self._usage = parse_usage(chunk.get("usage")) or self._usage
        for raw in as_list(chunk.get("choices")):
            choice = as_object(raw) or {}
            self._reason = as_str(choice.get("finish_reason")) or self._reason
            if text := as_str(choice.get("text")):
                events += self._turn.feed(text)
        return events

    def finish(self) -> list[EngineEvent]:
        """The stream ended: close the open item and report the turn.

        Raises:
            UpstreamProtocolError: no ``finish_reason`` arrived, or it says the upstream failed.
        """
        reason = checked_finish_reason(self._reason)
        return self._turn.finish(truncated=reason == "length", usage=self._usage)


def harmony_raw_text(
    text: str, last_stop: str | None, last_was_call: bool, *, truncated: bool
) -> str:
    """The generated text as it is stored: ``<|return|>`` as ``<|end|>``, stop token restored.

    Upstreams strip the stop token that ended sampling; a complete turn gets it back
    (``<|call|>`` after a tool call, else ``<|end|>``), a truncated one is left as it was cut.
    """
    text = text.replace(RETURN, END)
    if text and not truncated and last_stop is None and not text.endswith((END, CALL)):
        text += CALL if last_was_call else END
    return text
