from __future__ import annotations

import enum
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from antiphon.exceptions import ConfigurationError
from antiphon.realtime._schema import build_arguments_model, parse_docstring
from antiphon.realtime.tools import ToolContext


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    city: str


class Options(TypedDict):
    verbose: bool


def described(
    city: str,
    days: int = 3,
    scale: Literal["c", "f"] = "c",
    note: str | None = None,
) -> str:
    """Forecast the weather.

    Second paragraph is not part of the summary.

    Args:
        city: The city to look up,
            spelled in full.
        days (int): How many days.

    Returns:
        The forecast.
    """
    return city


def test_schema_has_types_defaults_and_docstring_descriptions() -> None:
    spec = build_arguments_model(described, ToolContext)
    schema = spec.json_schema
    props = schema["properties"]
    assert isinstance(props, dict)
    assert props["city"] == {
        "type": "string",
        "title": "City",
        "description": "The city to look up, spelled in full.",
    }
    assert props["days"] == {
        "type": "integer",
        "default": 3,
        "title": "Days",
        "description": "How many days.",
    }
    assert props["scale"]["enum"] == ["c", "f"]
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert schema["required"] == ["city"]
    assert schema["additionalProperties"] is False
    assert "title" not in schema
    assert spec.description == "Forecast the weather."
    assert spec.wants_context is False


def test_schema_supports_enums_models_typeddicts_lists_and_dicts() -> None:
    def fn(
        color: Color, address: Address, options: Options, tags: list[str], extra: dict[str, int]
    ) -> None: ...

    schema = build_arguments_model(fn, ToolContext).json_schema
    defs = schema["$defs"]
    assert isinstance(defs, dict)
    assert defs["Color"]["enum"] == ["red", "blue"]
    assert defs["Address"]["required"] == ["street", "city"]
    assert defs["Options"]["properties"]["verbose"]["type"] == "boolean"
    props = schema["properties"]
    assert isinstance(props, dict)
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "title": "Tags"}
    assert props["extra"]["additionalProperties"] == {"type": "integer"}


def test_first_parameter_annotated_tool_context_is_injected_not_described() -> None:
    def fn(ctx: ToolContext, query: str) -> str:
        return query

    spec = build_arguments_model(fn, ToolContext)
    assert spec.wants_context is True
    assert spec.parameters == ("query",)
    assert spec.json_schema["required"] == ["query"]


def test_star_args_are_rejected_as_a_configuration_error() -> None:
    def fn(*items: str) -> None: ...

    with pytest.raises(ConfigurationError, match=r"\*args"):
        build_arguments_model(fn, ToolContext)


def test_an_unschemable_hint_is_a_configuration_error() -> None:
    def fn(value: object.__class__) -> None: ...  # a metaclass: pydantic has no schema for it

    with pytest.raises(ConfigurationError, match="schema"):
        build_arguments_model(fn, ToolContext)


def test_docstring_without_args_section_gives_only_the_summary() -> None:
    assert parse_docstring("Just a summary\nover two lines.") == (
        "Just a summary over two lines.",
        {},
    )
    assert parse_docstring(None) == ("", {})


def test_docstring_args_section_ends_at_the_next_section() -> None:
    doc = "Summary.\n\nArgs:\n    a: first\n    *rest: ignored later\nRaises:\n    b: not an arg"
    assert parse_docstring(doc) == ("Summary.", {"a": "first", "rest": "ignored later"})


@given(st.text())
def test_docstring_parser_never_raises(doc: str) -> None:
    summary, args = parse_docstring(doc)
    assert isinstance(summary, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in args.items())


def test_an_unreadable_signature_is_a_configuration_error() -> None:
    def fn(value: int) -> None: ...

    fn.__annotations__["value"] = "Missing"  # a forward reference that cannot be resolved

    with pytest.raises(ConfigurationError, match="cannot read the signature"):
        build_arguments_model(fn, ToolContext)


def test_docstring_text_before_the_first_argument_is_ignored() -> None:
    doc = "Summary.\n\nArgs:\n    stray words\n    a: first\n        continued"
    assert parse_docstring(doc) == ("Summary.", {"a": "first continued"})
