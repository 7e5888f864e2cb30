"""The real bindings of server-side tools: the operator's MCP pool and code interpreter.

An :class:`McpPoolBinding` is one request's MCP tool (already resolved against the operator's
servers) over the shared pool. A :class:`ContainerBinding` reuses the container of the
conversation's last code interpreter call while it lives, so variables and files persist across
turns and ``previous_response_id`` links; a sandbox that cannot start is an answer, not a crash.
"""

from __future__ import annotations

from antiphon.exceptions import SandboxError
from antiphon.responses.server_tools import CodeOutcome, McpListing, McpOutcome
from antiphon.tools.code_interpreter import ContainerManager
from antiphon.tools.mcp import McpExecutor, ResolvedMcpTool

__all__ = ["ContainerBinding", "McpPoolBinding"]


class McpPoolBinding:
    """One request's MCP server over the operator's pool."""

    def __init__(self, pool: McpExecutor, tool: ResolvedMcpTool) -> None:
        self._pool = pool
        self._tool = tool
        self._annotations: dict[str, object | None] = {}

    @property
    def server_label(self) -> str:
        """The request's label for the server."""
        return self._tool.server_label

    @property
    def description(self) -> str | None:
        """The request's description of the server."""
        return self._tool.description

    async def list_tools(self) -> McpListing:
        """The allowed tools (remembered for the approval policy's read-only rule)."""
        outcome = await self._pool.list_tools(self._tool)
        self._annotations = {tool.name: tool.annotations for tool in outcome.tools}
        return McpListing(outcome.tools, outcome.error)

    async def call(self, name: str, arguments: str) -> McpOutcome:
        """Call a tool; the pool turns every failure into an outcome."""
        outcome = await self._pool.call_tool(self._tool, name, arguments)
        return McpOutcome(outcome.output, outcome.error)

    def needs_approval(self, name: str) -> bool:
        """The request's ``require_approval`` for ``name``."""
        return self._tool.needs_approval(name, self._annotations.get(name))


class ContainerBinding:
    """One response's code interpreter (see the module docstring)."""

    def __init__(self, manager: ContainerManager, container_id: str | None) -> None:
        self._manager = manager
        self._id = container_id

    @property
    def container_id(self) -> str:
        """The container the next call runs in."""
        return self._id or ""

    async def prepare(self) -> None:
        """Start (or keep) the container before its call's item is added."""
        try:
            self._id = await self._manager.ensure(self._id)
        except SandboxError:
            # run() reports the failure to the model; the item still needs a container name.
            self._id = self._id or "cntr_unavailable"

    async def run(self, code: str) -> CodeOutcome:
        """Run one cell; sandbox failures come back as failed logs."""
        try:
            result = await self._manager.run(self._id, code)
        except SandboxError as exc:
            return CodeOutcome(f"The code interpreter is unavailable: {exc}", failed=True)
        self._id = result.container_id
        return CodeOutcome(result.logs, failed=result.status == "failed")
