"""Real MCP servers built with the official ``mcp`` SDK, for antiphon's tests, bench and demo.

:func:`build_server` defines the tools; ``python -m antiphon.testing.mcp_servers`` serves them over
Streamable HTTP, SSE or stdio; :class:`McpServerProcess` starts one in a child process and reads
its URL. Nothing here is used by the server at run time.
"""

from __future__ import annotations

from antiphon.testing.mcp_servers._process import McpServerProcess, stdio_command
from antiphon.testing.mcp_servers._server import TINY_PNG, Forecast, ServerStats, build_server

__all__ = [
    "Forecast",
    "McpServerProcess",
    "ServerStats",
    "TINY_PNG",
    "build_server",
    "stdio_command",
]
