"""ToolRuntime.for_request: a request's MCP credentials reach the binding and nothing else."""

from __future__ import annotations

import json

import pytest

from antiphon.exceptions import InvalidRequestError
from antiphon.responses.request import parse_create_body
from antiphon.responses.runtime import ToolRuntime
from antiphon.store.base import ConversationSegment, StoredItem
from antiphon.tools.mcp import McpServerConfig, ResolvedMcpTool
from antiphon.tools.mcp.outcome import McpCallOutcome, McpListOutcome

TOKEN = "tok-unit-secret"


class RecordingPool:
    """An McpExecutor that records the resolved tools it is asked about."""

    def __init__(self) -> None:
        self.seen: list[ResolvedMcpTool] = []

    async def list_tools(self, tool: ResolvedMcpTool) -> McpListOutcome:
        self.seen.append(tool)
        return McpListOutcome()

    async def call_tool(
        self, tool: ResolvedMcpTool, name: str, arguments_json: str
    ) -> McpCallOutcome:
        self.seen.append(tool)
        return McpCallOutcome(output="ok")


def _runtime(pool: RecordingPool) -> ToolRuntime:
    config = McpServerConfig("docs", "http", url="http://127.0.0.1:9000/mcp")
    return ToolRuntime(mcp_servers={"docs": config}, mcp=pool)


def _body(**tool: object) -> dict[str, object]:
    return {"model": "m", "input": "hi", "tools": [{"type": "mcp", "server_label": "docs", **tool}]}


async def test_credentials_reach_the_binding_but_leave_the_echoed_tools() -> None:
    pool = RecordingPool()
    body = parse_create_body(_body(authorization=TOKEN, headers={"X-Key": "hdr-secret"}))
    tools = _runtime(pool).for_request(body, (), ())
    await tools.mcp[0].list_tools()
    assert dict(pool.seen[0].headers) == {"X-Key": "hdr-secret", "Authorization": f"Bearer {TOKEN}"}
    echoed = body.model_dump_json()
    assert TOKEN not in echoed
    assert "hdr-secret" not in echoed


def test_a_body_without_credentials_is_unchanged() -> None:
    body = parse_create_body(_body(allowed_tools=["a"]))
    tool = body.tools[0]
    assert tool.type == "mcp"
    assert body.mcp_tool(0, tool) is tool


def test_an_earlier_listing_in_the_chain_marks_the_label_listed() -> None:
    listed = StoredItem("mcpl_1", json.dumps({"type": "mcp_list_tools", "server_label": "docs"}))
    chain = (ConversationSegment("resp_1", (), (listed,), ()),)
    tools = _runtime(RecordingPool()).for_request(parse_create_body(_body()), chain, ())
    assert tools.listed_labels == frozenset({"docs"})


def test_an_approval_response_without_its_request_is_a_400() -> None:
    answer = StoredItem(
        "a1",
        json.dumps(
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_x", "approve": True}
        ),
    )
    with pytest.raises(InvalidRequestError, match="mcpr_x"):
        _runtime(RecordingPool()).for_request(parse_create_body(_body()), (), (answer,))


def test_the_code_interpreter_is_a_400_when_the_operator_disabled_it() -> None:
    body = parse_create_body(
        {
            "model": "m",
            "input": "hi",
            "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}],
        }
    )
    with pytest.raises(InvalidRequestError, match="disabled") as caught:
        ToolRuntime().for_request(body, (), ())
    assert caught.value.param == "tools[0]"
