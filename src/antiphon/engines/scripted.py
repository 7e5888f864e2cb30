"""The scripted engine: deterministic model turns for tests and the offline demo.

A :class:`Script` is a list of :class:`ScriptedTurn`; each call to :meth:`ScriptedEngine.stream`
plays the first turn not yet used whose rule (``when``) matches the request's last input item
(turns marked ``repeat`` are never used up). A turn is harmony text (parsed by the same code as
the harmony engine, so scripts exercise the real parser) or a list of items; text is cut into
chunks by the script's :class:`Chunking`. The JSON file format is documented in
``docs/scripted-engine.md`` and read by :func:`parse_script` / :func:`load_script`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator
from pathlib import Path

from antiphon.engines._harmony_events import HarmonyTurn
from antiphon.engines._script_json import parse_script
from antiphon.engines._script_model import (
    Chunking,
    Script,
    ScriptedFailure,
    ScriptedItem,
    ScriptedTurn,
    TurnRule,
)
from antiphon.engines.base import (
    EngineEvent,
    EngineRequest,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    TurnFinished,
)
from antiphon.exceptions import (
    EngineError,
    ScriptExhausted,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antiphon.wire.ids import IdFactory, random_id

__all__ = [
    "Chunking",
    "Script",
    "ScriptedEngine",
    "ScriptedFailure",
    "ScriptedItem",
    "ScriptedTurn",
    "TurnRule",
    "load_script",
    "parse_script",
]


def load_script(path: str | Path) -> Script:
    """A script from a JSON file (format: ``docs/scripted-engine.md``)."""
    return parse_script(Path(path).read_text(encoding="utf-8"))


class ScriptedEngine:
    """An :class:`~antiphon.engines.base.Engine` that plays a :class:`Script`."""

    def __init__(self, script: Script, *, ids: IdFactory = random_id) -> None:
        self._script = script
        self._used: set[int] = set()
        self._random = random.Random(script.chunking.seed)
        self._ids = ids

    @property
    def name(self) -> str:
        """``"scripted"``."""
        return "scripted"

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """Play the next matching turn; raises :class:`~antiphon.ScriptExhausted` if none."""
        turn = self._select(request)
        events = self._harmony(turn) if turn.harmony is not None else self._items(turn)
        for count, event in enumerate(events):
            if turn.fail is not None and count == turn.fail.after_events:
                await _fail(turn.fail)
            yield event
            await asyncio.sleep(0)  # a real upstream yields to the loop between chunks
        if turn.fail is not None:
            await _fail(turn.fail)

    async def aclose(self) -> None:
        """Nothing to release."""

    def _select(self, request: EngineRequest) -> ScriptedTurn:
        for index, turn in enumerate(self._script.turns):
            if index in self._used or (turn.when is not None and not turn.when.matches(request)):
                continue
            if not turn.repeat:
                self._used.add(index)
            return turn
        raise ScriptExhausted("no scripted turn left that matches the request")

    def _chunks(self, text: str) -> list[str]:
        chunking = self._script.chunking
        pieces: list[str] = []
        at = 0
        while at < len(text):
            size = chunking.size if chunking.mode == "fixed" else self._random.randint(1, 4)
            pieces.append(text[at : at + size])
            at += size
        return pieces

    def _harmony(self, turn: ScriptedTurn) -> list[EngineEvent]:
        harmony = HarmonyTurn(self._ids)
        events = [
            event for piece in self._chunks(turn.harmony or "") for event in harmony.feed(piece)
        ]
        truncated = turn.finish_reason == "length"
        return events + harmony.finish(truncated=truncated, usage=turn.usage)

    def _items(self, turn: ScriptedTurn) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for item in turn.items:
            events.append(_started(item, self._ids))
            events += [ItemDelta(piece) for piece in self._chunks(item.text)]
            events.append(ItemFinished())
        called = any(item.kind == "tool_call" for item in turn.items)
        reason = turn.finish_reason or ("tool_calls" if called else "stop")
        events.append(TurnFinished(reason, turn.usage))
        return events


def _started(item: ScriptedItem, ids: IdFactory) -> ItemStarted:
    if item.kind == "tool_call":
        return ItemStarted(
            "tool_call", name=item.name, call_id=item.call_id or ids("call"), channel="commentary"
        )
    if item.kind == "reasoning":
        return ItemStarted("reasoning", channel="analysis")
    channel = "commentary" if item.phase == "commentary" else "final"
    return ItemStarted("message", channel=channel, phase=item.phase)


async def _fail(failure: ScriptedFailure) -> None:
    errors: dict[str, EngineError] = {
        "connect": UpstreamConnectError(failure.message),
        "http": UpstreamHTTPError(failure.message, status=failure.status),
        "protocol": UpstreamProtocolError(failure.message),
        "timeout": UpstreamTimeout(failure.message),
    }
    if failure.kind == "stall":
        await asyncio.Event().wait()  # until the consumer cancels or closes the stream
    raise errors[failure.kind]
