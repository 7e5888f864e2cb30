"""The tools a request offers the model: functions, and the tools of MCP servers.

One set of types for every layer: the renderer declares them in the developer message, the
classifier routes a call's recipient back to them, and engines receive them in their request.
Plain frozen data; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from antiphon.harmony.messages import mcp_namespace

__all__ = ["FunctionTool", "McpServerTools"]


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A tool the model may call: its name, description and JSON Schema ``parameters``."""

    name: str
    description: str = ""
    parameters: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class McpServerTools:
    """The tools one MCP server offers the model (already filtered by ``allowed_tools``).

    They are declared, and called, under the harmony namespace :attr:`namespace`; a call to a
    tool that is not in ``tools`` is not routed to the server.
    """

    server_label: str
    tools: tuple[FunctionTool, ...] = ()
    description: str | None = None

    @property
    def namespace(self) -> str:
        """The harmony namespace of the tools: :func:`mcp_namespace` of the label."""
        return mcp_namespace(self.server_label)

    def offers(self, name: str) -> bool:
        """Whether ``name`` is one of the server's tools."""
        return any(tool.name == name for tool in self.tools)
