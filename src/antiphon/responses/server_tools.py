"""Server-side tools as one response sees them: MCP servers and the code interpreter.

The turn loop knows tools only through the small bindings here. A binding is made per request by
the service from the operator's MCP pool and code interpreter (:mod:`antiphon.tools`); tests and
embedders may bind anything that keeps the contract. A binding never raises for a tool failure:
failures are answers (an MCP error object, failed logs) that the model reads and recovers from.
Only cancellation propagates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from openai.types.responses.mcp_tool_call_error import McpToolCallError, McpToolExecutionError
from openai.types.responses.response_code_interpreter_tool_call import OutputLogs
from openai.types.responses.response_output_item import McpListToolsTool

from antiphon.wire._builtin import CodeInterpreterHandle
from antiphon.wire._tools import McpCallHandle

__all__ = [
    "ApprovalDecision",
    "CodeBinding",
    "CodeOutcome",
    "McpBinding",
    "McpListing",
    "McpOutcome",
    "PendingCall",
    "RequestTools",
]


@dataclass(frozen=True, slots=True)
class McpListing:
    """A server's tools after the request's ``allowed_tools`` filter, or why none could be had."""

    tools: tuple[McpListToolsTool, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class McpOutcome:
    """What one MCP call returned: ``output`` text, or a typed ``error`` (with any output)."""

    output: str | None = None
    error: McpToolCallError | None = None


class McpBinding(Protocol):
    """One MCP server as a request declared it (label, filters, approval policy, headers)."""

    @property
    def server_label(self) -> str:
        """The request's ``server_label``."""
        ...

    @property
    def description(self) -> str | None:
        """The request's ``server_description``, shown to the model."""
        ...

    async def list_tools(self) -> McpListing:
        """The allowed tools; an unreachable server is a listing with an ``error``."""
        ...

    async def call(self, name: str, arguments: str) -> McpOutcome:
        """Run tool ``name`` with JSON ``arguments``; failures come back as outcomes."""
        ...

    def needs_approval(self, name: str) -> bool:
        """Whether a call to ``name`` must wait for an ``mcp_approval_response``."""
        ...


@dataclass(frozen=True, slots=True)
class CodeOutcome:
    """What one code run printed, and whether it failed (exception, limit, crash)."""

    logs: str
    failed: bool = False


class CodeBinding(Protocol):
    """The code interpreter of one response: one container, created or reused."""

    @property
    def container_id(self) -> str:
        """The container the next call runs in (valid once :meth:`prepare` returned)."""
        ...

    async def prepare(self) -> None:
        """Make sure a container exists (the model started writing code)."""
        ...

    async def run(self, code: str) -> CodeOutcome:
        """Run ``code`` in the container; failures come back as outcomes."""
        ...


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """An ``mcp_approval_response`` matched with the request it answers."""

    approval_request_id: str
    server_label: str
    name: str
    arguments: str
    approve: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RequestTools:
    """The server-side tools one response may use, and its tool-call budget."""

    mcp: tuple[McpBinding, ...] = ()
    code: CodeBinding | None = None
    max_tool_calls: int | None = None
    approvals: tuple[ApprovalDecision, ...] = ()
    #: Labels whose tools an earlier response of the conversation already listed.
    listed_labels: frozenset[str] = field(default_factory=frozenset[str])

    def binding(self, server_label: str) -> McpBinding | None:
        """The MCP binding of ``server_label``."""
        return next((b for b in self.mcp if b.server_label == server_label), None)


@dataclass(slots=True)
class PendingCall:
    """A server-side call whose arguments are complete and which runs after the turn."""

    handle: McpCallHandle | CodeInterpreterHandle
    mcp: McpBinding | None = None
    code: CodeBinding | None = None

    async def execute(self, *, over_budget: bool) -> None:
        """Run the call and close its item; past ``max_tool_calls`` it fails without running."""
        handle = self.handle
        if isinstance(handle, McpCallHandle):
            assert self.mcp is not None
            if over_budget:
                handle.fail(_budget_error())
                return
            outcome = await self.mcp.call(handle.name, _arguments(handle))
            if outcome.error is None:
                handle.complete(outcome.output)
            else:
                handle.fail(outcome.error, outcome.output)
            return
        assert self.code is not None
        if over_budget:
            handle.fail([_logs("max_tool_calls reached: the code was not run.")])
            return
        result = await self.code.run(_code(handle))
        outputs = [_logs(result.logs)] if result.logs else []
        if result.failed:
            handle.fail(outputs)
        else:
            handle.complete(outputs)


def _arguments(handle: McpCallHandle) -> str:
    item = handle.item
    return str(getattr(item, "arguments", ""))


def _code(handle: CodeInterpreterHandle) -> str:
    return str(getattr(handle.item, "code", "") or "")


def _budget_error() -> McpToolCallError:
    return McpToolExecutionError(
        type="mcp_tool_execution_error",
        content="max_tool_calls reached: the tool was not called.",
    )


def _logs(text: str) -> OutputLogs:
    return OutputLogs(type="logs", logs=text)
