"""Server-side MCP tools: the operator's servers, request resolution, and the client pool.

Boundary: this package talks MCP (through the official ``mcp`` SDK) and returns answers shaped
for the Responses items (``mcp_list_tools``, ``mcp_call``); it emits no events, stores nothing
and knows no HTTP routes. The turn loop resolves each request tool with
:func:`resolve_mcp_tool`, then uses an :class:`McpExecutor` (the real one is
:class:`McpClientPool`) to list and call tools.
"""

from __future__ import annotations

from antiphon.tools.mcp.config import (
    DEFAULT_MCP_TIMEOUT,
    McpServerConfig,
    McpTransport,
    build_registry,
    normalize_url,
    parse_mcp_server,
    parse_mcp_server_table,
)
from antiphon.tools.mcp.outcome import (
    DEFAULT_OUTPUT_LIMIT,
    McpCallOutcome,
    McpListOutcome,
    serialize_result,
)
from antiphon.tools.mcp.policy import ApprovalPolicy, ToolFilter, is_read_only
from antiphon.tools.mcp.pool import McpClientPool, McpExecutor, McpPoolSettings
from antiphon.tools.mcp.resolve import ResolvedMcpTool, resolve_mcp_tool

__all__ = [
    "ApprovalPolicy",
    "DEFAULT_MCP_TIMEOUT",
    "DEFAULT_OUTPUT_LIMIT",
    "McpCallOutcome",
    "McpClientPool",
    "McpExecutor",
    "McpListOutcome",
    "McpPoolSettings",
    "McpServerConfig",
    "McpTransport",
    "ResolvedMcpTool",
    "ToolFilter",
    "build_registry",
    "is_read_only",
    "normalize_url",
    "parse_mcp_server",
    "parse_mcp_server_table",
    "resolve_mcp_tool",
    "serialize_result",
]
