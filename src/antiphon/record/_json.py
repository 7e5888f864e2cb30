"""Type guards over decoded JSON (the record layer's own: it imports no other layer's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeGuard

__all__ = ["is_list", "is_mapping"]


def is_mapping(value: object) -> TypeGuard[Mapping[str, object]]:
    """A decoded JSON object."""
    return isinstance(value, Mapping)


def is_list(value: object) -> TypeGuard[list[object]]:
    """A decoded JSON array."""
    return isinstance(value, list)
