"""Per-item rules of the Responses stream grammar, used by :mod:`tests.grammar`.

:class:`ItemTracker` follows every output item from ``output_item.added`` to ``output_item.done``:
output_index order, item ids, the order of the item's events (the per-item grammar of the
Responses streaming spec, written as regular expressions over event types; :data:`ITEM_GRAMMAR`),
content_index per item, empty deltas, joined deltas against ``.done`` events and the done item,
and which status needs which closing event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

__all__ = ["ITEM_GRAMMAR", "JSON", "ItemTracker", "as_json", "is_json", "is_list"]

JSON = Mapping[str, object]


def is_json(value: object) -> TypeGuard[JSON]:
    """A decoded JSON object."""
    return isinstance(value, dict)


def is_list(value: object) -> TypeGuard[list[object]]:
    """A decoded JSON array."""
    return isinstance(value, list)


def as_json(value: object) -> JSON:
    """``value`` if it is a JSON object, else an empty one."""
    return value if is_json(value) else {}


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
STATUS_EVENT = {
    ("mcp_call", "completed"): "mcp_call.completed",
    ("mcp_call", "failed"): "mcp_call.failed",
    ("mcp_list_tools", None): "mcp_list_tools.completed",
    ("code_interpreter_call", "completed"): "code_interpreter_call.completed",
    ("web_search_call", "completed"): "web_search_call.completed",
}
_STREAMED = ("function_call_arguments", "mcp_call_arguments", "code_interpreter_call_code")


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


class ItemTracker:
    """Tracks every output item through its events (rules on indexes, order, joined text)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.items: list[_Item] = []

    def feed(self, index: int, event: JSON) -> None:
        kind = str(event["type"]).removeprefix("response.")
        position = event.get("output_index")
        if kind == "output_item.added":
            self._added(index, position, as_json(event.get("item")))
            return
        if not isinstance(position, int) or not 0 <= position < len(self.items):
            self.problems.append(f"#{index} {kind}: no item at output_index {position}")
            return
        item = self.items[position]
        where = f"#{index} {kind} (item {position})"
        if item.done is not None:
            self.problems.append(f"{where}: after the item's output_item.done")
        elif kind == "output_item.done":
            self._done(where, item, as_json(event.get("item")))
        else:
            if event.get("item_id") != item.added.get("id"):
                self.problems.append(f"{where}: item_id {event.get('item_id')!r}")
            item.tokens.append(kind)
            self._content(where, item, kind, event)

    def finish(self) -> None:
        for position, item in enumerate(self.items):
            if item.done is None:
                self.problems.append(f"item {position} was never done")

    def done_items(self) -> list[JSON]:
        return [item.done for item in self.items if item.done is not None]

    def _added(self, index: int, position: object, item: JSON) -> None:
        if position != len(self.items):
            self.problems.append(f"#{index}: output_index {position}, expected {len(self.items)}")
        if item.get("id") in {other.added.get("id") for other in self.items}:
            self.problems.append(f"#{index}: item id {item.get('id')!r} used twice")
        if item.get("status", "in_progress") != "in_progress":
            self.problems.append(f"#{index}: an item is added with status {item.get('status')}")
        self.items.append(_Item(added=item))

    def _content(self, where: str, item: _Item, kind: str, event: JSON) -> None:
        family, _, step = kind.rpartition(".")
        if step == "delta" and not event.get("delta"):
            self.problems.append(f"{where}: empty delta")
        if family in _STREAMED:
            if step == "delta":
                item.arguments.append(str(event.get("delta")))
            else:
                item.final_arguments = str(event.get("arguments", event.get("code")))
                if item.final_arguments != "".join(item.arguments):
                    self.problems.append(f"{where}: differs from the joined deltas")
            return
        if "content_index" not in event:
            return
        content_index = event["content_index"]
        if kind == "content_part.added":
            if content_index != len(item.parts):
                self.problems.append(f"{where}: content_index {content_index}")
            item.parts.append(str(as_json(event.get("part")).get("type")))
            item.open_part, item.pieces[len(item.parts) - 1] = len(item.parts) - 1, []
            return
        if content_index != item.open_part or item.open_part is None:
            self.problems.append(f"{where}: content_index {content_index} is not the open part")
            return
        part = item.parts[item.open_part]
        if kind == "content_part.done":
            text = _part_text(as_json(event.get("part")))
            if text != item.texts.get(item.open_part):
                self.problems.append(f"{where}: part text differs from the joined deltas")
            item.open_part = None
        elif family != part and family != "output_text.annotation":
            self.problems.append(f"{where}: event on a {part} part")
        elif step == "delta":
            item.pieces[item.open_part].append(str(event.get("delta")))
        elif step == "done":
            text = str(event.get("text", event.get("refusal")))
            if text != "".join(item.pieces[item.open_part]):
                self.problems.append(f"{where}: text differs from the joined deltas")
            item.texts[item.open_part] = text

    def _done(self, where: str, item: _Item, done: JSON) -> None:
        item.done = done
        kind, status = done.get("type"), done.get("status")
        if (kind, done.get("id")) != (item.added.get("type"), item.added.get("id")):
            self.problems.append(f"{where}: identity changed from the added item")
        if status in ("in_progress", "calling", "interpreting", "searching"):
            self.problems.append(f"{where}: done with status {status}")
        grammar = ITEM_GRAMMAR.get(str(kind))
        sequence = "".join(f"{token} " for token in item.tokens)
        if grammar is not None and not grammar.fullmatch(sequence):
            self.problems.append(f"{where}: {kind} events out of grammar: {item.tokens}")
        if kind == "message" and status == "completed" and not item.parts:
            self.problems.append(f"{where}: a completed message without content")
        if kind == "mcp_list_tools":
            status = None if done.get("error") is None else "failed"
        for (event_kind, event_status), token in STATUS_EVENT.items():
            if event_kind == kind and (token in item.tokens) != (status == event_status):
                self.problems.append(f"{where}: status {status} and events {item.tokens}")
        content = done.get("content")
        texts = [_part_text(as_json(part)) for part in content] if is_list(content) else []
        if texts != [item.texts.get(i) for i in range(len(item.parts))]:
            self.problems.append(f"{where}: item content differs from the streamed parts")
        final = done.get("arguments", done.get("code"))
        if item.final_arguments is not None and final != item.final_arguments:
            self.problems.append(f"{where}: item arguments/code differ from the streamed ones")


def _part_text(part: JSON) -> str:
    return str(part.get("text", part.get("refusal")))
