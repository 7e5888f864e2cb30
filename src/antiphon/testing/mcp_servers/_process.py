"""Starting the MCP test server in a child process and reading its counters.

:class:`McpServerProcess` runs ``python -m antiphon.testing.mcp_servers --transport http|sse`` and
waits (bounded, on the pipe, never a sleep) for the URL line it prints. :func:`stdio_command` is
the command line an operator would configure for the stdio variant.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
from types import TracebackType
from typing import Literal, Self

import httpx

from antiphon.exceptions import ConfigurationError
from antiphon.testing.mcp_servers._server import ServerStats

__all__ = ["McpServerProcess", "stdio_command"]


def stdio_command() -> tuple[str, list[str]]:
    """The command and arguments that run the test server over stdio."""
    return sys.executable, ["-m", "antiphon.testing.mcp_servers", "--transport", "stdio"]


class McpServerProcess:
    """The MCP test server in a child process; a context manager that stops it."""

    def __init__(
        self, transport: Literal["http", "sse"] = "http", *, start_timeout: float = 30.0
    ) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "antiphon.testing.mcp_servers", "--transport", transport],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self._read_url(start_timeout)
        self.root = self.url.rsplit("/", 1)[0]

    def _read_url(self, timeout: float) -> str:
        stdout = self._process.stdout
        assert stdout is not None  # Popen was given stdout=PIPE
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            ready = selector.select(timeout)
        line = stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.stop()
            raise ConfigurationError(f"the MCP test server did not start (got {line!r})")
        return line

    def wait_exited(self, timeout: float) -> int | None:
        """The child's exit code once it exits, or ``None`` if it still runs after ``timeout``."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    async def stats(self) -> ServerStats:
        """The server's counters (``GET /_stats``): list_tools, calls, cancelled, authorization."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(f"{self.root}/_stats")
            response.raise_for_status()
            return ServerStats.from_json(response.text)

    def stop(self) -> None:
        """Terminate the child and reap it (killed if it does not exit within 5 seconds)."""
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
