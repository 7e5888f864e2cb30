"""The official OpenAI Agents SDK runs an agent with a ``HostedMCPTool`` against antiphon.

The scripted model answers only once the MCP call's real output holds the sum (its answer turn
matches on that text), so the run's final output carries the MCP server's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from agents import Agent, HostedMCPTool, OpenAIResponsesModel, Runner, set_tracing_disabled
from openai import AsyncOpenAI

from tests.e2e.conftest import ToolsServer

pytestmark = pytest.mark.e2e


@pytest.fixture
async def sdk_client(tools_server: ToolsServer) -> AsyncIterator[AsyncOpenAI]:
    set_tracing_disabled(True)
    async with AsyncOpenAI(
        base_url=f"{tools_server.process.url}/v1", api_key="unused", max_retries=0, timeout=30.0
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("model", "label", "answer"),
    [("scripted-mcp-stdio", "local", "42"), ("scripted-mcp-http", "weather", "Sunny")],
)
async def test_an_agent_with_a_hosted_mcp_tool_answers_with_the_servers_result(
    sdk_client: AsyncOpenAI, model: str, label: str, answer: str
) -> None:
    tool = HostedMCPTool(
        tool_config={"type": "mcp", "server_label": label, "require_approval": "never"}
    )
    agent = Agent(
        name="calculator",
        instructions="Use the MCP tools.",
        model=OpenAIResponsesModel(model=model, openai_client=sdk_client),
        tools=[tool],
    )
    result = await Runner.run(agent, "Use the tool.")
    assert answer in str(result.final_output)
    kinds = [item.type for item in result.new_items]
    assert "mcp_list_tools_item" in kinds
    assert kinds[-1] == "message_output_item"
    calls = [
        item.raw_item
        for item in result.new_items
        if item.type == "tool_call_item" and getattr(item.raw_item, "type", None) == "mcp_call"
    ]
    assert len(calls) == 1
