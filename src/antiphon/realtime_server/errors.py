"""The ``error`` events of the realtime server: refusals, never a closed socket.

Every refusal is an ``invalid_request_error`` naming the client's ``event_id`` when it had one,
and the field at fault (``param``) in the client's own terms (``session.tools[0].name``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Final

from openai.types.realtime import RealtimeError, RealtimeErrorEvent
from pydantic import ValidationError

__all__ = ["error_event", "field_path", "short_id", "validation_error"]

# Tags pydantic puts in a location inside a discriminated union of items or tools.
_ITEM_TAGS: Final = frozenset(
    {"message", "function_call", "function_call_output", "function", "mcp", "int", "str"}
)


def short_id(prefix: str) -> str:
    """A random id of OpenAI's realtime length (at most 32 characters): ``item_`` + 24 hex."""
    return f"{prefix}_{secrets.token_hex(12)}"


def error_event(
    message: str,
    *,
    code: str,
    param: str | None = None,
    client_event_id: str | None = None,
    ids: Callable[[str], str] = short_id,
) -> RealtimeErrorEvent:
    """An ``invalid_request_error`` event (for the client event ``client_event_id``)."""
    return RealtimeErrorEvent(
        type="error",
        event_id=ids("event"),
        error=RealtimeError(
            type="invalid_request_error",
            code=code,
            message=message,
            param=param,
            event_id=client_event_id,
        ),
    )


def validation_error(
    exc: ValidationError, client_event_id: str | None, ids: Callable[[str], str]
) -> RealtimeErrorEvent:
    """The ``error`` for a client frame the official client event union refused."""
    first = exc.errors()[0]
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return error_event(
            f"Invalid value for 'type': {first['msg']}",
            code="invalid_value",
            param="type",
            client_event_id=client_event_id,
            ids=ids,
        )
    # The first location is the event type (the union's tag): the field follows it.
    where = field_path(first["loc"][1:])
    return error_event(
        f"Invalid value for '{where}': {first['msg']}.",
        code="invalid_value",
        param=where,
        client_event_id=client_event_id,
        ids=ids,
    )


def field_path(location: Sequence[int | str]) -> str:
    """``session.tools[0].name`` from a pydantic location, without the union members' labels."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part[:1].isupper() or "[" in part or part in _ITEM_TAGS:
            continue  # a union member (``RealtimeFunctionTool``, ``function-after[...]``)
        else:
            path += f".{part}" if path else part
    return path
