"""MCP call overhead: round trip of ``call_tool`` to a local MCP server over stdio and HTTP.

Run: ``python bench/bench_mcp.py [CALLS]``. Starts the MCP test server
(``antiphon.testing.mcp_servers``) over Streamable HTTP in a child process and over stdio under
the pool, then times ``echo`` calls:

- ``pool``: :class:`McpClientPool.call_tool` with its pooled session (what the server does);
- ``sdk``: the official SDK ``Client.call_tool`` on one open session (the floor antiphon adds to);
- ``per-call``: a new SDK session for every call (the alternative the pool avoids, HTTP only).

Prints p50/p90 in milliseconds. Figures only; nothing is asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from openai.types.responses.tool import Mcp

from antiphon.testing.mcp_servers import McpServerProcess, stdio_command
from antiphon.tools.mcp import McpClientPool, McpServerConfig, resolve_mcp_tool

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
WARMUP = 10


async def _timed(label: str, call: Callable[[], Awaitable[object]], calls: int = CALLS) -> None:
    for _ in range(WARMUP):
        await call()
    samples: list[float] = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(samples, n=10)
    print(f"{label:<28} p50 {statistics.median(samples):7.2f} ms   p90 {cuts[8]:7.2f} ms")


async def _bench_pool(config: McpServerConfig) -> None:
    tool = resolve_mcp_tool(Mcp(type="mcp", server_label=config.label), {config.label: config})
    async with McpClientPool() as pool:

        async def call() -> object:
            outcome = await pool.call_tool(tool, "echo", '{"text": "ping"}')
            assert outcome.output == "ping", outcome.error
            return outcome

        await _timed(f"pool {config.transport}", call)


async def _bench_sdk(label: str, server: str | StdioServerParameters) -> None:
    async with Client(server, cache=None) as client:
        await client.list_tools()
        await _timed(f"sdk {label}", lambda: client.call_tool("echo", {"text": "ping"}))


async def _per_call(url: str) -> object:
    async with Client(url, cache=None) as client:
        return await client.call_tool("echo", {"text": "ping"})


async def main() -> None:
    command, args = stdio_command()
    stdio = McpServerConfig("local", "stdio", command=command, args=tuple(args))
    print(f"{CALLS} calls of echo each, after {WARMUP} warm-up calls")
    await _bench_pool(stdio)
    await _bench_sdk("stdio", StdioServerParameters(command=command, args=args))
    with McpServerProcess("http") as server:
        await _bench_pool(McpServerConfig("web", "http", url=server.url))
        await _bench_sdk("http", server.url)
        await _timed("per-call session http", lambda: _per_call(server.url), max(20, CALLS // 4))


if __name__ == "__main__":
    asyncio.run(main())
