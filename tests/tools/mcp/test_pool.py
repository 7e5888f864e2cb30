"""Contract suite of McpClientPool against the real MCP test server: in-process, over HTTP and
over stdio (those two are e2e: they start the server as a process)."""

from __future__ import annotations

import asyncio
import json

import pytest
from openai.types.responses.mcp_tool_call_error import (
    McpProtocolError,
    McpToolExecutionError,
)

from antiphon.testing.mcp_servers import McpServerProcess
from antiphon.tools.mcp import McpClientPool, McpExecutor, McpServerConfig
from tests.tools.mcp.conftest import resolved, server_stats, wait_for


async def test_listing_shows_every_tool_with_schema_and_annotations(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    outcome = await pool.list_tools(resolved(server_config))
    assert outcome.ok
    tools = {tool.name: tool for tool in outcome.tools}
    assert {"add", "echo", "get_forecast", "snapshot", "fail", "whoami"} <= set(tools)
    assert tools["add"].input_schema == {
        "type": "object",
        "properties": {
            "a": {"title": "A", "type": "integer"},
            "b": {"title": "B", "type": "integer"},
        },
        "required": ["a", "b"],
        "title": "addArguments",
    }
    assert tools["add"].description == "Add two integers."
    assert tools["whoami"].annotations == {"readOnlyHint": True}


async def test_allowed_tools_list_filters_the_listing(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    tool = resolved(server_config, allowed_tools=["add", "echo", "missing"])
    outcome = await pool.list_tools(tool)
    assert [t.name for t in outcome.tools] == ["add", "echo"]


async def test_read_only_filter_keeps_only_read_only_tools(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    tool = resolved(server_config, allowed_tools={"read_only": True})
    outcome = await pool.list_tools(tool)
    assert sorted(t.name for t in outcome.tools) == ["stats", "wait_for", "whoami"]


async def test_second_listing_is_served_from_cache(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    tool = resolved(server_config)
    await pool.list_tools(tool)
    before = (await server_stats(pool, tool)).list_tools
    again = await pool.list_tools(resolved(server_config, allowed_tools=["add"]))
    assert [t.name for t in again.tools] == ["add"]
    assert (await server_stats(pool, tool)).list_tools == before


async def test_call_returns_the_tool_result_text(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    outcome = await pool.call_tool(resolved(server_config), "add", '{"a": 2, "b": 40}')
    assert outcome.ok
    assert outcome.output == "42"


async def test_structured_result_is_serialised_once(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    outcome = await pool.call_tool(resolved(server_config), "get_forecast", '{"city": "Oslo"}')
    assert outcome.output is not None
    assert json.loads(outcome.output) == {"city": "Oslo", "conditions": "snow", "temperature_c": -3}


async def test_every_content_block_is_serialised(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    outcome = await pool.call_tool(resolved(server_config), "snapshot", "")
    assert outcome.output == "a 1x1 pixel\n[image: image/png, 70 bytes]"


async def test_tool_error_result_is_a_typed_execution_error(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    outcome = await pool.call_tool(resolved(server_config), "fail", '{"message": "disk full"}')
    assert isinstance(outcome.error, McpToolExecutionError)
    assert "disk full" in outcome.model_text()
    assert outcome.output is None


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"'])
async def test_bad_arguments_answer_without_calling(
    pool: McpClientPool, server_config: McpServerConfig, arguments: str
) -> None:
    tool = resolved(server_config)
    before = (await server_stats(pool, tool)).calls.get("echo", 0)
    outcome = await pool.call_tool(tool, "echo", arguments)
    assert isinstance(outcome.error, McpProtocolError)
    assert outcome.error.code == -32602
    assert (await server_stats(pool, tool)).calls.get("echo", 0) == before


async def test_tool_outside_allowed_tools_is_refused(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    plain = resolved(server_config)
    before = (await server_stats(pool, plain)).calls.get("add", 0)
    for allowed in (["echo"], {"read_only": True}):
        tool = resolved(server_config, allowed_tools=allowed)
        outcome = await pool.call_tool(tool, "add", '{"a": 1, "b": 2}')
        assert isinstance(outcome.error, McpProtocolError)
        assert "allowed_tools" in outcome.error.message
    assert (await server_stats(pool, plain)).calls.get("add", 0) == before


async def test_read_only_tool_passes_a_read_only_filter(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    tool = resolved(server_config, allowed_tools={"read_only": True})
    outcome = await pool.call_tool(tool, "whoami", "{}")
    assert outcome.ok


async def test_timeout_answers_and_cancels_the_server_side_call(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    slow = McpServerConfig(
        server_config.label,
        server_config.transport,
        url=server_config.url,
        command=server_config.command,
        args=server_config.args,
        timeout=1.0,
    )
    tool = resolved(slow)  # same label, so it shares the session warmed up here:
    before = (await server_stats(pool, resolved(server_config))).cancelled
    outcome = await pool.call_tool(tool, "wait_forever", "{}")
    assert isinstance(outcome.error, McpProtocolError)
    assert outcome.error.code == -32001
    await wait_for(pool, tool, "cancelled", before)
    assert (await pool.call_tool(tool, "echo", '{"text": "still here"}')).output == "still here"


async def test_cancelled_caller_cancels_the_mcp_request_and_pool_stays_usable(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    tool = resolved(server_config)
    before = await server_stats(pool, tool)
    calls_before = before.calls.get("wait_forever", 0)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pool.call_tool(tool, "wait_forever", "{}"))
        await wait_for(pool, tool, "calls.wait_forever", calls_before)
        task.cancel()
    assert task.cancelled()
    await wait_for(pool, tool, "cancelled", before.cancelled)
    assert (await pool.call_tool(tool, "add", '{"a": 1, "b": 1}')).output == "2"


# The crash tool ends its server's process: never in-process, where that is pytest's.
@pytest.mark.e2e
@pytest.mark.parametrize("server_config", ["http", "stdio"], indirect=True)
async def test_server_dying_mid_call_answers_and_stdio_restarts(
    pool: McpClientPool, server_config: McpServerConfig
) -> None:
    if server_config.transport == "http":  # the shared server must stay up: use a private one
        with McpServerProcess("http") as private:
            await _crash_and_answer(pool, McpServerConfig("tools", "http", url=private.url))
            assert private.wait_exited(10) == 3  # the crash tool's exit code
        return
    await _crash_and_answer(pool, server_config)
    tool = resolved(server_config)
    assert (await pool.call_tool(tool, "echo", '{"text": "reborn"}')).output == "reborn"


async def _crash_and_answer(pool: McpClientPool, config: McpServerConfig) -> None:
    tool = resolved(config)
    outcome = await pool.call_tool(tool, "crash", "{}")
    assert isinstance(outcome.error, McpProtocolError)
    assert outcome.error.code == -32000


def test_pool_satisfies_the_executor_seam() -> None:
    executor: McpExecutor = McpClientPool()
    assert isinstance(executor, McpClientPool)
