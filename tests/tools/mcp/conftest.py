from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from openai.types.responses.tool import Mcp

from antiphon.testing.mcp_servers import McpServerProcess, ServerStats, build_server, stdio_command
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


#: The test server the pool reaches in-process (the SDK's in-memory pairing): the URL is a label
#: for the configuration only and is never dialled.
IN_PROCESS = McpServerConfig("inproc", "http", url="http://inproc.invalid/mcp", timeout=10.0)


@pytest.fixture(
    params=[
        "in-process",
        pytest.param("http", marks=pytest.mark.e2e),
        pytest.param("stdio", marks=pytest.mark.e2e),
    ]
)
def server_config(request: pytest.FixtureRequest) -> McpServerConfig:
    """The same test server reached in-process and over each transport (the contract suite runs
    on all three; only the in-process one runs without a process or a socket)."""
    if request.param == "in-process":
        return IN_PROCESS
    if request.param == "http":
        http_server: McpServerProcess = request.getfixturevalue("http_server")
        return McpServerConfig("tools", "http", url=http_server.url, timeout=10.0)
    return stdio_config("tools")


@pytest.fixture
async def pool() -> AsyncIterator[McpClientPool]:
    """A pool that reaches :data:`IN_PROCESS` (a fresh test server) in-process."""
    async with McpClientPool(in_process={IN_PROCESS.label: build_server()}) as client_pool:
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
