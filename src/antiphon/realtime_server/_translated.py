"""The pieces of a realtime response's translation.

What it ends with, what it hands out, the state of each open output item, and GA events made
from their fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from openai.types.realtime import RealtimeServerEvent
from openai.types.responses import ResponseUsage
from pydantic import BaseModel

from antiphon.realtime_server.voice import Sentences, SpeakJob

__all__ = ["SAME_EVENTS", "Ending", "OpenItem", "Outgoing", "Voice", "server_event", "text_of"]


# Each GA server event class by its type: validating against the one class is several times
# cheaper than against the whole union, and this runs for most events of every response.
def _classes() -> dict[str, type[BaseModel]]:
    members = cast(tuple[type[BaseModel], ...], get_args(get_args(RealtimeServerEvent)[0]))
    return {get_args(m.model_fields["type"].annotation)[0]: m for m in members}


_CLASSES: dict[str, type[BaseModel]] = _classes()  # Annotated[Union[...]] unwrapped
# Responses events whose realtime twin carries the same fields under the same name.
SAME_EVENTS: frozenset[str] = frozenset({"response.mcp_call.completed", "response.mcp_call.failed"})


@dataclass(frozen=True, slots=True)
class Voice:
    """How a spoken response sounds."""

    voice: str = "alloy"
    speed: float = 1.0


Outgoing = RealtimeServerEvent | SpeakJob
"""What the translator hands out, in order: events to send, and sentences to speak."""


@dataclass(slots=True)
class Ending:
    """How the run ended: its status, why, its error message, and its token usage."""

    status: Literal["completed", "incomplete", "failed"]
    reason: Literal["max_output_tokens", "content_filter"] | None = None
    error: str | None = None
    usage: ResponseUsage | None = None


@dataclass(slots=True)
class OpenItem:
    """An output item between its ``added`` and ``done`` events."""

    item_id: str
    index: int
    kind: str
    call_id: str = ""
    name: str = ""
    text: list[str] = field(default_factory=list[str])  # what streamed: text or arguments
    sentences: Sentences = field(default_factory=Sentences)  # for speaking it

    def partial(self) -> Mapping[str, object]:
        """A Responses item for this item cut off mid-way, from what streamed of it."""
        text = "".join(self.text)
        if self.kind == "message":
            content: list[dict[str, object]] = [
                {"type": "output_text", "text": text, "annotations": []}
            ]
            return {
                "type": "message",
                "id": self.item_id,
                "role": "assistant",
                "status": "incomplete",
                "content": content,
            }
        if self.kind == "function_call":
            return {
                "type": "function_call",
                "id": self.item_id,
                "status": "incomplete",
                "call_id": self.call_id,
                "name": self.name,
                "arguments": text,
            }
        return {"type": "reasoning", "id": self.item_id}  # only text items stream partially


def server_event(kind: str, event_id: str, fields: Mapping[str, object]) -> RealtimeServerEvent:
    """The GA server event ``kind`` with ``fields``, validated by its own class."""
    event = _CLASSES[kind].model_validate({"type": kind, "event_id": event_id, **fields})
    return cast(RealtimeServerEvent, event)


def text_of(source: object, name: str) -> str:
    """A text field of a Responses event (every field read here is a string)."""
    return str(getattr(source, name, "") or "")
