"""Output guardrails: checks run over what the agent is saying, and when to run them.

An :class:`OutputGuardrail` wraps a function ``(agent, text) -> GuardrailResult`` (sync or
async). :func:`run_guardrails` runs a list of them concurrently and returns one
:class:`GuardrailCheck` each; a guardrail that raises is reported as a
:class:`~antiphon.GuardrailError` in its check and never counts as a trip. :class:`GuardrailGate`
accumulates transcript deltas per item and says when enough new text arrived to run them again.
What to do on a trip (cancel the response, tell the app) is the session's decision.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from antiphon.exceptions import ConfigurationError, GuardrailError

if TYPE_CHECKING:
    from antiphon.realtime.agent import RealtimeAgent

__all__ = [
    "GuardrailCheck",
    "GuardrailFunction",
    "GuardrailGate",
    "GuardrailResult",
    "OutputGuardrail",
    "output_guardrail",
    "run_guardrails",
]


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """What a guardrail function returns: whether to trip, and any detail for the app."""

    tripwire_triggered: bool
    output_info: object = None


GuardrailFunction = Callable[["RealtimeAgent", str], "GuardrailResult | Awaitable[GuardrailResult]"]
"""A guardrail function: the agent speaking and the text so far; sync or async."""


@dataclass(frozen=True, slots=True)
class OutputGuardrail:
    """A named guardrail function. Sync functions run in a worker thread."""

    guardrail_function: GuardrailFunction = field(repr=False)
    name: str

    async def run(self, agent: RealtimeAgent, text: str) -> GuardrailCheck:
        """Run once over ``text``; failures are captured in the check, cancellation propagates."""
        fn = self.guardrail_function
        try:
            if inspect.iscoroutinefunction(fn):
                result: object = await fn(agent, text)
            else:
                result = await asyncio.to_thread(fn, agent, text)
                result = await result if inspect.isawaitable(result) else result
        except Exception as exc:
            error = GuardrailError(
                f"guardrail '{self.name}' raised: {str(exc) or type(exc).__name__}",
                guardrail_name=self.name,
            )
            error.__cause__ = exc
            return GuardrailCheck(guardrail=self, result=None, error=error)
        if not isinstance(result, GuardrailResult):
            message = (
                f"guardrail '{self.name}' returned {type(result).__name__}, not GuardrailResult"
            )
            return GuardrailCheck(self, None, GuardrailError(message, guardrail_name=self.name))
        return GuardrailCheck(guardrail=self, result=result)


@dataclass(frozen=True, slots=True)
class GuardrailCheck:
    """One guardrail's verdict on one text: a result, or the error it raised instead."""

    guardrail: OutputGuardrail
    result: GuardrailResult | None
    error: GuardrailError | None = None

    @property
    def tripped(self) -> bool:
        """Whether this check trips the wire (a failed check never does)."""
        return self.result is not None and self.result.tripwire_triggered


@overload
def output_guardrail(func: GuardrailFunction, /) -> OutputGuardrail: ...


@overload
def output_guardrail(
    *, name: str | None = None
) -> Callable[[GuardrailFunction], OutputGuardrail]: ...


def output_guardrail(
    func: GuardrailFunction | None = None, /, *, name: str | None = None
) -> OutputGuardrail | Callable[[GuardrailFunction], OutputGuardrail]:
    """Make an :class:`OutputGuardrail`; use bare or as ``@output_guardrail(name=...)``."""

    def decorate(fn: GuardrailFunction) -> OutputGuardrail:
        return OutputGuardrail(guardrail_function=fn, name=name or fn.__name__)

    return decorate if func is None else decorate(func)


async def run_guardrails(
    guardrails: Sequence[OutputGuardrail], agent: RealtimeAgent, text: str
) -> list[GuardrailCheck]:
    """Run ``guardrails`` concurrently over ``text``; one check each, in the given order."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(g.run(agent, text)) for g in guardrails]
    return [task.result() for task in tasks]


@dataclass(slots=True)
class _ItemText:
    parts: list[str] = field(default_factory=list[str])
    length: int = 0
    checked: int = 0  # length of the text last handed to the guardrails


class GuardrailGate:
    """Accumulates transcript text per (response, item) and debounces guardrail runs.

    :meth:`feed` returns ``True`` each time an item's text crosses another multiple of
    ``debounce_chars``; :meth:`finish` returns ``True`` if an ended item has text no run has seen.
    Memory is bounded: only the last ``max_items`` items and tripped responses are remembered.
    """

    def __init__(self, debounce_chars: int = 100, *, max_items: int = 64) -> None:
        if debounce_chars < 1 or max_items < 1:
            raise ConfigurationError("debounce_chars and max_items must be at least 1")
        self._debounce = debounce_chars
        self._max_items = max_items
        self._items: OrderedDict[tuple[str, str], _ItemText] = OrderedDict()
        self._tripped: OrderedDict[str, None] = OrderedDict()

    def feed(self, response_id: str, item_id: str, delta: str) -> bool:
        """Add ``delta``; ``True`` when the guardrails should run on :meth:`text` now."""
        if response_id in self._tripped or not delta:
            return False
        item = self._item(response_id, item_id)
        item.parts.append(delta)
        item.length += len(delta)
        if item.length // self._debounce > item.checked // self._debounce:
            item.checked = item.length
            return True
        return False

    def finish(self, response_id: str, item_id: str) -> bool:
        """The item ended: ``True`` when its last text has not been checked yet."""
        item = self._items.get((response_id, item_id))
        if item is None or response_id in self._tripped or item.checked == item.length:
            return False
        item.checked = item.length
        return True

    def text(self, response_id: str, item_id: str) -> str:
        """The item's accumulated text ("" if unknown or forgotten)."""
        item = self._items.get((response_id, item_id))
        if item is None:
            return ""
        if len(item.parts) > 1:
            item.parts[:] = ["".join(item.parts)]
        return item.parts[0] if item.parts else ""

    def trip(self, response_id: str) -> bool:
        """Mark ``response_id`` tripped; ``True`` only the first time (act on one trip only)."""
        if response_id in self._tripped:
            return False
        self._tripped[response_id] = None
        if len(self._tripped) > self._max_items:
            self._tripped.popitem(last=False)
        return True

    def forget(self, response_id: str) -> None:
        """Drop the accumulated text of ``response_id`` (its trip mark stays)."""
        for key in [key for key in self._items if key[0] == response_id]:
            del self._items[key]

    def _item(self, response_id: str, item_id: str) -> _ItemText:
        key = (response_id, item_id)
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = _ItemText()
            if len(self._items) > self._max_items:
                self._items.popitem(last=False)
        return item
