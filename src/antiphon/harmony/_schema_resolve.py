"""Normalisation of a client's JSON Schema before it is rendered as TypeScript.

Role: the renderer in :mod:`antiphon.harmony.schema` only knows plain ``type``/``properties``/
``items``/``oneOf`` nodes. This module removes what it does not know: local ``$ref`` pointers
(``#/$defs/...``, ``#/definitions/...``, any ``#/...`` JSON pointer) are inlined with their sibling
keys layered on top, and ``allOf`` members are merged into one node. Boundary: pure functions over
JSON values that never raise; anything unresolvable (remote refs, cycles) resolves to ``None``,
which the renderer prints as ``any``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, cast

__all__ = ["JsonMap", "Resolver", "as_list", "as_map", "as_str"]

#: A JSON object as decoded by ``json``. Keys are typed ``object`` because a Python caller may
#: hand over a mapping with non-string keys; lookups by string still work.
JsonMap = Mapping[object, object]

#: ``$ref`` chains longer than this (``A -> B -> C ...`` without nesting) are treated as broken.
_MAX_REF_HOPS: Final = 16


def as_map(value: object) -> JsonMap | None:
    """``value`` as a JSON object, or ``None`` when it is anything else."""
    if isinstance(value, Mapping):
        # JSON boundary: a decoded JSON object; its values are untyped by nature.
        return cast("JsonMap", value)
    return None


def as_list(value: object) -> Sequence[object] | None:
    """``value`` as a JSON array, or ``None`` (strings are not arrays here)."""
    if isinstance(value, list | tuple):
        # JSON boundary: a decoded JSON array; its items are untyped by nature.
        return cast("Sequence[object]", value)
    return None


def as_str(value: object) -> str | None:
    """``value`` when it is a string, else ``None``."""
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Resolver:
    """Resolves nodes of one schema document against its root (where ``#`` points)."""

    root: JsonMap

    def resolve(
        self, node: object, active: frozenset[str] = frozenset()
    ) -> tuple[JsonMap | None, frozenset[str]]:
        """The node with ``$ref`` inlined and ``allOf`` merged, and the refs now being expanded.

        ``active`` holds the refs already expanded on the path from the root to this node; meeting
        one again means the schema is recursive, and the recursive occurrence resolves to ``None``
        so that rendering stops there instead of unrolling the cycle.
        """
        current = as_map(node)
        hops = 0
        while current is not None and (ref := as_str(current.get("$ref"))) is not None:
            if ref in active or hops == _MAX_REF_HOPS:
                return None, active
            active = active | {ref}
            hops += 1
            siblings = {key: value for key, value in current.items() if key != "$ref"}
            target = self._lookup(ref)
            # Keys written next to the $ref (a description, a default) win over the target's.
            current = siblings if target is None else {**target, **siblings}
        if current is not None and "allOf" in current:
            current = self._merge_all_of(current, active)
        return current, active

    def _lookup(self, ref: str) -> JsonMap | None:
        if ref != "#" and not ref.startswith("#/"):
            return None  # remote documents are never fetched; plain-name anchors are not indexed
        node: object = self.root
        for raw in ref[2:].split("/") if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if (mapping := as_map(node)) is not None:
                node = mapping.get(part)
            elif (items := as_list(node)) is not None and part.isdigit() and int(part) < len(items):
                node = items[int(part)]
            else:
                return None
        return as_map(node)

    def _merge_all_of(self, node: JsonMap, active: frozenset[str]) -> JsonMap:
        merged: dict[object, object] = {k: v for k, v in node.items() if k != "allOf"}
        properties: dict[object, object] = dict(as_map(merged.get("properties")) or {})
        required: list[object] = list(as_list(merged.get("required")) or [])
        for member in as_list(node.get("allOf")) or []:
            part, _ = self.resolve(member, active)
            if part is None:
                continue
            properties.update(as_map(part.get("properties")) or {})
            required.extend(as_list(part.get("required")) or [])
            for key, value in part.items():
                merged.setdefault(key, value)
        if properties:
            merged["properties"] = properties
            merged.setdefault("type", "object")
        if required:
            merged["required"] = required
        return merged
