"""One live MCP client session, owned by a runner task that the pool's task group supervises.

The official SDK's ``Client`` is entered and exited inside :meth:`McpConnection.run` (its anyio
scopes must stay in one task); callers in other tasks send requests over it once
:meth:`McpConnection.client` says it is ready. When the transport fails (an HTTP server gone, a
stdio process that exited), the SDK wakes pending requests with ``CONNECTION_CLOSED`` and the
runner ends: the pool then drops the connection and the next call opens a new one.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any, Final, cast

import httpx2
from mcp import Client
from mcp.client._transport import Transport
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.mcpserver import MCPServer

from antiphon.tools.mcp.config import McpServerConfig

__all__ = ["ConnectFailed", "InProcessServer", "McpConnection"]

#: An MCP server object the SDK connects to in-process (its in-memory pairing), no transport.
InProcessServer = Server[Any] | MCPServer

_log = logging.getLogger(__name__)
# The SDK's stand-in message when an HTTP request got an error status (the status itself is lost).
HTTP_STATUS_STAND_IN: Final = "Server returned an error response"
# A stream may stay open between server messages: the per-call deadline bounds calls instead.
_READ_TIMEOUT: Final = 300.0


class ConnectFailed(Exception):
    """The session could not be opened (internal to the MCP package; becomes an answer)."""


class McpConnection:
    """A session to one configured server with one set of request headers."""

    def __init__(
        self,
        config: McpServerConfig,
        headers: dict[str, str],
        *,
        in_process: InProcessServer | None = None,
    ) -> None:
        self.config = config
        self._headers = headers
        self._in_process = in_process
        self._client: Client | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self.closed = asyncio.Event()
        self.http_status: int | None = None
        self.in_flight = 0
        self.last_used = 0.0

    def __repr__(self) -> str:  # headers may hold credentials: never show them
        return f"McpConnection(label={self.config.label!r}, closed={self.closed.is_set()})"

    async def run(self) -> None:
        """Open the session, serve until :meth:`close`, then close it (the runner task's body)."""
        try:
            async with AsyncExitStack() as stack:
                async with asyncio.timeout(self.config.timeout):
                    transport = await self._transport(stack)
                    self._client = await stack.enter_async_context(Client(transport, cache=None))
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # boundary: the SDK's transports raise many types and groups
            # Only the types: an exception's text can quote a header value, and request headers
            # are credentials (an encoding error repeats the whole value).
            _log.warning("MCP server %r: session ended: %s", self.config.label, _kinds(exc))
        finally:
            self._client = None
            self._ready.set()
            self.closed.set()

    async def client(self) -> Client:
        """The live SDK client, once connected; :class:`ConnectFailed` if the session is gone."""
        await self._ready.wait()
        if self._client is None:
            raise ConnectFailed(f"could not connect to MCP server {self.config.label!r}")
        return self._client

    def close(self) -> None:
        """Ask the runner to close the session (idempotent, does not wait)."""
        self._stop.set()

    async def _transport(
        self, stack: AsyncExitStack
    ) -> Transport | StdioServerParameters | InProcessServer:
        if self._in_process is not None:
            return self._in_process
        config = self.config
        if config.transport == "stdio":
            assert config.command is not None  # McpServerConfig checks this
            return StdioServerParameters(command=config.command, args=list(config.args))
        assert config.url is not None  # McpServerConfig checks this
        if config.transport == "sse":
            return sse_client(config.url, httpx_client_factory=self._factory)
        http = await stack.enter_async_context(self._http_client())
        return streamable_http_client(config.url, http_client=http)

    def _http_client(self) -> httpx2.AsyncClient:
        # Operator headers win over the request's: the operator decides how its servers are reached.
        headers = {**self._headers, **self.config.headers}
        timeout = httpx2.Timeout(self.config.timeout, read=max(_READ_TIMEOUT, self.config.timeout))
        return httpx2.AsyncClient(
            headers=headers, timeout=timeout, event_hooks={"response": [self._record_status]}
        )

    def _factory(
        self,
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        return self._http_client()

    async def _record_status(self, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self.http_status = response.status_code


def _kinds(exc: BaseException) -> str:
    """The exception's type, or the types inside a group, without any message text."""
    if isinstance(exc, BaseExceptionGroup):
        group = cast(BaseExceptionGroup[BaseException], exc)
        inner = ", ".join(_kinds(inner) for inner in group.exceptions)
        return f"{type(group).__name__}({inner})"
    return type(exc).__name__
