"""The MCP client pool: lists and calls tools on operator-configured servers, always answering.

:class:`McpClientPool` is an async context manager owning one task group; each live session
(:class:`~antiphon.tools.mcp._connection.McpConnection`) is a runner task in it, keyed by server
and request-header fingerprint. stdio servers are long-lived processes, started on first use and
restarted after they die; HTTP sessions are pooled the same way (``bench/bench_mcp.py`` measures
the gain over a session per call). Every request is bounded by the server's timeout; a cancelled
caller cancels its MCP request (the SDK sends ``notifications/cancelled``) and the pool stays
usable. Listings are cached per key for ``list_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, INTERNAL_ERROR, INVALID_PARAMS, REQUEST_TIMEOUT
from openai.types.responses.response_output_item import McpListToolsTool

from antiphon._resource import AsyncResource
from antiphon.exceptions import ConfigurationError
from antiphon.tools.mcp._connection import (
    HTTP_STATUS_STAND_IN,
    ConnectFailed,
    InProcessServer,
    McpConnection,
)
from antiphon.tools.mcp._listing import list_all_tools
from antiphon.tools.mcp.outcome import (
    DEFAULT_OUTPUT_LIMIT,
    McpCallOutcome,
    McpListOutcome,
    serialize_result,
)
from antiphon.tools.mcp.resolve import ResolvedMcpTool

__all__ = ["McpClientPool", "McpExecutor", "McpPoolSettings"]

_Key = tuple[str, str]
_T = TypeVar("_T")


class McpExecutor(Protocol):
    """The seam the turn loop uses: list and call MCP tools; failures are answers."""

    async def list_tools(self, tool: ResolvedMcpTool) -> McpListOutcome:
        """The server's tools that ``tool.allowed`` lets through, or the listing error."""
        ...

    async def call_tool(
        self, tool: ResolvedMcpTool, name: str, arguments_json: str
    ) -> McpCallOutcome:
        """Call ``name`` with the model's JSON arguments; the output or a typed error."""
        ...


@dataclass(frozen=True, slots=True)
class McpPoolSettings:
    """Pool limits: listing cache lifetime, live sessions, output size, shutdown bound, clock."""

    list_ttl: float = 60.0
    max_connections: int = 32
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    shutdown_timeout: float = 5.0
    clock: Callable[[], float] = time.monotonic


class _Failure(Exception):
    """Carries a failure outcome out of nested helpers (never leaves this module)."""

    def __init__(self, outcome: McpCallOutcome) -> None:
        super().__init__(outcome.model_text())
        self.outcome = outcome


class McpClientPool(AsyncResource):
    """The real :class:`McpExecutor`: pooled sessions to the operator's MCP servers.

    ``in_process`` maps server labels to MCP server objects (the SDK's ``MCPServer`` or low-level
    ``Server``) that are reached in-process through the SDK's in-memory pairing instead of the
    configured transport: no process, no socket. It is the seam for tests and embedders; the
    server's configuration still names it and sets its timeout.
    """

    def __init__(
        self,
        settings: McpPoolSettings | None = None,
        *,
        in_process: Mapping[str, InProcessServer] | None = None,
    ) -> None:
        self.settings = settings or McpPoolSettings()
        self._in_process = dict(in_process or {})
        self._group: asyncio.TaskGroup | None = None
        self._connections: dict[_Key, McpConnection] = {}
        self._listings: dict[_Key, tuple[float, tuple[McpListToolsTool, ...]]] = {}
        self._list_locks: dict[_Key, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def _open(self, stack: AsyncExitStack) -> None:
        stack.callback(self._forget_group)  # last, once every session task has ended
        self._group = await stack.enter_async_context(asyncio.TaskGroup())
        stack.push_async_callback(self._close_all)  # first: closed sessions let the group end

    def _forget_group(self) -> None:
        self._group = None

    async def list_tools(self, tool: ResolvedMcpTool) -> McpListOutcome:
        """The server's tools filtered by ``allowed_tools`` (cached ``list_ttl`` seconds)."""
        try:
            listing = await self._listing(tool)
        except _Failure as failure:
            return McpListOutcome(error=failure.outcome.error_message())
        allowed = tuple(t for t in listing if tool.allowed.matches(t.name, t.annotations))
        return McpListOutcome(tools=allowed)

    async def call_tool(
        self, tool: ResolvedMcpTool, name: str, arguments_json: str
    ) -> McpCallOutcome:
        """Call ``name`` on the tool's server; every failure comes back as an outcome."""
        try:
            arguments = _parse_arguments(arguments_json)
            await self._check_allowed(tool, name)
            result = await self._request(tool, lambda c: c.call_tool(name, arguments))
        except _Failure as failure:
            return failure.outcome
        text = serialize_result(result, limit=self.settings.output_limit)
        return McpCallOutcome.tool_error(text) if result.is_error else McpCallOutcome(output=text)

    async def _check_allowed(self, tool: ResolvedMcpTool, name: str) -> None:
        annotations: object | None = None
        if tool.allowed.read_only is not None:  # only then does the decision need the listing
            listed = {t.name: t for t in await self._listing(tool)}
            annotations = listed[name].annotations if name in listed else None
        if not tool.allowed.matches(name, annotations):
            raise _Failure(
                McpCallOutcome.protocol_error(
                    INVALID_PARAMS, f"tool {name!r} is not in allowed_tools for this server"
                )
            )

    async def _listing(self, tool: ResolvedMcpTool) -> tuple[McpListToolsTool, ...]:
        key = tool.connection_key
        async with self._list_locks.setdefault(key, asyncio.Lock()):  # one fetch per key at once
            cached = self._listings.get(key)
            now = self.settings.clock()
            if cached is not None and now - cached[0] < self.settings.list_ttl:
                return cached[1]
            listing = await self._request(tool, list_all_tools)
            self._listings[key] = (now, listing)
            return listing

    async def _request(
        self, tool: ResolvedMcpTool, operation: Callable[[Client], Awaitable[_T]]
    ) -> _T:
        connection = self._connection(tool)
        connection.in_flight += 1
        try:
            async with asyncio.timeout(tool.config.timeout):
                return await operation(await connection.client())
        except TimeoutError as exc:
            message = f"no answer within {tool.config.timeout:g} s"
            raise _Failure(McpCallOutcome.protocol_error(REQUEST_TIMEOUT, message)) from exc
        except ConnectFailed as exc:
            self._drop(tool.connection_key, connection)
            raise _Failure(_status_or(connection, CONNECTION_CLOSED, str(exc))) from exc
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                self._drop(tool.connection_key, connection)
                lost = f"connection to MCP server {tool.config.label!r} lost: {exc.message}"
                raise _Failure(McpCallOutcome.protocol_error(CONNECTION_CLOSED, lost)) from exc
            if exc.message == HTTP_STATUS_STAND_IN:
                raise _Failure(_status_or(connection, exc.code, exc.message)) from exc
            raise _Failure(McpCallOutcome.protocol_error(exc.code, exc.message)) from exc
        except Exception as exc:  # boundary: validation and schema errors inside the SDK
            message = f"invalid answer from MCP server {tool.config.label!r}"
            raise _Failure(McpCallOutcome.protocol_error(INTERNAL_ERROR, message)) from exc
        finally:
            connection.in_flight -= 1
            connection.last_used = self.settings.clock()

    def _connection(self, tool: ResolvedMcpTool) -> McpConnection:
        key = tool.connection_key
        existing = self._connections.get(key)
        if existing is not None and not existing.closed.is_set():
            return existing
        if self._group is None:
            raise ConfigurationError("McpClientPool used outside `async with`")
        self._forget_done()
        self._evict_idle()
        server = self._in_process.get(tool.config.label)
        connection = McpConnection(tool.config, dict(tool.headers), in_process=server)
        self._connections[key] = connection
        self._tasks.add(self._group.create_task(connection.run(), name=f"mcp:{tool.config.label}"))
        return connection

    def _forget_done(self) -> None:
        self._tasks = {task for task in self._tasks if not task.done()}

    def _evict_idle(self) -> None:
        """Keep at most ``max_connections`` sessions by closing the least recently used idle one."""
        if len(self._connections) < self.settings.max_connections:
            return
        idle = [(c.last_used, k) for k, c in self._connections.items() if c.in_flight == 0]
        if idle:
            _, key = min(idle)
            self._connections.pop(key).close()

    def _drop(self, key: _Key, connection: McpConnection) -> None:
        connection.close()
        if self._connections.get(key) is connection:
            del self._connections[key]

    async def _close_all(self) -> None:
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            connection.close()
        try:
            async with asyncio.timeout(self.settings.shutdown_timeout):
                for connection in connections:
                    await connection.closed.wait()
        except TimeoutError:
            for task in self._tasks:  # a session that will not close in time is cancelled
                task.cancel()


def _status_or(connection: McpConnection, code: int, message: str) -> McpCallOutcome:
    """An ``http_error`` when the server answered an HTTP error status, else a protocol error."""
    if connection.http_status is not None:
        return McpCallOutcome.http_error(connection.http_status, message)
    return McpCallOutcome.protocol_error(code, message)


def _parse_arguments(arguments_json: str) -> dict[str, object]:
    if not arguments_json.strip():
        return {}  # models often send nothing for a tool without parameters
    try:
        value: object = json.loads(arguments_json)
    except ValueError as exc:
        message = f"arguments are not valid JSON: {exc}"
        raise _Failure(McpCallOutcome.protocol_error(INVALID_PARAMS, message)) from exc
    if not isinstance(value, dict):
        message = "arguments must be a JSON object"
        raise _Failure(McpCallOutcome.protocol_error(INVALID_PARAMS, message))
    return value  # pyright: ignore[reportUnknownVariableType]
