"""Chat-completion stream chunks to engine events: a sans-I/O state machine.

Role: :class:`ChatChunkMapper` is fed decoded ``chat.completion.chunk`` objects and returns
engine events. It is lenient where servers differ: reasoning arrives as ``reasoning_content``
(vLLM, SGLang, llama.cpp, DeepSeek) or ``reasoning`` (newer vLLM, Ollama, OpenRouter); tool calls
may lack ``index`` or ``id``, repeat ``name`` in later deltas, or arrive whole in one chunk
(Ollama); role-only and empty deltas carry nothing. Items switch when the kind of text changes.

Parallel tool calls stream in index order: a call closes when the next index begins, which is
how every known server sends them. A server that interleaves argument pieces of two calls gets
an :class:`~antiphon.UpstreamProtocolError` rather than silently corrupted arguments.

A ``python`` call (the code interpreter) carries ``{"code": ...}`` arguments, but its item's text
must be the code itself: its arguments are held and the code goes out, in one delta, when the
call closes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from antiphon.engines._http import JSONObject, as_int, as_list, as_object, as_str
from antiphon.engines.base import (
    EngineEvent,
    FinishReason,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    TurnFinished,
    Usage,
)
from antiphon.exceptions import UpstreamProtocolError
from antiphon.wire.ids import IdFactory

__all__ = ["ChatChunkMapper", "checked_finish_reason", "completion_as_chunk", "parse_usage"]

_REASONS: Final[Mapping[str, FinishReason]] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
# Finish reasons that mean the upstream gave up on the request (vLLM, SGLang).
_FAILED: Final = frozenset({"abort", "error"})


@dataclass(slots=True)
class _Call:
    call_id: str | None
    name: str | None = None
    pending: str = ""  # arguments that arrived before the name
    started: bool = False
    closed: bool = False
    # A ``python`` call's arguments are ``{"code": ...}``: held whole, the code is sent at close.
    code_json: str | None = None


class ChatChunkMapper:
    """Maps one chat stream to engine events; :meth:`finish` ends it with ``TurnFinished``."""

    def __init__(self, recipients: Mapping[str, str], ids: IdFactory) -> None:
        self._recipients = recipients
        self._ids = ids
        self._open: str | int | None = None  # "reasoning", "message" or a tool-call index
        self._calls: dict[int, _Call] = {}
        self._reason: str | None = None
        self._usage: Usage | None = None

    def feed(self, chunk: JSONObject) -> list[EngineEvent]:
        """Events completed by one chunk."""
        events: list[EngineEvent] = []
        if (usage := parse_usage(chunk.get("usage"))) is not None:
            self._usage = usage
        for raw in as_list(chunk.get("choices")):
            choice = as_object(raw) or {}
            if as_int(choice.get("index")) not in (None, 0):
                continue  # antiphon never asks for n > 1
            delta = as_object(choice.get("delta")) or {}
            # vLLM in transition sends both keys with the same text: take one, never both.
            reasoning = as_str(delta.get("reasoning_content")) or as_str(delta.get("reasoning"))
            if reasoning:
                self._text("reasoning", reasoning, events)
            if content := as_str(delta.get("content")):
                self._text("message", content, events)
            for call in as_list(delta.get("tool_calls")):
                self._tool_delta(as_object(call) or {}, events)
            if reason := as_str(choice.get("finish_reason")):
                self._reason = reason
        return events

    def finish(self) -> list[EngineEvent]:
        """The stream ended: close what is open, flush buffered calls, report the turn."""
        ended = checked_finish_reason(self._reason)
        events: list[EngineEvent] = []
        self._close(events)
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.started:
                self._start_call(index, call, events)
                self._close(events)
        reason = _REASONS.get(ended, "stop")
        if reason == "stop" and self._calls:
            reason = "tool_calls"  # Ollama and some templates say "stop" after tool calls
        events.append(TurnFinished(reason, self._usage))
        return events

    def _text(self, kind: str, text: str, events: list[EngineEvent]) -> None:
        if self._open != kind:
            self._close(events)
            events.append(ItemStarted("reasoning" if kind == "reasoning" else "message"))
            self._open = kind
        events.append(ItemDelta(text))

    def _tool_delta(self, delta: JSONObject, events: list[EngineEvent]) -> None:
        call_id = as_str(delta.get("id")) or None
        index = self._index(as_int(delta.get("index")), call_id)
        call = self._calls.setdefault(index, _Call(call_id))
        if call.closed:
            raise UpstreamProtocolError(f"tool call {index} continued after a later one began")
        function = as_object(delta.get("function")) or {}
        call.call_id = call.call_id or call_id
        call.name = call.name or as_str(function.get("name")) or None
        arguments = function.get("arguments")
        text = (
            arguments if isinstance(arguments, str) else json.dumps(arguments) if arguments else ""
        )
        if call.started:
            if call.code_json is not None:
                call.code_json += text
            elif text:
                events.append(ItemDelta(text))
            return
        call.pending += text
        if call.name is not None:
            self._close(events)
            self._start_call(index, call, events)

    def _index(self, index: int | None, call_id: str | None) -> int:
        if index is not None:
            return index
        # No index (older Ollama): a new id starts a new call, anything else continues the last.
        last = max(self._calls, default=-1)
        if last < 0 or (call_id is not None and self._calls[last].call_id not in (None, call_id)):
            return last + 1
        return last

    def _start_call(self, index: int, call: _Call, events: list[EngineEvent]) -> None:
        if call.name is None:
            raise UpstreamProtocolError(f"tool call {index} never received a name")
        call.call_id = call.call_id or self._ids("call")
        call.started = True
        recipient = self._recipients.get(call.name, call.name)
        events.append(ItemStarted("tool_call", name=recipient, call_id=call.call_id))
        if recipient == "python":
            call.code_json = ""
        if call.code_json is not None:
            call.code_json += call.pending
        elif call.pending:
            events.append(ItemDelta(call.pending))
        call.pending = ""
        self._open = index

    def _close(self, events: list[EngineEvent]) -> None:
        if self._open is None:
            return
        if isinstance(self._open, int):
            call = self._calls[self._open]
            call.closed = True
            if call.code_json:
                events.append(ItemDelta(_python_code(call.code_json)))
        events.append(ItemFinished())
        self._open = None


def completion_as_chunk(completion: JSONObject) -> JSONObject:
    """An unstreamed ``chat.completion`` as the one chunk that would have carried all of it.

    Each choice's ``message`` becomes its ``delta`` and each tool call gets the ``index`` that
    streamed calls carry, so :class:`ChatChunkMapper` reads both forms the same way.
    """
    choices: list[object] = []
    for raw in as_list(completion.get("choices")):
        choice = as_object(raw) or {}
        delta = dict(as_object(choice.get("message")) or {})
        delta["tool_calls"] = [
            {**(as_object(call) or {}), "index": index}
            for index, call in enumerate(as_list(delta.get("tool_calls")))
        ]
        choices.append({**choice, "delta": delta})
    return {**completion, "choices": choices}


def _python_code(arguments: str) -> str:
    """The code of a chat ``python`` call: ``{"code": ...}``, or raw code some models send."""
    try:
        value: object = json.loads(arguments)
    except json.JSONDecodeError:
        return arguments
    code = (as_object(value) or {}).get("code")
    return code if isinstance(code, str) else arguments


def checked_finish_reason(reason: str | None) -> str:
    """The ``finish_reason`` that ended a stream; raises when there was none or it was a failure.

    Raises:
        UpstreamProtocolError: the body ended before any ``finish_reason``, or the upstream gave
            up on the request (``abort``, ``error``).
    """
    if reason is None:
        raise UpstreamProtocolError("the upstream stream ended before a finish_reason")
    if reason in _FAILED:
        raise UpstreamProtocolError(f"the upstream ended the turn with {reason!r}")
    return reason


def parse_usage(value: object) -> Usage | None:
    """An OpenAI ``usage`` object (chat or completions) as :class:`Usage`."""
    usage = as_object(value)
    if usage is None:
        return None
    prompt = as_object(usage.get("prompt_tokens_details")) or {}
    completion = as_object(usage.get("completion_tokens_details")) or {}
    return Usage(
        input_tokens=as_int(usage.get("prompt_tokens")) or 0,
        output_tokens=as_int(usage.get("completion_tokens")) or 0,
        reasoning_tokens=as_int(completion.get("reasoning_tokens")) or 0,
        cached_tokens=as_int(prompt.get("cached_tokens")) or 0,
    )
