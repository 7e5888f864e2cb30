from __future__ import annotations

from dataclasses import replace

import pytest
from openai.types.responses import ResponseInputItemParam

from antiphon.engines import (
    ChatOptions,
    EngineRequest,
    ForcedTool,
    FunctionTool,
    HistorySegment,
    McpServerTools,
    TextFormat,
)
from antiphon.engines._chat_request import build_chat_body
from antiphon.engines._http import JSONObject, as_list, as_object
from antiphon.exceptions import ConfigurationError


def _body(
    *items: ResponseInputItemParam, options: ChatOptions | None = None, **changes: object
) -> tuple[JSONObject, dict[str, str]]:
    request = replace(EngineRequest("m", history=(HistorySegment(items),)), **changes)
    return build_chat_body(request, options or ChatOptions())


def _obj(value: object) -> JSONObject:
    obj = as_object(value)
    assert obj is not None
    return obj


def test_images_keep_list_content_and_developer_speaks_as_system() -> None:
    body, _ = _body(
        {"role": "developer", "content": "Rules."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
            ],
        },
    )
    assert body["messages"] == [
        {"role": "system", "content": "Rules."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
            ],
        },
    ]


def test_assistant_text_reasoning_and_calls_merge_into_one_message() -> None:
    body, _ = _body(
        {"type": "reasoning", "id": "r", "summary": [{"type": "summary_text", "text": "plan"}]},
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me run it.", "annotations": []}],
        },
        {
            "type": "code_interpreter_call",
            "id": "ci",
            "code": "print(1)",
            "container_id": "c",
            "status": "completed",
            "outputs": [{"type": "logs", "logs": "1\n"}],
        },
        {
            "type": "web_search_call",
            "id": "ws",
            "status": "completed",
            "action": {"type": "search", "query": "q"},
        },
        options=ChatOptions(
            reasoning_field="reasoning_content",
            max_tokens_field="max_completion_tokens",
            extra_body={"top_k": 5},
        ),
        max_output_tokens=10,
    )
    assert body["messages"] == [
        {
            "role": "assistant",
            "content": "Let me run it.",
            "reasoning_content": "plan",
            "tool_calls": [
                {
                    "id": "ci",
                    "type": "function",
                    "function": {"name": "python", "arguments": '{"code": "print(1)"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "ci", "content": "1\n"},
    ]
    assert (body["max_completion_tokens"], body["top_k"]) == (10, 5)


def test_builtins_and_mcp_tools_are_functions_that_map_back() -> None:
    mcp = McpServerTools("docs", (FunctionTool("search", "Find.", {"type": "object"}),))
    body, recipients = _body(
        mcp_servers=(mcp,),
        code_interpreter=True,
        web_search=True,
        tool_choice=ForcedTool("mcp", "search", "docs"),
        parallel_tool_calls=False,
        text_format=TextFormat("json_object"),
    )
    functions = [_obj(_obj(tool)["function"]) for tool in as_list(body["tools"])]
    assert [function["name"] for function in functions] == [
        "docs__search",
        "python",
        "web_search",
    ]
    assert recipients == {
        "docs__search": "docs.search",
        "python": "python",
        "web_search": "browser.search",
    }
    assert body["tool_choice"] == {"type": "function", "function": {"name": "docs__search"}}
    assert body["parallel_tool_calls"] is False
    assert body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", "required"),
        (ForcedTool("code_interpreter"), {"type": "function", "function": {"name": "python"}}),
    ],
)
def test_tool_choice_forms(choice: object, expected: object) -> None:
    body, _ = _body(code_interpreter=True, tool_choice=choice)
    assert body["tool_choice"] == expected


def test_tool_choice_none_sends_no_tools() -> None:
    body, _ = _body(tools=(FunctionTool("f"),), tool_choice="none")
    assert "tools" not in body
    assert "tool_choice" not in body


def test_function_without_schema_gets_an_empty_object_schema() -> None:
    body, _ = _body(tools=(FunctionTool("f"),))
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]


def test_colliding_tool_names_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="python"):
        _body(tools=(FunctionTool("python"),), code_interpreter=True)


@pytest.mark.parametrize(
    "item",
    [
        {"type": "item_reference", "id": "x"},
        {"role": "user", "content": [{"type": "input_file", "file_id": "f"}]},
    ],
)
def test_unsendable_items_are_a_configuration_error(item: ResponseInputItemParam) -> None:
    with pytest.raises(ConfigurationError, match="cannot be sent"):
        _body(item)


def test_structured_outputs_and_mcp_errors_render() -> None:
    body, _ = _body(
        {
            "type": "mcp_call",
            "id": "m",
            "server_label": "s",
            "name": "t",
            "arguments": "{}",
            "error": {"type": "http_error", "code": 502, "message": "boom"},
        },
        {
            "type": "function_call_output",
            "call_id": "c",
            "output": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}],
        },
        text_format=TextFormat("json_schema", schema={"type": "object"}, description="d"),
    )
    messages = as_list(body["messages"])
    assert messages[1] == {"role": "tool", "tool_call_id": "m", "content": "boom"}
    assert _obj(messages[2])["content"] == "ab"
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": {"type": "object"}, "description": "d"},
    }
