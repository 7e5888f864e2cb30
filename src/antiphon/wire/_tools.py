"""Tool-call items: function_call, mcp_list_tools, mcp_call, mcp_approval_request.

Server-executed tools (MCP here, the code interpreter and web search in ``_builtin``) announce
execution before it starts (``mcp_call_arguments.done``: item status ``calling``) and report
``completed`` / ``failed`` only after it ends, with the real output or typed error.
"""

from __future__ import annotations

from collections.abc import Sequence

from openai.types.responses import (
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseMcpListToolsCompletedEvent,
    ResponseMcpListToolsFailedEvent,
    ResponseMcpListToolsInProgressEvent,
)
from openai.types.responses.mcp_tool_call_error import McpToolCallError
from openai.types.responses.response_output_item import (
    McpApprovalRequest,
    McpCall,
    McpListTools,
    McpListToolsTool,
)

from antiphon.wire._base import ItemHandle, LedgerCore
from antiphon.wire._response import construct

__all__ = ["FunctionCallHandle", "McpApprovalHandle", "McpCallHandle", "McpListToolsHandle"]


class FunctionCallHandle(ItemHandle):
    """A client-executed ``function_call``: argument ``delta``..., then ``done``.

    Stages: ``arguments``, ``done``.
    """

    __slots__ = ("_pieces", "call_id", "name")
    kind = "function_call"

    def __init__(
        self, core: LedgerCore, output_index: int, item_id: str, *, name: str, call_id: str
    ) -> None:
        super().__init__(core, output_index, item_id, "arguments")
        self.name = name
        self.call_id = call_id
        self._pieces: list[str] = []
        self._emit_added()

    def delta(self, arguments: str) -> None:
        """Append JSON argument text; an empty string emits nothing."""
        self._expect("add an argument delta", "arguments")
        if arguments:
            self._pieces.append(arguments)
            self._item_event(
                ResponseFunctionCallArgumentsDeltaEvent,
                type="response.function_call_arguments.delta",
                delta=arguments,
            )

    def done(self) -> None:
        """The arguments are final: ``function_call_arguments.done``, then the item."""
        self._expect("finish the function call", "arguments")
        self._close("completed")

    def _close(self, status: str) -> None:
        arguments = "".join(self._pieces)
        self._pieces = [arguments]
        self._item_event(
            ResponseFunctionCallArgumentsDoneEvent,
            type="response.function_call_arguments.done",
            arguments=arguments,
        )
        self._finish(status)

    def _open_stages(self) -> tuple[str, ...]:
        return ("arguments",)

    def _snapshot(self, status: str) -> ResponseFunctionToolCall:
        return construct(
            ResponseFunctionToolCall,
            type="function_call",
            id=self.id,
            call_id=self.call_id,
            name=self.name,
            arguments="".join(self._pieces),
            status=status,
        )

    def _abandon(self, failed: bool) -> None:
        del failed  # a function call has no "failed" status
        self._close("incomplete")


class McpListToolsHandle(ItemHandle):
    """The tools of one MCP server: ``complete(tools)`` or ``fail(error)``.

    Stages: ``listing``, ``done``.
    """

    __slots__ = ("_error", "_tools", "server_label")
    kind = "mcp_list_tools"

    def __init__(self, core: LedgerCore, output_index: int, item_id: str, server_label: str):
        super().__init__(core, output_index, item_id, "listing")
        self.server_label = server_label
        self._tools: list[McpListToolsTool] = []
        self._error: str | None = None
        self._emit_added()
        self._item_event(
            ResponseMcpListToolsInProgressEvent, type="response.mcp_list_tools.in_progress"
        )

    def complete(self, tools: Sequence[McpListToolsTool]) -> None:
        """The server listed ``tools``: ``mcp_list_tools.completed``, then the item."""
        self._expect("complete the tool listing", "listing")
        self._tools = list(tools)
        self._item_event(
            ResponseMcpListToolsCompletedEvent, type="response.mcp_list_tools.completed"
        )
        self._finish("completed")

    def fail(self, error: str) -> None:
        """Listing failed: ``mcp_list_tools.failed``, then the item with ``error`` set."""
        self._expect("fail the tool listing", "listing")
        self._error = error
        self._item_event(ResponseMcpListToolsFailedEvent, type="response.mcp_list_tools.failed")
        self._finish("failed")

    def _open_stages(self) -> tuple[str, ...]:
        return ("listing",)

    def _snapshot(self, status: str) -> McpListTools:
        del status  # this item type has no status field
        return construct(
            McpListTools,
            type="mcp_list_tools",
            id=self.id,
            server_label=self.server_label,
            tools=list(self._tools),
            error=self._error,
        )

    def _abandon(self, failed: bool) -> None:
        del failed  # an unfinished listing is a failed one: there is no other way to end it
        self.fail("the response ended before the tools were listed")


class McpCallHandle(ItemHandle):
    """A server-executed ``mcp_call``: ``delta``..., ``arguments_done``, run, then the result.

    Stages: ``arguments``, ``calling`` (the tool runs), ``done``.
    """

    __slots__ = ("_error", "_output", "_pieces", "approval_request_id", "name", "server_label")
    kind = "mcp_call"

    def __init__(
        self,
        core: LedgerCore,
        output_index: int,
        item_id: str,
        *,
        server_label: str,
        name: str,
        approval_request_id: str | None,
    ) -> None:
        super().__init__(core, output_index, item_id, "arguments")
        self.server_label = server_label
        self.name = name
        self.approval_request_id = approval_request_id
        self._pieces: list[str] = []
        self._output: str | None = None
        self._error: McpToolCallError | None = None
        self._emit_added()
        self._item_event(ResponseMcpCallInProgressEvent, type="response.mcp_call.in_progress")

    def delta(self, arguments: str) -> None:
        """Append JSON argument text; an empty string emits nothing."""
        self._expect("add an argument delta", "arguments")
        if arguments:
            self._pieces.append(arguments)
            self._item_event(
                ResponseMcpCallArgumentsDeltaEvent,
                type="response.mcp_call_arguments.delta",
                delta=arguments,
            )

    def arguments_done(self) -> None:
        """The arguments are final and the tool is about to run (item status ``calling``)."""
        self._expect("finish the arguments", "arguments")
        self._arguments_done()

    def complete(self, output: str | None) -> None:
        """The tool returned ``output``: ``mcp_call.completed``, then the item."""
        self._expect("complete the MCP call", "calling")
        self._output = output
        self._item_event(ResponseMcpCallCompletedEvent, type="response.mcp_call.completed")
        self._finish("completed")

    def fail(self, error: McpToolCallError | None, output: str | None = None) -> None:
        """The call failed with ``error``: ``mcp_call.failed``, then the item (``failed``)."""
        self._expect("fail the MCP call", "calling")
        self._error, self._output = error, output
        self._item_event(ResponseMcpCallFailedEvent, type="response.mcp_call.failed")
        self._finish("failed")

    def _arguments_done(self) -> None:
        arguments = "".join(self._pieces)
        self._pieces = [arguments]
        self._item_event(
            ResponseMcpCallArgumentsDoneEvent,
            type="response.mcp_call_arguments.done",
            arguments=arguments,
        )
        self._stage = "calling"

    def _open_stages(self) -> tuple[str, ...]:
        return ("arguments", "calling")

    def _snapshot(self, status: str) -> McpCall:
        return construct(
            McpCall,
            type="mcp_call",
            id=self.id,
            server_label=self.server_label,
            name=self.name,
            arguments="".join(self._pieces),
            approval_request_id=self.approval_request_id,
            output=self._output,
            error=self._error,
            status="calling" if status == "in_progress" and self._stage == "calling" else status,
        )

    def _abandon(self, failed: bool) -> None:
        if self._stage == "arguments":
            self._arguments_done()
        if failed:
            self.fail(None)
        else:
            self._finish("incomplete")


class McpApprovalHandle(ItemHandle):
    """An ``mcp_approval_request``: added and done at once, so it is never open."""

    __slots__ = ("arguments", "name", "server_label")
    kind = "mcp_approval_request"

    def __init__(
        self,
        core: LedgerCore,
        output_index: int,
        item_id: str,
        *,
        server_label: str,
        name: str,
        arguments: str,
    ) -> None:
        super().__init__(core, output_index, item_id, "pending")
        self.server_label, self.name, self.arguments = server_label, name, arguments
        self._emit_added()
        self._finish("completed")

    def _open_stages(self) -> tuple[str, ...]:
        return ()

    def _snapshot(self, status: str) -> McpApprovalRequest:
        del status  # this item type has no status field
        return construct(
            McpApprovalRequest,
            type="mcp_approval_request",
            id=self.id,
            server_label=self.server_label,
            name=self.name,
            arguments=self.arguments,
        )

    def _abandon(self, failed: bool) -> None:  # pragma: no cover - never open
        raise AssertionError("an approval request is done as soon as it is added")
