"""The conversation a response builds for its next upstream turn.

After a turn that called server-side tools (or tools that do not exist), the next turn's history
is the request's history, then each earlier turn's items (with the exact text the upstream
generated for them) followed by the answers: tool results already sit in the ``mcp_call`` and
``code_interpreter_call`` items; an undeclared tool and a denied approval are answered here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import cast

from openai.types.responses import ResponseInputItemParam, ResponseOutputItem

from antiphon.engines.base import HistorySegment
from antiphon.responses.server_tools import ApprovalDecision
from antiphon.wire.json import dump

__all__ = ["Answers", "UnknownCall"]


@dataclass(slots=True)
class UnknownCall:
    """A call to a recipient the request never declared."""

    recipient: str
    call_id: str
    arguments: list[str] = field(default_factory=list[str])


class Answers:
    """Accumulates the segments produced within one response."""

    def __init__(self, history: tuple[HistorySegment, ...]) -> None:
        self._history = history
        self._items: list[dict[str, object]] = []

    @property
    def history(self) -> tuple[HistorySegment, ...]:
        """The request's history and everything this response added so far."""
        return self._history

    def item(self, item: ResponseOutputItem) -> None:
        """An output item of this response, as the model will read it back."""
        self._items.append(dump(item, exclude_unset=False, exclude_none=True))

    def unknown(self, call: UnknownCall) -> None:
        """The model called a tool that does not exist: answer it with an error."""
        message = f"Tool '{call.recipient}' does not exist. Use only the tools provided."
        self._items.append(
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.recipient,
                "arguments": "".join(call.arguments),
            }
        )
        self._items.append(
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"error": message}),
            }
        )

    def denied(self, decision: ApprovalDecision) -> None:
        """The client denied a call: the model learns it through a failed call it can read."""
        reason = f" Reason: {decision.reason}" if decision.reason else ""
        self._items.append(
            {
                "type": "mcp_call",
                "id": decision.approval_request_id,
                "server_label": decision.server_label,
                "name": decision.name,
                "arguments": decision.arguments,
                "error": f"The user denied this call.{reason}",
            }
        )

    def close_segment(self, raw_text: str | None) -> None:
        """End the current segment; ``raw_text`` is what the upstream generated for it."""
        if not self._items:
            return
        # JSON built from official models and the shapes above: the TypedDict holds.
        items = tuple(cast(ResponseInputItemParam, item) for item in self._items)
        self._history = (*self._history, HistorySegment(items, raw_text))
        self._items = []
