"""Type guards over decoded JSON, shared by the checkers (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeGuard

__all__ = ["JSON", "as_json", "is_json", "is_list"]

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
