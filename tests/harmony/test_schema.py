from __future__ import annotations

from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from antiphon.harmony.schema import function_signature, schema_to_typescript

_CLOSERS: Final = {"}": "{", ")": "(", "]": "["}


def _brackets_balance(text: str) -> bool:
    """Brackets outside ``//`` comments and JSON string literals pair up (a tiny lexer)."""
    stack: list[str] = []
    in_string = in_comment = escaped = False
    for index, char in enumerate(text):
        if in_comment:
            in_comment = char != "\n"
        elif in_string:
            if char == "\n":
                return False  # a literal must never span lines
            in_string = escaped or char != '"'
            escaped = not escaped and char == "\\"
        elif char == '"':
            in_string = True
        elif text.startswith("//", index):
            in_comment = True
        elif char in "{([":
            stack.append(char)
        elif char in _CLOSERS and (not stack or stack.pop() != _CLOSERS[char]):
            return False
    return not stack and not in_string


def test_weather_function_renders_description_optional_enum_and_default() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Lisbon"},
            "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
            "days": {"type": "integer", "default": 1},
        },
        "required": ["city"],
    }
    assert function_signature("forecast", schema) == (
        "type forecast = (_: {\n"
        "// City name, e.g. Lisbon\n"
        "city: string,\n"
        'unit?: "c" | "f", // default: c\n'
        "days?: number, // default: 1\n"
        "}) => any;"
    )


@pytest.mark.parametrize(
    "parameters",
    [None, {}, {"type": "object"}, {"type": "object", "properties": {}, "required": []}],
)
def test_function_without_parameters_takes_no_argument(parameters: object) -> None:
    assert function_signature("ping", parameters) == "type ping = () => any;"


def test_non_object_parameters_are_still_rendered() -> None:
    assert function_signature("echo", {"type": "string"}) == "type echo = (_: string) => any;"


def test_arrays_render_item_types_and_fall_back_to_array_of_any() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "blob": {"type": "array"},
            "modes": {"type": "array", "items": {"enum": ["r", "w"]}},
            "points": {
                "type": "array",
                "items": {"type": "object", "properties": {"x": {"type": "number"}}},
            },
        },
        "required": ["tags", "blob", "modes", "points"],
    }
    assert schema_to_typescript(schema) == (
        "{\n"
        "tags: string[],\n"
        "blob: Array<any>,\n"
        'modes: ("r" | "w")[],\n'
        "points: {\n"
        "    x?: number,\n"
        "}[],\n"
        "}"
    )


def test_nested_objects_indent_and_object_description_goes_inside_braces() -> None:
    schema = {
        "type": "object",
        "description": "Where to ship.",
        "properties": {
            "address": {
                "type": "object",
                "description": "Postal address",
                "properties": {"street": {"type": "string", "description": "Line one"}},
                "required": ["street"],
            }
        },
    }
    assert schema_to_typescript(schema) == (
        "{\n"
        "// Where to ship.\n"
        "// Postal address\n"
        "address?: {\n"
        "    // Line one\n"
        "    street: string,\n"
        "},\n"
        "}"
    )


def test_local_refs_are_inlined_with_sibling_keys_winning() -> None:
    schema = {
        "type": "object",
        "$defs": {"Size": {"type": "string", "enum": ["s", "m"], "description": "Shirt size"}},
        "definitions": {"Qty": {"type": "integer"}},
        "properties": {
            "size": {"$ref": "#/$defs/Size", "description": "Size to order"},
            "qty": {"$ref": "#/definitions/Qty", "default": 1},
        },
        "required": ["size"],
    }
    assert schema_to_typescript(schema) == (
        '{\n// Size to order\nsize: "s" | "m",\nqty?: number, // default: 1\n}'
    )


def test_recursive_ref_stops_at_the_cycle() -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
        "$ref": "#/$defs/Node",
    }
    assert schema_to_typescript(schema) == ("{\nname?: string,\nchildren?: any[],\n}")


def test_ref_cycles_without_nesting_and_unresolvable_refs_become_any() -> None:
    cycle = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}
    assert schema_to_typescript(cycle) == "any"
    assert schema_to_typescript({"$ref": "https://example.com/s.json"}) == "any"
    assert schema_to_typescript({"$ref": "#/$defs/missing"}) == "any"
    assert schema_to_typescript({"$ref": "#anchor"}) == "any"
    assert schema_to_typescript({"items": [{"type": "string"}], "$ref": "#/items/0"}) == "string"


def test_any_of_and_type_lists_become_inline_unions() -> None:
    schema = {
        "type": "object",
        "properties": {
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "id": {"type": ["integer", "string"]},
            "mixed": {"anyOf": [{"type": "integer"}, {"type": "number"}]},
        },
    }
    assert schema_to_typescript(schema) == (
        "{\nnote?: string | null, // default: null\nid?: number | string,\nmixed?: number,\n}"
    )


def test_one_of_renders_a_multi_line_union_with_variant_comments() -> None:
    schema = {
        "type": "object",
        "properties": {
            "target": {
                "description": "Who to notify",
                "oneOf": [
                    {"type": "string", "description": "A user name"},
                    {
                        "type": "object",
                        "description": "A team",
                        "properties": {"team_id": {"type": "integer"}},
                        "required": ["team_id"],
                    },
                ],
            }
        },
        "required": ["target"],
    }
    assert schema_to_typescript(schema) == (
        "{\n"
        "// Who to notify\n"
        "target:\n"
        " | string // A user name\n"
        " | {\n"
        "       team_id: number,\n"
        "   } // A team\n"
        ",\n"
        "}"
    )


def test_nullable_adds_null_once() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "nullable": True},
            "b": {"type": ["string", "null"], "nullable": True},
            "c": {"oneOf": [{"type": "string"}, {"type": "number"}], "nullable": True},
        },
    }
    assert schema_to_typescript(schema) == (
        "{\na?: string | null,\nb?: string | null,\nc?:\n | string\n | number\n | null\n,\n}"
    )


def test_const_and_non_string_enums_render_as_literals() -> None:
    schema = {
        "type": "object",
        "properties": {
            "kind": {"const": "circle"},
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "flag": {"enum": [True, None]},
            "odd": {"type": "string", "enum": [{"a": 1}]},
        },
    }
    assert schema_to_typescript(schema) == (
        '{\nkind?: "circle",\nlevel?: 1 | 2 | 3,\nflag?: true | null,\nodd?: string,\n}'
    )


def test_titles_examples_and_defaults_are_comments() -> None:
    schema = {
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "title": "Search terms",
                "description": "What to look for.\nKeep it short.",
                "examples": ["red shoes", 'say "hi"'],
                "default": "all\nitems",
            },
            "num_lines": {"type": "integer", "title": "Num Lines", "default": {"max": 5}},
        },
    }
    assert schema_to_typescript(schema) == (
        "{\n"
        "// Search terms\n"
        "//\n"
        "// What to look for.\n"
        "// Keep it short.\n"
        "// Examples:\n"
        '// - "red shoes"\n'
        '// - "say \\"hi\\""\n'
        'query?: string, // default: "all\\nitems"\n'
        'num_lines?: number, // default: {"max":5}\n'
        "}"
    )


def test_keys_that_are_not_identifiers_are_quoted() -> None:
    schema = {"type": "object", "properties": {"content-type": {}, "a b": {"type": "boolean"}}}
    assert schema_to_typescript(schema) == '{\n"content-type"?: any,\n"a b"?: boolean,\n}'


def test_all_of_members_are_merged_into_one_object() -> None:
    schema = {
        "$defs": {"Base": {"type": "object", "properties": {"id": {"type": "string"}}}},
        "allOf": [
            {"$ref": "#/$defs/Base"},
            {"properties": {"extra": {"type": "boolean"}}, "required": ["extra"]},
        ],
    }
    assert schema_to_typescript(schema) == "{\nid?: string,\nextra: boolean,\n}"


@pytest.mark.parametrize(
    "schema",
    [True, False, None, [], "string", 3, {"type": "bogus"}, {"type": 5}, {"properties": 3}],
)
def test_odd_schemas_fall_back_without_raising(schema: object) -> None:
    assert schema_to_typescript(schema) in ("any", "{\n}")


def test_exponential_ref_fan_out_stays_bounded() -> None:
    defs = {
        f"L{i}": {
            "type": "object",
            "properties": {f"p{j}": {"$ref": f"#/$defs/L{i + 1}"} for j in range(8)},
        }
        for i in range(12)
    }
    text = schema_to_typescript({"$defs": defs, "$ref": "#/$defs/L0"})
    assert len(text) < 100_000
    assert _brackets_balance(text)


_KEYWORDS = st.sampled_from(
    [
        "type",
        "properties",
        "items",
        "required",
        "enum",
        "const",
        "oneOf",
        "anyOf",
        "allOf",
        "$ref",
        "nullable",
        "default",
        "description",
        "title",
        "examples",
        "$defs",
    ]
)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["object", "array", "string", "integer", "null", "#", "#/$defs/a", "{(["])
)
_SCHEMAS = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_KEYWORDS | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_SCHEMAS)
def test_arbitrary_schemas_never_raise_and_keep_brackets_balanced(schema: object) -> None:
    text = function_signature("f", schema)
    assert text.startswith("type f = (")
    assert text.endswith(") => any;")
    assert _brackets_balance(text)


def test_any_of_with_an_object_variant_becomes_a_multi_line_union() -> None:
    schema = {"anyOf": [{"type": "object", "properties": {"k": {"type": "string"}}}, {}]}
    assert schema_to_typescript(schema) == "\n | {\n       k?: string,\n   }\n | any\n"


def test_array_of_a_multi_line_union_uses_array_generic() -> None:
    schema = {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "boolean"}]}}
    assert schema_to_typescript(schema) == "Array<\n | string\n | boolean\n>"


def test_python_callers_odd_values_do_not_break_rendering() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    schema: dict[object, object] = {
        "type": "object",
        "properties": {1: {"type": "string"}, "x": {"type": "string", "default": loop}},
        "allOf": [{"$ref": "#/nowhere"}, 5],
    }
    assert schema_to_typescript(schema) == "{\nx?: string, // default: ...\n}"


def test_non_string_required_entries_are_ignored() -> None:
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": [[], "a"],
    }
    assert "a: string" in function_signature("f", schema)
