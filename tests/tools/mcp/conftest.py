from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from openai.types.responses.tool import Mcp

from antiphon.testing.mcp_servers import McpServerProcess, ServerStats, stdio_command
from antiphon.tools.mcp import (
    McpClientPool,
    McpServerConfig,
    ResolvedMcpTool,
    resolve_mcp_tool,
)


@pytest.fixture(scope="module")
def http_server() -> Iterator[McpServerProcess]:
    """One MCP test server over Streamable HTTP per test module (tests compare counter deltas)."""
    with McpServerProcess("http") as process:
        yield process


def stdio_config(label: str = "local", *, timeout: float = 10.0) -> McpServerConfig:
    command, args = stdio_command()
    return McpServerConfig(label, "stdio", command=command, args=tuple(args), timeout=timeout)


@pytest.fixture(params=["http", "stdio"])
def server_config(request: pytest.FixtureRequest, http_server: McpServerProcess) -> McpServerConfig:
    """The same test server reached over each transport (the contract suite runs on both)."""
    if request.param == "http":
        return McpServerConfig("tools", "http", url=http_server.url, timeout=10.0)
    return stdio_config("tools")


@pytest.fixture
async def pool() -> AsyncIterator[McpClientPool]:
    async with McpClientPool() as client_pool:
        yield client_pool


def resolved(config: McpServerConfig, **fields: object) -> ResolvedMcpTool:
    tool = Mcp.model_validate({"type": "mcp", "server_label": config.label, **fields})
    return resolve_mcp_tool(tool, {config.label: config})


async def server_stats(pool: McpClientPool, tool: ResolvedMcpTool) -> ServerStats:
    """The server's counters, read through the pool with the read-only ``stats`` tool."""
    outcome = await pool.call_tool(tool, "stats", "{}")
    assert outcome.output is not None, outcome.error
    return ServerStats.from_json(outcome.output)


async def wait_for(pool: McpClientPool, tool: ResolvedMcpTool, counter: str, above: int) -> None:
    """Wait until the server's ``counter`` exceeds ``above`` (the server signals, no polling)."""
    arguments = json.dumps({"counter": counter, "above": above})
    outcome = await pool.call_tool(tool, "wait_for", arguments)
    assert outcome.ok, outcome.error
