"""What the fake server received: every client event, validated, and a way to wait for them."""

from __future__ import annotations

import asyncio
from typing import TypeGuard

import pydantic
from openai.types.realtime import RealtimeClientEvent, ResponseCreateEvent

from antiphon.realtime.testing._frames import CLIENT_EVENT_ADAPTER

__all__ = ["ClientEventLog"]


class ClientEventLog:
    """Client events in arrival order (all connections), with the protocol violations seen.

    Validation is strict: pydantic strict mode (no coercion) plus a check that no object
    carries a field the official model does not declare (the ``openai`` models allow extras,
    the real server does not).
    """

    def __init__(self) -> None:
        self.events: list[RealtimeClientEvent] = []
        """Every client event that validated."""
        self.raw: list[str] = []
        """Every text frame received, valid or not."""
        self.violations: list[str] = []
        """One line per frame that failed validation."""
        self._changed = asyncio.Condition()

    async def record(self, text: str) -> RealtimeClientEvent | None:
        """Validate and record one frame; return the event, or None when it is invalid."""
        self.raw.append(text)
        event: RealtimeClientEvent | None = None
        try:
            event = CLIENT_EVENT_ADAPTER.validate_json(text, strict=True)
        except pydantic.ValidationError as exc:
            self.violations.append(f"{exc.error_count()} error(s): {exc.errors()[0]['msg']}")
        if event is not None:
            problem = _problem(event)
            if problem:
                self.violations.append(f"{event.type}: {problem}")
                event = None
        async with self._changed:
            if event is not None:
                self.events.append(event)
            self._changed.notify_all()
        return event

    def of_type(self, type_: str) -> list[RealtimeClientEvent]:
        """The recorded events of one ``type``, in order."""
        return [event for event in self.events if event.type == type_]

    async def wait_for(
        self, type_: str, count: int = 1, *, within: float = 5.0
    ) -> list[RealtimeClientEvent]:
        """Wait until ``count`` events of ``type_`` were recorded; return them all.

        Raises ``TimeoutError`` after ``within`` seconds.
        """
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.of_type(type_)) >= count)
        return self.of_type(type_)


def _problem(event: RealtimeClientEvent) -> str:
    extras = _extra_fields(event)
    if extras:
        return f"undeclared fields {sorted(extras)}"
    # The GA schema types `response` as an object, so `"response": null` is invalid: a
    # `response.create` without parameters must leave the field out.
    if isinstance(event, ResponseCreateEvent) and "response" in event.model_fields_set:
        return "" if event.response is not None else "response is null (leave it out instead)"
    return ""


def _extra_fields(model: pydantic.BaseModel, path: str = "") -> list[str]:
    """Dotted paths of the fields no model declares, searched through nested models."""
    found = [f"{path}{name}" for name in (model.model_extra or {})]
    for name in type(model).model_fields:
        found.extend(_extras_in(getattr(model, name), f"{path}{name}."))
    return found


def _extras_in(value: object, path: str) -> list[str]:
    # Plain dicts are free-form objects (tool parameters, metadata): any key is allowed there.
    if isinstance(value, pydantic.BaseModel):
        return _extra_fields(value, path)
    if _is_list(value):
        return [extra for item in value for extra in _extras_in(item, path)]
    return []


def _is_list(value: object) -> TypeGuard[list[object]]:
    return isinstance(value, list)
