"""Reading a script from JSON: every field checked, every error naming its path.

Role: turn the JSON form documented in ``docs/scripted-engine.md`` into :class:`Script`. A
wrong type, an unknown key or an unknown value raises :class:`~antiphon.ConfigurationError` with
the path of the offending field (``turns[1].items[0].kind``), so a typo never plays silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final, TypeVar, cast

from antiphon.engines._http import JSONObject, as_int, as_list, as_object, as_str
from antiphon.engines._script_model import (
    Chunking,
    FailureKind,
    Script,
    ScriptedFailure,
    ScriptedItem,
    ScriptedTurn,
    TurnRule,
)
from antiphon.engines.base import FinishReason, ItemKind, Phase, Usage
from antiphon.exceptions import ConfigurationError

__all__ = ["parse_script"]

_T = TypeVar("_T")
_KINDS: Final = ("reasoning", "message", "tool_call")
_PHASES: Final = ("commentary", "final_answer")
_REASONS: Final = ("stop", "length", "tool_calls", "content_filter")
_FAILURES: Final = ("connect", "http", "protocol", "timeout", "stall")


def parse_script(text: str) -> Script:
    """Parse a script's JSON text."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"script is not valid JSON: {exc}") from exc
    root = _object(data, "script", {"turns", "chunking"})
    turns = as_list(root.get("turns"))
    if not turns:
        raise ConfigurationError("script.turns must be a non-empty list")
    chunking = _chunking(root.get("chunking"))
    return Script(tuple(_turn(t, f"turns[{i}]") for i, t in enumerate(turns)), chunking)


def _object(value: object, path: str, keys: set[str]) -> JSONObject:
    obj = as_object(value)
    if obj is None:
        raise ConfigurationError(f"{path} must be a JSON object")
    if unknown := sorted(set(obj) - keys):
        raise ConfigurationError(f"{path} has unknown keys: {', '.join(unknown)}")
    return obj


def _choice(value: object, path: str, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        raise ConfigurationError(f"{path} must be one of {', '.join(allowed)}, got {value!r}")
    return cast(str, value)  # checked against ``allowed`` just above


def _typed(value: object, path: str, kind: type[_T], default: _T) -> _T:
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigurationError(f"{path} must be of type {kind.__name__}")
    return value


def _optional(value: object, path: str, parse: Callable[[object, str], _T]) -> _T | None:
    return None if value is None else parse(value, path)


def _chunking(value: object) -> Chunking:
    if value is None:
        return Chunking()
    obj = _object(value, "script.chunking", {"mode", "size", "seed"})
    mode = _choice(obj.get("mode"), "chunking.mode", ("fixed", "random"), "fixed")
    size = _typed(obj.get("size"), "chunking.size", int, 4)
    seed = _typed(obj.get("seed"), "chunking.seed", int, 0)
    return Chunking("random" if mode == "random" else "fixed", size, seed)


def _turn(value: object, path: str) -> ScriptedTurn:
    keys = {"harmony", "items", "finish_reason", "usage", "when", "repeat", "fail"}
    obj = _object(value, path, keys)
    harmony = _optional(obj.get("harmony"), f"{path}.harmony", lambda v, p: _typed(v, p, str, ""))
    items = tuple(_item(v, f"{path}.items[{i}]") for i, v in enumerate(as_list(obj.get("items"))))
    if (harmony is None) == (not items):
        raise ConfigurationError(f"{path} needs exactly one of harmony or items")
    reason = obj.get("finish_reason")
    return ScriptedTurn(
        harmony=harmony,
        items=items,
        finish_reason=cast(FinishReason, _choice(reason, f"{path}.finish_reason", _REASONS, ""))
        if reason is not None
        else None,  # cast: checked against _REASONS
        usage=_optional(obj.get("usage"), f"{path}.usage", _usage),
        when=_optional(obj.get("when"), f"{path}.when", _rule),
        repeat=_typed(obj.get("repeat"), f"{path}.repeat", bool, False),
        fail=_optional(obj.get("fail"), f"{path}.fail", _failure),
    )


def _item(value: object, path: str) -> ScriptedItem:
    obj = _object(value, path, {"kind", "text", "name", "call_id", "phase"})
    if obj.get("kind") is None:
        raise ConfigurationError(f"{path}.kind is required")
    # casts: each value was checked against its allowed literals by _choice
    kind = cast(ItemKind, _choice(obj.get("kind"), f"{path}.kind", _KINDS, ""))
    name = as_str(obj.get("name"))
    if kind == "tool_call" and not name:
        raise ConfigurationError(f"{path}.name is required for a tool_call")
    return ScriptedItem(
        kind=kind,
        text=_typed(obj.get("text"), f"{path}.text", str, ""),
        name=name,
        call_id=_optional(
            obj.get("call_id"), f"{path}.call_id", lambda v, p: _typed(v, p, str, "")
        ),
        phase=cast(Phase, _choice(obj.get("phase"), f"{path}.phase", _PHASES, "final_answer")),
    )


def _usage(value: object, path: str) -> Usage:
    keys = {"input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens"}
    obj = _object(value, path, keys)
    counts = {key: _typed(obj.get(key), f"{path}.{key}", int, 0) for key in keys}
    return Usage(**counts)


def _rule(value: object, path: str) -> TurnRule:
    obj = _object(value, path, {"last_item_type", "last_text_contains"})
    return TurnRule(as_str(obj.get("last_item_type")), as_str(obj.get("last_text_contains")))


def _failure(value: object, path: str) -> ScriptedFailure:
    obj = _object(value, path, {"kind", "after_events", "status", "message"})
    if obj.get("kind") is None:
        raise ConfigurationError(f"{path}.kind is required")
    kind = cast(FailureKind, _choice(obj.get("kind"), f"{path}.kind", _FAILURES, ""))  # checked
    return ScriptedFailure(
        kind=kind,
        after_events=as_int(obj.get("after_events")) or 0,
        status=_typed(obj.get("status"), f"{path}.status", int, 500),
        message=_typed(obj.get("message"), f"{path}.message", str, "scripted failure"),
    )
