"""Fetching a server's whole tool listing as official ``McpListToolsTool`` models.

Pages are followed up to a fixed cap, so a server whose cursor never ends cannot hang a
response; annotations keep the MCP wire names (``readOnlyHint``), as OpenAI shows them.
"""

from __future__ import annotations

from typing import Final

from mcp import Client
from mcp.types import Tool
from openai.types.responses.response_output_item import McpListToolsTool

from antiphon.wire.json import dump

__all__ = ["list_all_tools", "to_listed_tool"]

_PAGE_CAP: Final = 50


async def list_all_tools(client: Client) -> tuple[McpListToolsTool, ...]:
    """Every tool the server lists, following ``nextCursor`` for at most 50 pages."""
    tools: list[McpListToolsTool] = []
    cursor: str | None = None
    for _ in range(_PAGE_CAP):
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        tools.extend(to_listed_tool(tool) for tool in page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tuple(tools)


def to_listed_tool(tool: Tool) -> McpListToolsTool:
    """One MCP tool as the ``mcp_list_tools`` item shows it."""
    annotations = (
        None
        if tool.annotations is None
        else dump(tool.annotations, exclude_unset=False, exclude_none=True)
    )
    return McpListToolsTool(
        name=tool.name,
        input_schema=tool.input_schema,
        description=tool.description,
        annotations=annotations,
    )
