"""From a Python signature to a pydantic arguments model and a JSON schema (private).

The signature and type hints of a tool function become one pydantic model built with
``create_model``: pydantic owns the type-to-schema mapping and the validation, so there is no hand
written type walker here. The docstring (Google style) gives the tool description and the
per-parameter descriptions. Used by :mod:`antiphon.realtime.tools` and the handoff input schema.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from antiphon.exceptions import ConfigurationError

__all__ = ["ArgumentsModel", "build_arguments_model", "parse_docstring", "summarise_errors"]

_ARGS_HEADERS = frozenset({"args:", "arguments:", "parameters:", "params:"})
_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:$")
_ARG_LINE = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(?:\([^)]*\))?\s*:\s*(?P<text>.*)$")
# Tool arguments reject unknown keys: the schema says so (additionalProperties: false), which
# is also what strict function calling requires of every object.
_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class ArgumentsModel:
    """A function's arguments as a pydantic model, with what the caller needs to call it."""

    model: type[BaseModel]
    json_schema: dict[str, object]
    description: str
    parameters: tuple[str, ...]
    positional_only: tuple[str, ...]
    wants_context: bool


def build_arguments_model(fn: Callable[..., object], context_type: type) -> ArgumentsModel:
    """Describe ``fn``; a first parameter annotated ``context_type`` is injected, not described.

    Raises :class:`~antiphon.ConfigurationError` for ``*args``/``**kwargs`` or hints pydantic
    cannot turn into a schema.
    """
    name = getattr(fn, "__name__", type(fn).__name__)
    try:
        params = list(inspect.signature(fn).parameters.values())
        # Hints are user types: Any is the honest type at this boundary.
        hints: dict[str, Any] = typing.get_type_hints(_annotated(fn), include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigurationError(f"cannot read the signature of tool {name!r}: {exc}") from exc
    wants_context = bool(params) and hints.get(params[0].name) is context_type
    if wants_context:
        params = params[1:]
    summary, arg_docs = parse_docstring(inspect.getdoc(fn))
    fields: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(f"tool {name!r}: *args and **kwargs cannot be described")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (
            hints.get(param.name, Any),
            Field(default, description=arg_docs.get(param.name)),
        )
    try:
        model = create_model(f"{name}_args", __config__=_CONFIG, **fields)
        schema = model.model_json_schema()
    except Exception as exc:  # pydantic raises several types for an unsupported hint
        raise ConfigurationError(f"cannot build the schema of tool {name!r}: {exc}") from exc
    schema.pop("title", None)
    return ArgumentsModel(
        model=model,
        json_schema=schema,
        description=summary,
        parameters=tuple(p.name for p in params),
        positional_only=tuple(p.name for p in params if p.kind is p.POSITIONAL_ONLY),
        wants_context=wants_context,
    )


def _annotated(fn: Callable[..., object]) -> object:
    """Where ``fn``'s annotations live: itself, or ``__call__`` for a callable object."""
    if inspect.isroutine(fn) or isinstance(fn, type):
        return fn
    return type(fn).__call__


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary paragraph and ``Args:`` descriptions."""
    if not doc:
        return "", {}
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line.strip()):
            break
        summary.append(line.strip())
    return " ".join(summary), _parse_args_section(lines)


def _parse_args_section(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    inside = False
    entry_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not inside:
            inside = stripped.lower() in _ARGS_HEADERS and indent == 0
            continue
        if stripped and indent == 0:
            break  # the next section (Returns:, Raises:, ...) or prose
        if not stripped:
            continue
        entry_indent = indent if entry_indent is None else entry_indent
        match = _ARG_LINE.match(stripped)
        if indent == entry_indent and match:
            current = str(match["name"])
            docs[current] = str(match["text"]).strip()
        elif current is not None:
            docs[current] = f"{docs[current]} {stripped}".strip()
    return docs


def summarise_errors(exc: ValidationError) -> str:
    """A compact, model-readable account of a validation failure (no input values echoed)."""
    parts: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)
