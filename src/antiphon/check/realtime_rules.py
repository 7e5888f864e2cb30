"""The Realtime checker: feed the server events of one session, get the rules they break.

Sans-I/O, like :class:`~antiphon.check.stream.ResponseStreamChecker`. Every event is checked
against the official GA ``RealtimeServerEvent`` member its ``type`` names (strict, nothing
outside the spec), then:

* ``session.created`` comes first, and no ``event_id`` is used twice;
* a response's events name a response that was created and is not done yet;
* per response, ``output_item.added`` counts output_index 0, 1, ...; an item's events stop at
  its ``output_item.done``; every delta joins to its ``.done`` text, transcript or arguments;
* ``response.done`` closes every item, carries a final status, and lists the done items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from antiphon.check._json import JSON, as_json, is_list
from antiphon.check.schema import REALTIME_SCHEMA
from antiphon.check.violation import Violation

__all__ = ["RealtimeEventChecker"]

_FINAL_STATUSES = frozenset({"completed", "cancelled", "failed", "incomplete"})
#: the field of each ``.done`` event that the joined deltas must equal
_DONE_FIELD = {
    "response.output_text": "text",
    "response.output_audio_transcript": "transcript",
    "response.function_call_arguments": "arguments",
}


_Key = tuple[str, int, object]  # (event family, output_index, content_index)


@dataclass
class _Response:
    items: list[str | None] = field(default_factory=list[str | None])  # item ids by output_index
    done: dict[int, JSON] = field(default_factory=dict[int, JSON])
    pieces: dict[_Key, list[str]] = field(default_factory=dict[_Key, list[str]])
    closed: set[_Key] = field(default_factory=set[_Key])


class RealtimeEventChecker:
    """Checks the server events of one Realtime session as they arrive."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self._count = 0
        self._event_ids: set[object] = set()
        self._active: dict[str, _Response] = {}
        self._finished: set[str] = set()
        self._index = 0
        self._payload: JSON = {}

    @property
    def active_responses(self) -> frozenset[str]:
        """Ids of the responses created and not done yet."""
        return frozenset(self._active)

    def feed(self, payload: JSON) -> list[Violation]:
        """Check the next server event; return the rules it broke (also kept)."""
        before = len(self.violations)
        self._index, self._payload = self._count, payload
        self._count += 1
        _, problems = REALTIME_SCHEMA.validate(self._index, payload)
        self.violations += problems
        kind = str(payload.get("type"))
        if self._index == 0 and kind != "session.created":
            self._fail("realtime.first", f"the first event is {kind}, not session.created")
        event_id = payload.get("event_id")
        if event_id in self._event_ids:
            self._fail("realtime.event-id", f"event_id {event_id!r} used twice")
        self._event_ids.add(event_id)
        if kind.startswith("response."):
            self._response_event(kind, payload)
        return self.violations[before:]

    def finish(self, *, idle: bool = True) -> list[Violation]:
        """The session ended; with ``idle``, no response may still be open. Every finding."""
        if idle:
            for rid in sorted(self._active):
                self.violations.append(
                    Violation("realtime.open-response", f"response {rid} never got response.done")
                )
        return list(self.violations)

    def _fail(self, rule: str, message: str) -> None:
        self.violations.append(Violation(rule, message, self._index, self._payload))

    def _response_event(self, kind: str, payload: JSON) -> None:
        if kind in ("response.created", "response.done"):
            rid = str(as_json(payload.get("response")).get("id"))
        else:
            rid = str(payload.get("response_id"))
        if kind == "response.created":
            if rid in self._active or rid in self._finished:
                self._fail("realtime.response-twice", f"response {rid} created twice")
            self._active[rid] = _Response()
            return
        response = self._active.get(rid)
        if response is None:
            where = "already done" if rid in self._finished else "never created"
            self._fail("realtime.response-unknown", f"{kind} for response {rid}, {where}")
            return
        if kind == "response.done":
            self._done(rid, response, as_json(payload.get("response")))
        elif kind == "response.output_item.added":
            if payload.get("output_index") != len(response.items):
                message = (
                    f"output_index {payload.get('output_index')}, expected {len(response.items)}"
                )
                self._fail("item.output-index", message)
            response.items.append(_item_id(as_json(payload.get("item"))))
        else:
            self._item_event(kind, response, payload)

    def _item_event(self, kind: str, response: _Response, payload: JSON) -> None:
        position = payload.get("output_index")
        if not isinstance(position, int) or not 0 <= position < len(response.items):
            self._fail("item.unknown-index", f"{kind}: no item at output_index {position}")
            return
        if position in response.done:
            self._fail("item.after-done", f"{kind} after item {position}'s output_item.done")
            return
        if kind == "response.output_item.done":
            response.done[position] = as_json(payload.get("item"))
            return
        if "item_id" in payload and payload.get("item_id") != response.items[position]:
            self._fail("item.item-id", f"{kind}: item_id {payload.get('item_id')!r}")
        family, _, step = kind.rpartition(".")
        if family not in _DONE_FIELD:
            return
        key = (family, position, payload.get("content_index"))
        if key in response.closed:
            self._fail("delta.after-done", f"{kind} after its {family}.done")
            return
        pieces = response.pieces.setdefault(key, [])
        if step == "delta":
            pieces.append(str(payload.get("delta")))
        elif step == "done":
            response.closed.add(key)
            if payload.get(_DONE_FIELD[family]) != "".join(pieces):
                self._fail("delta.join", f"{kind}: differs from the joined deltas")

    def _done(self, rid: str, response: _Response, final: JSON) -> None:
        del self._active[rid]
        self._finished.add(rid)
        open_items = [i for i in range(len(response.items)) if i not in response.done]
        if open_items:
            self._fail("item.never-done", f"response.done with items {open_items} not done")
        status = final.get("status")
        if status not in _FINAL_STATUSES:
            self._fail("realtime.status", f"response.done with status {status!r}")
        output = final.get("output")
        listed = [_item_id(as_json(item)) for item in output] if is_list(output) else []
        if listed != response.items:
            self._fail("output.final", "response.done lists other items than were streamed")


def _item_id(item: JSON) -> str | None:
    value = item.get("id")
    return value if isinstance(value, str) else None
