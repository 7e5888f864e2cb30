"""The data of a script for the scripted engine: turns, items, rules, failures, chunking.

Plain frozen data with no behaviour beyond checking itself and matching a rule; the engine is
:mod:`antiphon.engines.scripted`, the JSON reader ``_script_json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from antiphon.engines._http import as_list, as_object, as_str
from antiphon.engines.base import EngineRequest, FinishReason, ItemKind, Phase, Usage
from antiphon.exceptions import ConfigurationError

__all__ = [
    "Chunking",
    "FailureKind",
    "Script",
    "ScriptedFailure",
    "ScriptedItem",
    "ScriptedTurn",
    "TurnRule",
]

FailureKind = Literal["connect", "http", "protocol", "timeout", "stall"]


@dataclass(frozen=True, slots=True)
class Chunking:
    """How text is cut: ``fixed`` pieces of ``size`` characters, or ``random`` 1-4 from ``seed``."""

    mode: Literal["fixed", "random"] = "fixed"
    size: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ConfigurationError(f"chunk size must be at least 1, got {self.size}")


@dataclass(frozen=True, slots=True)
class ScriptedItem:
    """One output item: reasoning, a message (with its ``phase``) or a tool call.

    A tool call's ``name`` is its recipient (``functions.get_weather``, ``python``) and ``text``
    its arguments; ``call_id`` defaults to a fresh id.
    """

    kind: ItemKind
    text: str = ""
    name: str | None = None
    call_id: str | None = None
    phase: Phase = "final_answer"


@dataclass(frozen=True, slots=True)
class TurnRule:
    """Which requests a turn answers: a rule on the last input item of the history."""

    last_item_type: str | None = None
    last_text_contains: str | None = None

    def matches(self, request: EngineRequest) -> bool:
        """True when the request's last input item satisfies every condition set."""
        items = [item for segment in request.history for item in segment.items]
        last: Mapping[str, object] = items[-1] if items else {}
        kind = as_str(last.get("type")) or ("message" if last else None)
        if self.last_item_type is not None and kind != self.last_item_type:
            return False
        needle = self.last_text_contains
        return needle is None or needle in _item_text(last)


@dataclass(frozen=True, slots=True)
class ScriptedFailure:
    """Fail the turn after ``after_events`` events, as an upstream would.

    ``stall`` blocks until the consumer closes or cancels the stream (to test cancellation).
    """

    kind: FailureKind
    after_events: int = 0
    status: int = 500
    message: str = "scripted failure"


@dataclass(frozen=True, slots=True)
class ScriptedTurn:
    """One model turn: ``harmony`` text, or ``items``. ``finish_reason`` defaults from content."""

    harmony: str | None = None
    items: tuple[ScriptedItem, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    when: TurnRule | None = None
    repeat: bool = False
    fail: ScriptedFailure | None = None


@dataclass(frozen=True, slots=True)
class Script:
    """The turns an engine plays and how their text is chunked."""

    turns: tuple[ScriptedTurn, ...]
    chunking: Chunking = field(default_factory=Chunking)


def _item_text(item: Mapping[str, object]) -> str:
    content = item.get("content", item.get("output"))
    if isinstance(content, str):
        return content
    parts = (as_object(part) or {} for part in as_list(content))
    return "".join(as_str(part.get("text")) or "" for part in parts)
