"""McpClientPool failures, header forwarding, caching and limits against real HTTP servers."""

from __future__ import annotations

import socket

import pytest
from openai.types.responses.mcp_tool_call_error import HTTPError, McpProtocolError
from openai.types.responses.tool import Mcp

from antiphon.exceptions import ConfigurationError, InvalidRequestError
from antiphon.testing.mcp_servers import McpServerProcess
from antiphon.tools.mcp import (
    McpClientPool,
    McpPoolSettings,
    McpServerConfig,
    build_registry,
    resolve_mcp_tool,
)
from tests.tools.mcp.conftest import resolved

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_server_answers_list_and_call_with_errors(pool: McpClientPool) -> None:
    config = McpServerConfig("gone", "http", url=f"http://127.0.0.1:{_free_port()}/mcp", timeout=5)
    listing = await pool.list_tools(resolved(config))
    assert listing.tools == ()
    assert listing.error == "could not connect to MCP server 'gone'"
    outcome = await pool.call_tool(resolved(config), "echo", "{}")
    assert isinstance(outcome.error, McpProtocolError)
    assert outcome.error.code == -32000


async def test_http_error_status_is_a_typed_http_error(
    pool: McpClientPool, http_server: McpServerProcess
) -> None:
    # POST to a GET-only route: the server answers 405, which the SDK cannot read as MCP.
    config = McpServerConfig("wrong", "http", url=f"{http_server.root}/_stats", timeout=5)
    outcome = await pool.call_tool(resolved(config), "echo", "{}")
    assert isinstance(outcome.error, HTTPError)
    assert outcome.error.code == 405
    assert "HTTP error 405" in outcome.model_text()


async def test_request_authorization_reaches_only_its_server(
    pool: McpClientPool, http_server: McpServerProcess
) -> None:
    config = McpServerConfig("web", "http", url=http_server.url)
    with_token = resolved(config, authorization="tok-123", headers={"X-Trace": "t1"})
    assert (await pool.call_tool(with_token, "whoami", "{}")).output == "Bearer tok-123"
    without = resolved(config)
    assert (await pool.call_tool(without, "whoami", "{}")).output == "anonymous"
    assert "Bearer tok-123" in (await http_server.stats()).authorization
    assert "tok-123" not in repr(with_token)
    assert "t1" not in repr(with_token)


async def test_operator_headers_win_over_request_headers(
    pool: McpClientPool, http_server: McpServerProcess
) -> None:
    config = McpServerConfig(
        "web", "http", url=http_server.url, headers={"Authorization": "Bearer operator"}
    )
    tool = resolved(config, authorization="from-request")
    assert (await pool.call_tool(tool, "whoami", "{}")).output == "Bearer operator"
    assert "operator" not in repr(config)


async def test_listing_is_fetched_again_after_the_ttl(http_server: McpServerProcess) -> None:
    now = [0.0]
    settings = McpPoolSettings(list_ttl=60.0, clock=lambda: now[0])
    tool = resolved(McpServerConfig("web", "http", url=http_server.url), headers={"X-Ttl": "1"})
    async with McpClientPool(settings) as pool:
        start = (await http_server.stats()).list_tools
        await pool.list_tools(tool)
        now[0] = 59.0
        await pool.list_tools(tool)
        assert (await http_server.stats()).list_tools == start + 1
        now[0] = 61.0
        await pool.list_tools(tool)
        assert (await http_server.stats()).list_tools == start + 2


async def test_unlisted_server_url_is_refused_and_never_contacted(
    http_server: McpServerProcess,
) -> None:
    registry = build_registry([McpServerConfig("web", "http", url=http_server.url)])
    with McpServerProcess("http") as unlisted:
        request = Mcp(type="mcp", server_label="evil", server_url=unlisted.url)
        with pytest.raises(InvalidRequestError) as raised:
            resolve_mcp_tool(request, registry)
        assert raised.value.status == 400
        assert "configured MCP servers: web" in raised.value.message
        stats = await unlisted.stats()
        assert stats.list_tools == 0
        assert stats.calls == {}


async def test_sessions_beyond_the_limit_evict_the_idle_one(
    http_server: McpServerProcess,
) -> None:
    config = McpServerConfig("web", "http", url=http_server.url)
    async with McpClientPool(McpPoolSettings(max_connections=1)) as pool:
        first = resolved(config, authorization="one")
        second = resolved(config, authorization="two")
        assert (await pool.call_tool(first, "whoami", "{}")).output == "Bearer one"
        assert (await pool.call_tool(second, "whoami", "{}")).output == "Bearer two"
        assert (await pool.call_tool(first, "whoami", "{}")).output == "Bearer one"


async def test_sse_transport_lists_and_calls(pool: McpClientPool) -> None:
    with McpServerProcess("sse") as server:
        config = McpServerConfig("old", "sse", url=server.url, timeout=10)
        assert (await pool.list_tools(resolved(config))).ok
        assert (await pool.call_tool(resolved(config), "add", '{"a": 1, "b": 2}')).output == "3"


async def test_pool_outside_its_context_is_a_configuration_error() -> None:
    pool = McpClientPool()
    with pytest.raises(ConfigurationError):
        await pool.call_tool(resolved(McpServerConfig("x", "http", url="http://h/mcp")), "a", "")
