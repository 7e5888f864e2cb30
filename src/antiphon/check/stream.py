"""The Responses stream checker: feed decoded events, get the rules they break (sans-I/O).

:class:`ResponseStreamChecker` takes the events of one stream one at a time and checks

* each event against the official ``ResponseStreamEvent`` member its ``type`` names (strict,
  no field outside the spec: :mod:`.schema`);
* sequence numbers 0..N-1 (or, for a resumed stream, counting up from ``starting_after + 1``);
* the lifecycle: ``response.created`` first (then ``response.queued`` if it was queued),
  ``response.in_progress`` once before any item, one response id, exactly one terminal event,
  last, with a status that matches it, and an error on ``response.failed``;
* every item's rules (:class:`~antiphon.check.items.ItemTracker`) and the terminal response's
  output against the done items.

:func:`check_response_stream` runs a whole stream and, when it is clean, replays it through
``ResponseStreamState`` (what ``client.responses.stream()`` uses) for the final response the
official client would hand its caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pydantic
from openai import omit
from openai.lib.streaming.responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

from antiphon.check._json import JSON, as_json, is_json, is_list
from antiphon.check.items import ItemTracker
from antiphon.check.schema import RESPONSES_SCHEMA
from antiphon.check.violation import Violation

__all__ = ["ResponseStreamChecker", "StreamReport", "check_response_stream", "final_response"]

TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
LIFECYCLE = frozenset({"response.created", "response.queued", "response.in_progress"}) | TERMINAL
_TERMINAL_STATUS = {
    "response.completed": {"completed"},
    "response.incomplete": {"incomplete", "cancelled"},
    "response.failed": {"failed"},
}


class ResponseStreamChecker:
    """Checks one Responses event stream as it arrives.

    ``starting_after`` is the sequence number a resumed stream (``GET ...?stream=true&
    starting_after=N``) continues from: its first event is then N+1 and the head rules are
    skipped. The typed events are kept in :attr:`events` for a replay.
    """

    def __init__(self, *, starting_after: int | None = None) -> None:
        self.violations: list[Violation] = []
        self.events: list[pydantic.BaseModel] = []
        self._first = 0 if starting_after is None else starting_after + 1
        self._resumed = starting_after is not None
        self._count = 0
        self._items = ItemTracker(resumed=starting_after is not None)
        self._response_id: object = None
        self._queued = False
        self._in_progress = False
        self._item_seen = False
        self._terminal: int | None = None

    def feed(self, payload: JSON) -> list[Violation]:
        """Check the next decoded event; return the rules it broke (also kept in violations)."""
        before = len(self.violations) + len(self._items.violations)
        index = self._count
        self._count += 1
        event, problems = RESPONSES_SCHEMA.validate(index, payload)
        self.violations += problems
        if event is not None:
            self.events.append(event)
        self._check(index, payload)
        found = self._all()
        return found[before:]

    def finish(self) -> list[Violation]:
        """The stream ended: every violation found, the first offending event first."""
        if self._count == 0:
            self.violations.append(Violation("lifecycle.first", "the stream has no events"))
        elif self._terminal is None:
            self.violations.append(
                Violation("lifecycle.no-terminal", "the stream ended without a terminal event")
            )
            self._items.finish(None)
        return self.found()

    def found(self) -> list[Violation]:
        """Every violation so far, ordered by the offending event's position."""
        return sorted(self._all(), key=lambda v: -1 if v.index is None else v.index)

    def _all(self) -> list[Violation]:
        return [*self.violations, *self._items.violations]

    def _fail(self, rule: str, message: str, index: int, payload: JSON) -> None:
        self.violations.append(Violation(rule, message, index, payload))

    def _check(self, index: int, payload: JSON) -> None:
        kind = str(payload.get("type"))
        if payload.get("sequence_number") != self._first + index:
            number = payload.get("sequence_number")
            expected = self._first + index
            self._fail(
                "sequence.number", f"sequence_number {number}, expected {expected}", index, payload
            )
        if self._terminal is not None:
            message = f"{kind} after the terminal event #{self._terminal}"
            self._fail("lifecycle.terminal", message, index, payload)
            return
        if index == 0 and not self._resumed and kind != "response.created":
            self._fail("lifecycle.first", f"the first event is {kind}", index, payload)
        if kind in LIFECYCLE:
            self._lifecycle(index, kind, payload)
        else:
            if not self._in_progress and not self._resumed:
                self._fail(
                    "lifecycle.in-progress", f"{kind} before response.in_progress", index, payload
                )
            self._item_seen = True
            self._items.feed(index, payload)

    def _lifecycle(self, index: int, kind: str, payload: JSON) -> None:
        response = as_json(payload.get("response"))
        rid = response.get("id")
        if rid is not None:
            if self._response_id is None:
                self._response_id = rid
            elif rid != self._response_id:
                self._fail(
                    "lifecycle.response-id",
                    f"response id {rid!r}, was {self._response_id!r}",
                    index,
                    payload,
                )
        if kind == "response.created":
            if index != 0:
                self._fail("lifecycle.first", "response.created again", index, payload)
            self._queued = response.get("status") == "queued"
        elif kind == "response.queued" and (index != 1 or not self._queued):
            self._fail(
                "lifecycle.head", "response.queued not right after a queued created", index, payload
            )
        elif kind == "response.in_progress":
            head = 2 if self._queued else 1
            if self._in_progress or self._item_seen or (index != head and not self._resumed):
                self._fail(
                    "lifecycle.in-progress",
                    "response.in_progress must come once, right after the head",
                    index,
                    payload,
                )
            self._in_progress = True
        elif kind in TERMINAL:
            self._terminal = index
            self._terminal_rules(index, kind, response, payload)

    def _terminal_rules(self, index: int, kind: str, response: JSON, payload: JSON) -> None:
        if self._queued and not self._resumed and index == 1:
            self._fail(
                "lifecycle.head", "a queued response ended without response.queued", index, payload
            )
        status = response.get("status")
        if kind != "error" and status not in _TERMINAL_STATUS[kind]:
            self._fail("lifecycle.status", f"{kind} carries status {status!r}", index, payload)
        if kind == "response.failed" and not response.get("error"):
            self._fail("lifecycle.status", "response.failed without an error", index, payload)
        self._items.finish(index)
        if (
            kind != "error"
            and not self._resumed
            and response.get("output") != self._items.done_items()
        ):
            self._fail(
                "output.final",
                "the terminal response's output differs from the done items",
                index,
                payload,
            )


@dataclass(frozen=True, slots=True)
class StreamReport:
    """A checked stream.

    ``violations`` come first offending event first; ``final`` is, when the stream is clean,
    the final response the official client's stream helper accumulates.
    """

    violations: tuple[Violation, ...]
    final: Response | None


def check_response_stream(
    payloads: Sequence[JSON], *, starting_after: int | None = None
) -> StreamReport:
    """Check a whole decoded stream; replay it through the official client when it is clean."""
    checker = ResponseStreamChecker(starting_after=starting_after)
    for payload in payloads:
        checker.feed(payload)
    violations = tuple(checker.finish())
    if violations or starting_after is not None:
        return StreamReport(violations, None)
    return StreamReport(violations, final_response(checker.events))


def final_response(events: Sequence[pydantic.BaseModel]) -> Response | None:
    """The final response ``client.responses.stream()`` yields for ``events``.

    ``events`` are typed, in order. The result is a plain ``Response`` without the fields the
    helper adds (``parsed``); ``None`` if the helper yields none.
    """
    state = ResponseStreamState[object](input_tools=omit, text_format=omit)
    yielded: list[pydantic.BaseModel] = []
    union = pydantic.TypeAdapter[ResponseStreamEvent](ResponseStreamEvent)
    for event in events:
        yielded += state.handle_event(union.validate_python(event))
    final = getattr(yielded[-1], "response", None) if yielded else None
    if not isinstance(final, Response):
        return None
    wire = _drop_sdk_fields(final.model_dump(mode="json", by_alias=True, exclude_unset=True))
    return Response.model_validate(wire)


_SDK_FIELDS = {"parsed", "parsed_arguments"}


def _drop_sdk_fields(value: object) -> object:
    if is_json(value):
        return {k: _drop_sdk_fields(v) for k, v in value.items() if k not in _SDK_FIELDS}
    if is_list(value):
        return [_drop_sdk_fields(v) for v in value]
    return value
