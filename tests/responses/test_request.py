from __future__ import annotations

from typing import Any

import pytest

from antiphon.exceptions import InvalidRequestError
from antiphon.responses.request import parse_create_body

_WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


_MCP: dict[str, Any] = {"type": "mcp", "server_label": "calc", "require_approval": "never"}


def _error(raw: object) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_create_body(raw)
    return caught.value


def test_a_full_request_parses_into_official_types() -> None:
    body = parse_create_body(
        {
            "model": "gpt-oss-20b",
            "input": [
                {"role": "user", "content": "weather?"},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "get_weather",
                    "arguments": "{}",
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            ],
            "instructions": "be brief",
            "tools": [_WEATHER],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "reasoning": {"effort": "high", "summary": "auto"},
            "text": {"format": {"type": "json_object"}},
            "metadata": {"k": "v"},
            "stream": True,
            "stream_options": {"include_obfuscation": False},
            "prompt_cache_key": "abc",
        }
    )
    assert [item.type for item in body.input if not isinstance(item, str)][1:] == [
        "function_call",
        "function_call_output",
    ]
    assert body.tools[0].type == "function"
    assert body.reasoning is not None
    assert body.reasoning.effort == "high"


def test_body_must_be_an_object() -> None:
    assert _error([1, 2]).param is None


@pytest.mark.parametrize(
    ("raw", "param", "code"),
    [
        ({"input": "hi"}, "model", "missing_required_parameter"),
        ({"model": "m"}, "input", "invalid_request"),
        ({"model": "m", "input": "hi", "temperature": 3}, "temperature", "invalid_value"),
        ({"model": "m", "input": "hi", "frobnicate": 1}, "frobnicate", "unknown_parameter"),
        (
            {"model": "m", "input": "hi", "conversation": "c"},
            "conversation",
            "unsupported_parameter",
        ),
        ({"model": "m", "input": "hi", "truncation": "auto"}, "truncation", "invalid_value"),
        (
            {"model": "m", "input": "hi", "background": True, "store": False},
            "background",
            "invalid_request",
        ),
        ({"model": "m", "input": "hi", "stream_options": {}}, "stream_options", "invalid_request"),
        (
            {"model": "m", "input": "hi", "include": ["message.output_text.logprobs"]},
            "include",
            "unsupported_value",
        ),
        (
            {"model": "m", "input": "hi", "tools": [{"type": "web_search"}]},
            "tools[0].type",
            "unsupported_value",
        ),
        (
            {"model": "m", "input": "hi", "tools": [_WEATHER, _WEATHER]},
            "tools[1]",
            "invalid_value",
        ),
        (
            {"model": "m", "input": "hi", "tool_choice": "required"},
            "tool_choice",
            "invalid_request",
        ),
        (
            {
                "model": "m",
                "input": "hi",
                "tools": [_WEATHER],
                "tool_choice": {"type": "function", "name": "other"},
            },
            "tool_choice.name",
            "invalid_request",
        ),
        (
            {"model": "m", "input": "hi", "tool_choice": {"type": "web_search_preview"}},
            "tool_choice.type",
            "unsupported_value",
        ),
        (
            {"model": "m", "input": "hi", "metadata": {str(i): "v" for i in range(17)}},
            "metadata",
            "invalid_request",
        ),
        (
            {"model": "m", "input": "hi", "metadata": {"k": "v" * 513}},
            "metadata",
            "invalid_request",
        ),
        (
            {"model": "m", "input": "hi", "reasoning": {"summary": "detailed"}},
            "reasoning.summary",
            "unsupported_value",
        ),
        (
            {"model": "m", "input": "hi", "reasoning": {"context": "all_turns"}},
            "reasoning.context",
            "unsupported_value",
        ),
    ],
)
def test_bad_requests_are_rejected_naming_the_field(raw: object, param: str, code: str) -> None:
    error = _error(raw)
    assert (error.param, error.code, error.status) == (param, code, 400)
    assert error.message


def test_null_for_an_unsupported_field_is_harmless() -> None:
    body = parse_create_body({"model": "m", "input": "hi", "conversation": None, "prompt": None})
    assert body.input == "hi"


def test_previous_response_id_alone_is_enough_input() -> None:
    body = parse_create_body({"model": "m", "previous_response_id": "resp_1"})
    assert body.previous_response_id == "resp_1"


def test_server_side_tools_and_their_include_are_accepted() -> None:
    body = parse_create_body(
        {
            "model": "m",
            "input": "hi",
            "tools": [_MCP, {"type": "code_interpreter", "container": {"type": "auto"}}],
            "include": ["code_interpreter_call.outputs"],
        }
    )
    assert [tool.type for tool in body.tools] == ["mcp", "code_interpreter"]
