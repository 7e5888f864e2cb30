"""Starting the MCP test server in a child process and reading its counters.

:class:`McpServerProcess` runs ``python -m antiphon.testing.mcp_servers --transport http|sse`` and
waits (bounded, on the pipe, never a sleep) for the URL line it prints. :func:`stdio_command` is
the command line an operator would configure for the stdio variant.
"""

from __future__ import annotations

import sys
from typing import Literal

import httpx

from antiphon.exceptions import ConfigurationError
from antiphon.testing._child import ReadyChild
from antiphon.testing.mcp_servers._server import ServerStats

__all__ = ["McpServerProcess", "stdio_command"]


def stdio_command() -> tuple[str, list[str]]:
    """The command and arguments that run the test server over stdio."""
    return sys.executable, ["-m", "antiphon.testing.mcp_servers", "--transport", "stdio"]


class McpServerProcess(ReadyChild):
    """The MCP test server in a child process; a context manager that stops it."""

    def __init__(
        self, transport: Literal["http", "sse"] = "http", *, start_timeout: float = 30.0
    ) -> None:
        command = [sys.executable, "-m", "antiphon.testing.mcp_servers", "--transport", transport]
        super().__init__(command, name="the MCP test server", start_timeout=start_timeout)
        if not self.ready_line.startswith("http://"):
            self.stop()
            raise ConfigurationError(f"the MCP test server did not start ({self.ready_line!r})")
        self.url = self.ready_line
        self.root = self.url.rsplit("/", 1)[0]

    async def stats(self) -> ServerStats:
        """The server's counters (``GET /_stats``): list_tools, calls, cancelled, authorization."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(f"{self.root}/_stats")
            response.raise_for_status()
            return ServerStats.from_json(response.text)
