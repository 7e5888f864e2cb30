"""Server-side tool execution: MCP servers (:mod:`antiphon.tools.mcp`) and the code interpreter.

Each subpackage executes one kind of hosted tool and returns answers shaped for the Responses
items; the turn loop in :mod:`antiphon.responses` drives them. Nothing here emits wire events.
"""

from __future__ import annotations

__all__: list[str] = []
