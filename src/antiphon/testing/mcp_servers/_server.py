"""The MCP test server: real tools on the official SDK's ``MCPServer``, for tests and the demo.

One server definition serves every transport (Streamable HTTP, SSE, stdio). Each tool exists to
exercise one behaviour of antiphon's MCP client: plain results, structured content, several
content blocks, a tool error, a call that only ends when cancelled, a process that dies mid-call,
a read-only annotation, and the request headers the server saw. :class:`ServerStats` counts what
the server received, so tests can prove a listing was served from cache or a call was cancelled.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import Tool as McpTool
from mcp.types import ToolAnnotations
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["Forecast", "ServerStats", "TINY_PNG", "build_server"]

# A 1x1 transparent PNG: small, valid, and recognisable in serialised output by its size.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
_FORECASTS = {"paris": ("sunny", 21), "oslo": ("snow", -3)}


@dataclass
class ServerStats:
    """What the server has received since it started (tests read it through ``stats``)."""

    list_tools: int = 0
    calls: dict[str, int] = field(default_factory=dict[str, int])
    cancelled: int = 0
    authorization: list[str] = field(default_factory=list[str])

    @classmethod
    def from_json(cls, text: str) -> ServerStats:
        """Counters read back from :meth:`as_json` (tests use it)."""
        # JSON boundary: the object was written by as_json, so its fields have these types.
        fields: dict[str, Any] = json.loads(text)
        return cls(**fields)

    def counter(self, name: str) -> int:
        """``cancelled``, ``list_tools`` or ``calls.NAME``."""
        if name.startswith("calls."):
            return self.calls.get(name.removeprefix("calls."), 0)
        return self.cancelled if name == "cancelled" else self.list_tools

    def as_json(self) -> str:
        """The counters as a JSON object."""
        return json.dumps(asdict(self))


class _Changes:
    """Wakes every waiter when a counter changes (the event is made on first use, in the loop)."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    async def wait(self) -> None:
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()

    def notify(self) -> None:
        event, self._event = self._event, None
        if event is not None:
            event.set()


class Forecast(TypedDict):
    """The structured result of ``get_forecast``."""

    city: str
    conditions: str
    temperature_c: int


class _CountingServer(MCPServer):
    """``MCPServer`` that counts ``tools/list`` requests."""

    def __init__(self, stats: ServerStats) -> None:
        super().__init__(
            "antiphon-test", instructions="Tools for antiphon's MCP tests.", log_level="WARNING"
        )
        self.stats = stats

    async def list_tools(self) -> list[McpTool]:
        """Count the listing, then answer it as the SDK does."""
        self.stats.list_tools += 1
        return await super().list_tools()


def build_server() -> _CountingServer:
    """A fresh test server with its own counters (``server.stats``)."""
    server = _CountingServer(ServerStats())
    stats = server.stats

    changes = _Changes()

    def seen(name: str, ctx: Context) -> None:
        stats.calls[name] = stats.calls.get(name, 0) + 1
        headers = ctx.headers
        if headers is not None and (auth := headers.get("authorization")) is not None:
            stats.authorization.append(auth)
        changes.notify()

    @server.tool(description="Add two integers.")
    async def add(a: int, b: int, ctx: Context) -> int:
        seen("add", ctx)
        return a + b

    @server.tool(description="Return the text unchanged.")
    async def echo(text: str, ctx: Context) -> str:
        seen("echo", ctx)
        return text

    @server.tool(description="Weather forecast for a city (text and structured content).")
    async def get_forecast(city: str, ctx: Context) -> Forecast:
        seen("get_forecast", ctx)
        conditions, temperature = _FORECASTS.get(city.lower(), ("cloudy", 12))
        return Forecast(city=city, conditions=conditions, temperature_c=temperature)

    @server.tool(description="A caption and a tiny PNG image: two content blocks.")
    async def snapshot(ctx: Context) -> list[str | Image]:
        seen("snapshot", ctx)
        return ["a 1x1 pixel", Image(data=TINY_PNG, format="png")]

    @server.tool(description="Always fails with the given message (an isError result).")
    async def fail(message: str, ctx: Context) -> str:
        seen("fail", ctx)
        raise ToolError(message)

    @server.tool(description="Sleeps until the call is cancelled.")
    async def wait_forever(ctx: Context) -> str:
        seen("wait_forever", ctx)
        try:
            await anyio.sleep_forever()
        finally:
            stats.cancelled += 1
            changes.notify()
        return "unreachable"  # pragma: no cover

    @server.tool(description="Makes the server process exit in the middle of the call.")
    def crash(ctx: Context) -> str:
        seen("crash", ctx)
        os._exit(3)

    @server.tool(
        description="The Authorization header this call carried (read-only).",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def whoami(ctx: Context) -> str:
        seen("whoami", ctx)
        headers = ctx.headers or {}
        return headers.get("authorization", "anonymous")

    @server.tool(
        name="stats",
        description="The server's counters as JSON (read-only).",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def stats_tool() -> str:
        return stats.as_json()

    @server.tool(
        description="Waits until a counter ('cancelled' or 'calls.NAME') exceeds `above`, "
        "then returns the counters: tests wait on the server's events instead of polling.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def wait_for(counter: str, above: int) -> str:
        while stats.counter(counter) <= above:
            await changes.wait()
        return stats.as_json()

    @server.custom_route("/_stats", methods=["GET"])
    async def stats_route(request: Request) -> Response:
        return JSONResponse(json.loads(stats.as_json()))

    return server
