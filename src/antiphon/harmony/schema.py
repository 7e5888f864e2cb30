"""JSON Schema to the TypeScript-like type syntax gpt-oss reads its tools in.

Role: turn the ``parameters`` schema a client sent for a function tool into the text harmony puts
inside ``type name = (_: ...) => any;``: ``// description`` above each property, ``name?:`` when it
is not required, a trailing ``// default: ...``, literal unions for ``enum``/``const``, ``T[]`` for
arrays, ``a | b`` for type lists and ``anyOf``, a multi-line `` | `` union for ``oneOf``, ``| null``
for ``nullable``. Local ``$ref`` and ``allOf`` are resolved first (see ``_schema_resolve``).

Boundary: pure text, no I/O, and it never raises: whatever a client sends, an unknown or broken
node renders as ``any``. Recursion is cut where a ``$ref`` re-enters itself, nesting is capped at
``_MAX_DEPTH`` and rendered nodes plus properties at ``_MAX_NODES``, so a hostile schema cannot
blow up the prompt. Free text (descriptions, defaults) only ever lands in ``//`` comments broken
at line ends, and keys and literals are JSON-quoted, so brackets stay balanced outside comments and
strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final

from antiphon.harmony._schema_resolve import JsonMap, Resolver, as_list, as_map, as_str

__all__ = ["function_signature", "schema_to_typescript"]

_MAX_DEPTH: Final = 12
_MAX_NODES: Final = 1000
_INDENT: Final = "    "
_IDENTIFIER: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SCALARS: Final = {
    "string": "string",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "null": "null",
}
# Keys that do not make an object schema "take arguments".
_NO_ARGUMENT_KEYS: Final = frozenset(
    {"type", "title", "description", "$schema", "additionalProperties", "properties", "required"}
)


def schema_to_typescript(schema: object) -> str:
    """The TypeScript-like rendering of one JSON Schema (top-level properties are not indented)."""
    return _Renderer(schema).render(schema, "", 0, frozenset())


def function_signature(name: str, parameters: object | None) -> str:
    """``type name = (_: {...}) => any;``, or ``type name = () => any;`` without parameters.

    A missing schema, an empty one and an object schema with no properties all mean "no
    parameters": the model is then shown a call that takes no argument object at all.
    """
    if _takes_no_arguments(parameters):
        return f"type {name} = () => any;"
    text = schema_to_typescript(parameters)
    return f"type {name} = (_:{'' if text.startswith(chr(10)) else ' '}{text}) => any;"


def _takes_no_arguments(parameters: object | None) -> bool:
    if parameters is None:
        return True
    schema, _ = Resolver(as_map(parameters) or {}).resolve(parameters)
    if schema is None:
        return False
    is_object = schema.get("type", "object") == "object"
    return is_object and not as_map(schema.get("properties")) and set(schema) <= _NO_ARGUMENT_KEYS


class _Renderer:
    """Renders the nodes of one schema document, spending a shared node budget."""

    __slots__ = ("_budget", "_resolver")

    def __init__(self, document: object) -> None:
        self._resolver = Resolver(as_map(document) or {})
        self._budget = _MAX_NODES

    def render(self, node: object, indent: str, depth: int, active: frozenset[str]) -> str:
        """One node; ``indent`` is the indentation of the line the node's text starts on."""
        schema, active = self._resolver.resolve(node, active)
        if schema is None or depth > _MAX_DEPTH or self._budget <= 0:
            return "any"
        self._budget -= 1
        text = self._body(schema, indent, depth, active)
        if schema.get("nullable") is True and "null" not in text.split(" | "):
            # A multi-line union ends with a fresh line at ``indent``: add null as one more line.
            text += f" | null\n{indent}" if text.startswith("\n") else " | null"
        return text

    def _body(self, schema: JsonMap, indent: str, depth: int, active: frozenset[str]) -> str:
        if variants := as_list(schema.get("oneOf")):
            return self._variants(variants, indent, depth, active)
        if variants := as_list(schema.get("anyOf")):
            parts = [self.render(v, indent, depth + 1, active) for v in variants]
            if any("\n" in part for part in parts):
                return self._variants(variants, indent, depth, active)
            return " | ".join(_unique(parts))
        if (const := _literal(schema.get("const"))) is not None and "const" in schema:
            return const
        if (literals := _enum(schema)) is not None:
            return literals
        kind = schema.get("type")
        if (kinds := as_list(kind)) is not None:
            members = {k: v for k, v in schema.items() if k not in ("type", "nullable")}
            parts = [self.render({**members, "type": k}, indent, depth + 1, active) for k in kinds]
            return " | ".join(_unique(parts)) or "any"
        if kind == "object" or (kind is None and "properties" in schema):
            return self._object(schema, indent, depth, active)
        if kind == "array" or (kind is None and "items" in schema):
            return self._array(schema, indent, depth, active)
        return _SCALARS.get(as_str(kind) or "", "any")

    def _object(self, schema: JsonMap, indent: str, depth: int, active: frozenset[str]) -> str:
        # Top-level properties sit at column 0, as in the format gpt-oss was trained on.
        inner = indent if depth == 0 else indent + _INDENT
        lines = ["{", *_comment_lines(schema.get("description"), inner)]
        # Only string entries name properties; anything else in a hand-written schema is noise.
        required = {name for name in as_list(schema.get("required")) or () if isinstance(name, str)}
        for key, value in (as_map(schema.get("properties")) or {}).items():
            if self._budget <= 0:
                break  # each property is a line of prompt: the node budget bounds them too
            if isinstance(key, str):
                self._budget -= 1
                lines += self._property(key, value, key in required, inner, depth, active)
        lines.append(f"{indent}}}")
        return "\n".join(lines)

    def _property(
        self,
        key: str,
        value: object,
        required: bool,
        inner: str,
        depth: int,
        active: frozenset[str],
    ) -> list[str]:
        info, inner_active = self._resolver.resolve(value, active)
        info = info or {}
        lines = _header_comments(key, info, inner)
        name = (key if _IDENTIFIER.fullmatch(key) else _json(key)) + ("" if required else "?")
        # The description already stands above the property; do not repeat it inside the braces.
        bare = {k: v for k, v in info.items() if k != "description"}
        text = self.render(bare, inner, depth + 1, inner_active) if info else "any"
        space = "" if text.startswith("\n") else " "
        lines.append(f"{inner}{name}:{space}{text},{_default_comment(info)}")
        return lines

    def _variants(
        self,
        variants: Sequence[object],
        indent: str,
        depth: int,
        active: frozenset[str],
    ) -> str:
        """A multi-line `` | `` union ending on a fresh line (so no comment eats what follows)."""
        lines = [""]
        for variant in variants:
            info, inner_active = self._resolver.resolve(variant, active)
            info = info or {}
            # A variant's description trails its line; keep it out of the braces.
            bare = {k: v for k, v in info.items() if k != "description"}
            text = self.render(bare, indent + "   ", depth + 1, inner_active) if info else "any"
            notes = [
                note for note in (as_str(info.get("description")), _default_text(info)) if note
            ]
            comment = f" // {_one_line(' '.join(notes))}" if notes else ""
            lines.append(f"{indent} | {text}{comment}")
        lines.append(indent)
        return "\n".join(lines)

    def _array(self, schema: JsonMap, indent: str, depth: int, active: frozenset[str]) -> str:
        items = schema.get("items")
        if as_map(items) is None:
            return "Array<any>"
        text = self.render(items, indent, depth + 1, active)
        if text.startswith("{") and text.endswith("}"):
            return f"{text}[]"
        if "\n" in text:
            return f"Array<{text}>"
        return f"({text})[]" if " | " in text else f"{text}[]"


def _header_comments(key: str, info: JsonMap, indent: str) -> list[str]:
    lines: list[str] = []
    title = as_str(info.get("title"))
    # Generated titles that only restate the key ("num_lines" -> "Num Lines") are noise.
    if title and _squash(title) != _squash(key):
        lines += [*_comment_lines(title, indent), f"{indent}//"]
    lines += _comment_lines(info.get("description"), indent)
    if examples := as_list(info.get("examples")):
        lines.append(f"{indent}// Examples:")
        lines += [f"{indent}// - {_one_line(_json(example))}" for example in examples]
    return lines


def _comment_lines(text: object, indent: str) -> list[str]:
    return [f"{indent}// {line}" for line in (as_str(text) or "").splitlines()]


def _default_comment(info: JsonMap) -> str:
    text = _default_text(info)
    return f" // {_one_line(text)}" if text else ""


def _default_text(info: JsonMap) -> str | None:
    if "default" not in info:
        return None
    value = info["default"]
    # Enum defaults are shown bare (the literal union already quotes the choices).
    shown = value if isinstance(value, str) and "enum" in info else _json(value)
    return f"default: {shown}"


def _enum(schema: JsonMap) -> str | None:
    values = as_list(schema.get("enum"))
    if not values:
        return None
    literals = [_literal(value) for value in values]
    if any(literal is None for literal in literals):
        return None
    return " | ".join(_unique([literal for literal in literals if literal is not None]))


def _literal(value: object) -> str | None:
    """A JSON scalar as a TypeScript literal; ``None`` for arrays, objects and foreign values."""
    if value is None or isinstance(value, str | bool | int | float):
        return _json(value)
    return None


def _json(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    except (TypeError, ValueError, RecursionError):
        return "..."
    # JSON leaves U+2028/U+2029 raw, but JavaScript-like readers treat them as line ends.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _unique(parts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(parts))
