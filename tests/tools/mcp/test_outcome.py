from __future__ import annotations

import base64

from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from openai.types.responses.mcp_tool_call_error import McpToolExecutionError

from antiphon.tools.mcp import McpCallOutcome, serialize_result

PNG = base64.b64encode(b"\x89PNG" + bytes(96)).decode()


def test_every_block_kind_is_serialised_in_order() -> None:
    result = CallToolResult(
        content=[
            TextContent(text="first"),
            ImageContent(data=PNG, mime_type="image/png"),
            AudioContent(data=base64.b64encode(bytes(10)).decode(), mime_type="audio/wav"),
            ResourceLink(uri="file:///a.txt", name="a.txt", mime_type="text/plain"),
            EmbeddedResource(resource=TextResourceContents(uri="mem://note", text="hello")),
            EmbeddedResource(resource=BlobResourceContents(uri="mem://blob", blob=PNG)),
        ]
    )
    assert serialize_result(result).split("\n") == [
        "first",
        "[image: image/png, 100 bytes]",
        "[audio: audio/wav, 10 bytes]",
        "[resource link: file:///a.txt (a.txt, text/plain)]",
        "[resource: mem://note]",
        "hello",
        "[resource: mem://blob, application/octet-stream, 100 bytes]",
    ]


def test_structured_content_is_appended_when_not_already_in_text() -> None:
    result = CallToolResult(content=[TextContent(text="done")], structured_content={"n": 2})
    assert serialize_result(result) == 'done\n{"n": 2}'


def test_structured_content_equal_to_a_text_block_is_not_repeated() -> None:
    result = CallToolResult(content=[TextContent(text='{"n": 2}')], structured_content={"n": 2})
    assert serialize_result(result) == '{"n": 2}'


def test_sdk_result_wrapper_is_not_repeated() -> None:
    result = CallToolResult(content=[TextContent(text="42")], structured_content={"result": 42})
    assert serialize_result(result) == "42"


def test_structured_only_result_is_still_shown() -> None:
    result = CallToolResult(content=[], structured_content={"result": [1, 2]})
    assert serialize_result(result) == '{"result": [1, 2]}'


def test_long_output_is_cut_with_a_marker() -> None:
    result = CallToolResult(content=[TextContent(text="x" * 150)])
    assert serialize_result(result, limit=100) == "x" * 100 + "\n[... truncated 50 characters]"


def test_outcomes_explain_themselves_to_the_model() -> None:
    assert McpCallOutcome(output="ok").model_text() == "ok"
    assert McpCallOutcome(output="ok").error_message() is None
    failed = McpCallOutcome.tool_error("boom")
    assert isinstance(failed.error, McpToolExecutionError)
    assert failed.model_text() == "Error: the tool failed: boom"
    assert failed.error_message() == "boom"
    timeout = McpCallOutcome.protocol_error(-32001, "no answer within 3 s")
    assert timeout.model_text() == "Error: MCP error -32001: no answer within 3 s"
    assert not timeout.ok
    odd = McpCallOutcome(error=McpToolExecutionError(type="mcp_tool_execution_error", content="x"))
    assert odd.model_text() == "Error: the tool failed: x"
