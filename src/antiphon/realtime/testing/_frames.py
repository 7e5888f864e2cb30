"""GA server frames as plain JSON objects, and the adapters that validate both directions.

The fake server builds its frames here so every builder can be checked once against the
official ``openai.types.realtime`` unions (``tests/realtime/test_testing.py`` does).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Annotated

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import Field, TypeAdapter

Frame = dict[str, object]
"""One JSON object on the wire (a boundary type: values are whatever JSON holds)."""

SERVER_EVENT_ADAPTER: TypeAdapter[RealtimeServerEvent] = TypeAdapter(
    Annotated[RealtimeServerEvent, Field(discriminator="type")]
)
CLIENT_EVENT_ADAPTER: TypeAdapter[RealtimeClientEvent] = TypeAdapter(
    Annotated[RealtimeClientEvent, Field(discriminator="type")]
)


class Ids:
    """Deterministic ids per prefix: ``event_1``, ``resp_1``, ``item_1``, ``call_1``, and so on."""

    def __init__(self) -> None:
        self._counters: defaultdict[str, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )

    def next(self, prefix: str) -> str:
        """The next id with ``prefix``."""
        return f"{prefix}_{next(self._counters[prefix])}"


def server_event(ids: Ids, type_: str, **fields: object) -> Frame:
    """A server event with a fresh ``event_id``."""
    return {"type": type_, "event_id": ids.next("event"), **fields}


def error_event(ids: Ids, code: str, message: str, *, client_event_id: str | None) -> Frame:
    """An ``error`` event; ``client_event_id`` names the client event it answers."""
    error: Frame = {"type": "invalid_request_error", "code": code, "message": message}
    if client_event_id is not None:
        error["event_id"] = client_event_id
    return server_event(ids, "error", error=error)


def response_object(response_id: str, status: str, output: list[Frame]) -> Frame:
    """A ``realtime.response`` object for ``response.created`` and ``response.done``."""
    return {"id": response_id, "object": "realtime.response", "status": status, "output": output}


def message_item(item_id: str, status: str, content: list[Frame]) -> Frame:
    """An assistant message item (content types ``output_text`` / ``output_audio``)."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> Frame:
    """A ``function_call`` item."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def split(text: str, chunks: int) -> list[str]:
    """Cut ``text`` into at most ``chunks`` non-empty pieces (none for an empty text)."""
    if not text:
        return []
    size = -(-len(text) // max(chunks, 1))
    return [text[i : i + size] for i in range(0, len(text), size)]
