"""Per-item rules of the Responses stream grammar (sans-I/O; used by :mod:`.stream`).

:class:`ItemTracker` follows every output item from ``output_item.added`` to ``output_item.done``:
output_index order, item ids, the order of the item's events (the per-item grammar of the
Responses streaming spec, written as regular expressions over event types; :data:`ITEM_GRAMMAR`),
content_index per item, empty deltas, joined deltas against ``.done`` events and the done item,
and which status needs which closing event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from antiphon.check._json import JSON, as_json, is_list
from antiphon.check.violation import Violation

__all__ = ["ITEM_GRAMMAR", "ItemTracker"]

_TEXT = (
    r"content_part\.added (?:output_text\.delta |output_text\.annotation\.added )*"
    r"output_text\.done content_part\.done "
)
_REFUSAL = r"content_part\.added (?:refusal\.delta )*refusal\.done content_part\.done "
_RAW = r"content_part\.added (?:reasoning_text\.delta )*reasoning_text\.done content_part\.done "
_SUMMARY = (
    r"reasoning_summary_part\.added (?:reasoning_summary_text\.delta )*"
    r"reasoning_summary_text\.done reasoning_summary_part\.done "
)
#: The order of each item type's events between ``output_item.added`` and ``.done``, as the
#: Responses streaming spec defines it, as regular expressions over event types ("response."
#: removed): e.g. a message is a run of parts, each ``content_part.added``, text deltas,
#: ``output_text.done``, ``content_part.done``.
ITEM_GRAMMAR: dict[str, re.Pattern[str]] = {
    kind: re.compile(pattern)
    for kind, pattern in {
        "message": rf"(?:{_TEXT}|{_REFUSAL})*",
        "reasoning": rf"(?:{_RAW}|{_SUMMARY})*",
        "function_call": r"(?:function_call_arguments\.delta )*function_call_arguments\.done ",
        "mcp_list_tools": r"mcp_list_tools\.in_progress mcp_list_tools\.(?:completed|failed) ",
        "mcp_call": r"mcp_call\.in_progress (?:mcp_call_arguments\.delta )*"
        r"mcp_call_arguments\.done (?:mcp_call\.(?:completed|failed) )?",
        "mcp_approval_request": "",
        "code_interpreter_call": r"code_interpreter_call\.in_progress "
        r"(?:code_interpreter_call_code\.delta )*code_interpreter_call_code\.done "
        r"(?:code_interpreter_call\.interpreting (?:code_interpreter_call\.completed )?)?",
        "web_search_call": r"web_search_call\.in_progress "
        r"(?:web_search_call\.searching (?:web_search_call\.completed )?)?",
    }.items()
}
#: the event that must appear exactly when the item ends with that status
_STATUS_EVENT = {
    ("mcp_call", "completed"): "mcp_call.completed",
    ("mcp_call", "failed"): "mcp_call.failed",
    ("mcp_list_tools", None): "mcp_list_tools.completed",
    ("code_interpreter_call", "completed"): "code_interpreter_call.completed",
    ("web_search_call", "completed"): "web_search_call.completed",
}
_STREAMED = ("function_call_arguments", "mcp_call_arguments", "code_interpreter_call_code")
_OPEN_STATUSES = ("in_progress", "calling", "interpreting", "searching")


@dataclass
class _Item:
    added: JSON
    tokens: list[str] = field(default_factory=list[str])
    parts: list[str] = field(default_factory=list[str])  # part type per content_index
    open_part: int | None = None
    pieces: dict[int, list[str]] = field(default_factory=dict[int, list[str]])
    texts: dict[int, str] = field(default_factory=dict[int, str])  # text of each closed part
    arguments: list[str] = field(default_factory=list[str])  # arguments or code deltas
    final_arguments: str | None = None
    done: JSON | None = None
    before_resume: bool = False  # began before a resumed stream's first event: not judged


class ItemTracker:
    """Tracks every output item through its events; findings go to ``violations``.

    ``resumed``: the stream starts after ``starting_after``, so items may have begun before
    it; their events are not judged (nothing is known of their start).
    """

    def __init__(self, *, resumed: bool = False) -> None:
        self.violations: list[Violation] = []
        self.items: list[_Item] = []
        self._resumed = resumed
        self._index = 0
        self._event: JSON = {}

    def feed(self, index: int, event: JSON) -> None:
        """Take the item event at stream position ``index``."""
        self._index, self._event = index, event
        kind = str(event["type"]).removeprefix("response.")
        position = event.get("output_index")
        if self._resumed and isinstance(position, int) and self._before_resume(kind, position):
            return
        if kind == "output_item.added":
            self._added(position, as_json(event.get("item")))
            return
        if not isinstance(position, int) or not 0 <= position < len(self.items):
            self._fail("item.unknown-index", f"{kind}: no item at output_index {position}")
            return
        item = self.items[position]
        if item.done is not None:
            self._fail("item.after-done", f"{kind} after item {position}'s output_item.done")
        elif kind == "output_item.done":
            self._done(kind, item, as_json(event.get("item")))
        else:
            if event.get("item_id") != item.added.get("id"):
                self._fail("item.item-id", f"{kind}: item_id {event.get('item_id')!r}")
            item.tokens.append(kind)
            self._content(kind, item, event)

    def _before_resume(self, kind: str, position: int) -> bool:
        """Whether the event belongs to an item that began before a resumed stream."""
        if kind == "output_item.added":
            while len(self.items) < position:  # the items added before the resume point
                self.items.append(_Item(added={}, before_resume=True))
            return False
        return position >= len(self.items) or self.items[position].before_resume

    def finish(self, index: int | None) -> None:
        """The stream ended (at ``index``, its terminal event): every item must be done."""
        for position, item in enumerate(self.items):
            if item.done is None and not item.before_resume:
                self.violations.append(
                    Violation("item.never-done", f"item {position} was never done", index)
                )

    def done_items(self) -> list[JSON]:
        """The items as their ``output_item.done`` events gave them, in order."""
        return [
            item.done for item in self.items if item.done is not None and not item.before_resume
        ]

    def _fail(self, rule: str, message: str) -> None:
        self.violations.append(Violation(rule, message, self._index, self._event))

    def _added(self, position: object, item: JSON) -> None:
        if position != len(self.items):
            self._fail("item.output-index", f"output_index {position}, expected {len(self.items)}")
        if item.get("id") in {other.added.get("id") for other in self.items}:
            self._fail("item.id-reused", f"item id {item.get('id')!r} used twice")
        if item.get("status", "in_progress") != "in_progress":
            self._fail("item.added-status", f"an item is added with status {item.get('status')}")
        self.items.append(_Item(added=item))

    def _content(self, kind: str, item: _Item, event: JSON) -> None:
        family, _, step = kind.rpartition(".")
        if step == "delta" and not event.get("delta"):
            self._fail("delta.empty", f"{kind}: empty delta")
        if family in _STREAMED:
            if step == "delta" and item.final_arguments is not None:
                self._fail("delta.after-done", f"{kind} after the item's {family}.done")
            if step == "delta":
                item.arguments.append(str(event.get("delta")))
            else:
                item.final_arguments = str(event.get("arguments", event.get("code")))
                if item.final_arguments != "".join(item.arguments):
                    self._fail("delta.join", f"{kind} differs from the joined deltas")
            return
        if "content_index" not in event:
            return
        content_index = event["content_index"]
        if kind == "content_part.added":
            if content_index != len(item.parts):
                self._fail("part.content-index", f"{kind}: content_index {content_index}")
            item.parts.append(str(as_json(event.get("part")).get("type")))
            item.open_part, item.pieces[len(item.parts) - 1] = len(item.parts) - 1, []
            return
        if content_index != item.open_part or item.open_part is None:
            self._fail("part.not-open", f"{kind}: content_index {content_index} is not open")
            return
        self._part_event(kind, family, step, item, item.open_part, event)

    def _part_event(
        self, kind: str, family: str, step: str, item: _Item, part: int, event: JSON
    ) -> None:
        part_type = item.parts[part]
        if kind == "content_part.done":
            if _part_text(as_json(event.get("part"))) != item.texts.get(part):
                self._fail("delta.join", f"{kind}: part text differs from the joined deltas")
            item.open_part = None
        elif family != part_type and family != "output_text.annotation":
            self._fail("part.kind", f"{kind} on a {part_type} part")
        elif step == "delta" and part in item.texts:
            self._fail("delta.after-done", f"{kind} after the part's {family}.done")
        elif step == "delta":
            item.pieces[part].append(str(event.get("delta")))
        elif step == "done":
            text = str(event.get("text", event.get("refusal")))
            if text != "".join(item.pieces[part]):
                self._fail("delta.join", f"{kind}: text differs from the joined deltas")
            item.texts[part] = text

    def _done(self, kind: str, item: _Item, done: JSON) -> None:
        item.done = done
        item_type, status = done.get("type"), done.get("status")
        if (item_type, done.get("id")) != (item.added.get("type"), item.added.get("id")):
            self._fail("item.identity", f"{kind}: type or id changed from the added item")
        if status in _OPEN_STATUSES:
            self._fail("item.done-status", f"{kind}: done with status {status}")
        grammar = ITEM_GRAMMAR.get(str(item_type))
        if grammar is not None and not grammar.fullmatch("".join(f"{t} " for t in item.tokens)):
            self._fail("item.order", f"{item_type} events out of order: {item.tokens}")
        if item_type == "message" and status == "completed" and not item.parts:
            self._fail("item.content", f"{kind}: a completed message without content")
        if item_type == "mcp_list_tools":
            status = None if done.get("error") is None else "failed"
        for (event_kind, event_status), token in _STATUS_EVENT.items():
            if event_kind == item_type and (token in item.tokens) != (status == event_status):
                self._fail("item.status-event", f"status {status} with events {item.tokens}")
        content = done.get("content")
        texts = [_part_text(as_json(part)) for part in content] if is_list(content) else []
        if texts != [item.texts.get(i) for i in range(len(item.parts))]:
            self._fail("item.content", f"{kind}: item content differs from the streamed parts")
        final = done.get("arguments", done.get("code"))
        if item.final_arguments is not None and final != item.final_arguments:
            self._fail("delta.join", f"{kind}: item arguments/code differ from the streamed ones")


def _part_text(part: JSON) -> str:
    return str(part.get("text", part.get("refusal")))
