"""Events validated against the official ``openai`` types, by the member their ``type`` names.

Validation is strict and refuses fields the spec does not have (pydantic keeps unknown keys as
extras, so an aliased field written under its Python name, such as ``schema_``, would otherwise
pass silently). Used for Responses stream events and Realtime server events alike.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, TypeVar, get_args, get_origin

import pydantic
from openai.types.realtime import RealtimeServerEvent
from openai.types.responses import ResponseStreamEvent

from antiphon.check._json import JSON, is_json, is_list
from antiphon.check.violation import Violation

__all__ = ["EventSchema", "REALTIME_SCHEMA", "RESPONSES_SCHEMA", "validate_body"]

_M = TypeVar("_M", bound=pydantic.BaseModel)


class EventSchema:
    """The members of one discriminated union of events, looked up by ``type``."""

    def __init__(self, union: Any) -> None:
        self._union = union

    @property
    def types(self) -> frozenset[str]:
        """Every event type the union defines."""
        return frozenset(self._members())

    def validate(
        self, index: int, payload: JSON
    ) -> tuple[pydantic.BaseModel | None, list[Violation]]:
        """The typed event (``None`` when invalid) and the schema rules ``payload`` breaks."""
        kind = payload.get("type")
        adapter = self._members().get(str(kind))
        if adapter is None:
            found = Violation("schema.unknown-type", f"unknown event type {kind!r}", index, payload)
            return None, [found]
        return _judge(adapter, payload, self._aliases(), str(kind), index)

    @cache  # noqa: B019 -- two module-level instances, built once each
    def _members(self) -> dict[str, pydantic.TypeAdapter[pydantic.BaseModel]]:
        union = self._union
        members = get_args(get_args(union)[0] if get_origin(union) is Annotated else union)
        table: dict[str, pydantic.TypeAdapter[pydantic.BaseModel]] = {}
        for member in members:
            assert isinstance(member, type)
            assert issubclass(member, pydantic.BaseModel)
            for literal in get_args(member.model_fields["type"].annotation):
                table[str(literal)] = pydantic.TypeAdapter(member)
        return table

    @cache  # noqa: B019 -- two module-level instances, built once each
    def _aliases(self) -> dict[str, str]:
        found: dict[str, str] = {}
        _walk(self._union, found, set())
        return found


def validate_body(model: type[_M], payload: JSON, what: str) -> tuple[_M | None, list[Violation]]:
    """A JSON body (``Response``, for one) against its official model, by the stream's rules."""
    aliases: dict[str, str] = {}
    _walk(model, aliases, set())
    return _judge(pydantic.TypeAdapter(model), payload, aliases, what, None)


def _judge(
    adapter: pydantic.TypeAdapter[_M],
    payload: JSON,
    aliases: dict[str, str],
    label: str,
    index: int | None,
) -> tuple[_M | None, list[Violation]]:
    """Validate strictly; report Python-named fields first, then the first error or extras."""
    event = payload if index is not None else None
    aliased = [
        Violation(
            "schema.alias",
            f"{label}: {path} is a Python name, the wire name is {alias!r}",
            index,
            event,
        )
        for path, alias in _python_names(payload, "", aliases)
    ]
    if aliased:
        return None, aliased
    try:
        value = adapter.validate_json(json.dumps(payload), strict=True)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return None, [
            Violation("schema.invalid", f"{label}: {where}: {first['msg']}", index, event)
        ]
    extras = [
        Violation("schema.extra-field", f"{label}: field {path} is not in the spec", index, event)
        for path in _extras(value, "")
    ]
    return value, extras


def _walk(annotation: object, found: dict[str, str], seen: set[type]) -> None:
    """Every field whose Python name differs from its wire name, in the models under it."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for name, info in annotation.model_fields.items():
            if info.alias is not None and info.alias != name:
                found[name] = info.alias
            _walk(info.annotation, found, seen)
        return
    for argument in get_args(annotation):
        _walk(argument, found, seen)


def _python_names(value: object, path: str, aliases: dict[str, str]) -> list[tuple[str, str]]:
    """(path, wire name) of every key spelled by its Python name (``schema_`` for ``schema``)."""
    if is_json(value):
        found = [(f"{path}.{key}", aliases[key]) for key in value if key in aliases]
        for key, inner in value.items():
            found += _python_names(inner, f"{path}.{key}", aliases)
        return found
    if is_list(value):
        return [p for i, v in enumerate(value) for p in _python_names(v, f"{path}[{i}]", aliases)]
    return []


def _extras(value: object, path: str) -> list[str]:
    if isinstance(value, pydantic.BaseModel):
        found = [f"{path}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _extras(getattr(value, name), f"{path}.{name}")
        return found
    if is_list(value):
        return [p for i, v in enumerate(value) for p in _extras(v, f"{path}[{i}]")]
    return []


#: Responses stream events (``ResponseStreamEvent``).
RESPONSES_SCHEMA = EventSchema(ResponseStreamEvent)
#: Realtime server events (the GA ``RealtimeServerEvent``).
REALTIME_SCHEMA = EventSchema(RealtimeServerEvent)
