"""Where the text of one engine item goes: the ledger item its classification calls for.

A :class:`Sink` hides which output item a model message became, so the turn loop feeds every
item the same way (``delta``..., ``done``). Server-side calls register themselves in the turn's
:class:`TurnState` when their arguments are complete; they run after the upstream turn ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from openai.types.responses.mcp_tool_call_error import McpProtocolError

from antiphon.engines.base import ItemStarted
from antiphon.exceptions import ProtocolError
from antiphon.harmony.classifier import Classification, MessageKind
from antiphon.responses.server_tools import McpBinding, PendingCall, RequestTools
from antiphon.wire._builtin import CodeInterpreterHandle
from antiphon.wire._content import MessageHandle
from antiphon.wire._tools import McpCallHandle
from antiphon.wire.ledger import ResponseLedger

__all__ = ["Sink", "TurnState", "open_refused_mcp_call", "open_sink"]


class Sink(Protocol):
    """One open output item being streamed."""

    def delta(self, text: str, /) -> None:
        """Append text (message text, reasoning text, arguments or code)."""
        ...

    def done(self) -> None:
        """Close the item (or, for a server-side call, close its arguments)."""
        ...


@dataclass(slots=True)
class TurnState:
    """What the items of one upstream turn asked for."""

    pending: list[PendingCall] = field(default_factory=list[PendingCall])
    called_function: bool = False
    approval_requested: bool = False
    refused_calls: int = 0  # MCP calls answered with an error item without running


class _MessageSink:
    __slots__ = ("_handle",)

    def __init__(self, handle: MessageHandle) -> None:
        self._handle = handle
        handle.open_text()

    def delta(self, text: str, /) -> None:
        self._handle.delta(text)

    def done(self) -> None:
        self._handle.done()


class _CallSink:
    """An MCP or code interpreter call: arguments stream, then the call waits for the turn end."""

    __slots__ = ("_call", "_state")

    def __init__(self, call: PendingCall, state: TurnState) -> None:
        self._call = call
        self._state = state

    def delta(self, text: str, /) -> None:
        self._call.handle.delta(text)

    def done(self) -> None:
        handle = self._call.handle
        if isinstance(handle, McpCallHandle):
            handle.arguments_done()
        else:
            handle.code_done()
        self._state.pending.append(self._call)


class _RefusedSink:
    """An MCP call the request does not allow: its item streams, then fails without running."""

    __slots__ = ("_handle", "_reason", "_state")

    def __init__(self, handle: McpCallHandle, reason: str, state: TurnState) -> None:
        self._handle, self._reason, self._state = handle, reason, state

    def delta(self, text: str, /) -> None:
        self._handle.delta(text)

    def done(self) -> None:
        self._handle.arguments_done()
        error = McpProtocolError(type="mcp_protocol_error", code=-32602, message=self._reason)
        self._handle.fail(error)
        self._state.refused_calls += 1


def open_refused_mcp_call(
    ledger: ResponseLedger, server_label: str, name: str, reason: str, state: TurnState
) -> Sink:
    """A call to a declared MCP server that cannot run: outside ``allowed_tools``, or unlisted."""
    return _RefusedSink(ledger.add_mcp_call(server_label, name), reason, state)


class _ApprovalSink:
    """A call that needs approval: no item streams; an approval request is added at the end."""

    __slots__ = ("_ledger", "_name", "_parts", "_server", "_state")

    def __init__(self, ledger: ResponseLedger, server: str, name: str, state: TurnState) -> None:
        self._ledger, self._server, self._name, self._state = ledger, server, name, state
        self._parts: list[str] = []

    def delta(self, text: str, /) -> None:
        self._parts.append(text)

    def done(self) -> None:
        self._ledger.add_mcp_approval_request(self._server, self._name, "".join(self._parts))
        self._state.approval_requested = True


def open_sink(
    ledger: ResponseLedger,
    event: ItemStarted,
    verdict: Classification,
    tools: RequestTools,
    state: TurnState,
) -> Sink:
    """Open the output item ``verdict`` calls for and return where its text goes."""
    kind = verdict.kind
    if kind is MessageKind.REASONING:
        return ledger.add_reasoning()  # a reasoning handle is itself a sink
    if kind is MessageKind.MESSAGE:
        # Only an engine that knows the channel (harmony) says whether this is a preamble.
        return _MessageSink(ledger.add_message(phase=event.phase))
    if kind is MessageKind.FUNCTION_CALL:
        state.called_function = True
        return ledger.add_function_call(verdict.name or "", call_id=event.call_id)
    if kind is MessageKind.MCP_CALL:
        return _mcp_sink(ledger, verdict, tools, state)
    if kind is MessageKind.CODE_INTERPRETER_CALL and tools.code is not None:
        handle: CodeInterpreterHandle = ledger.add_code_interpreter_call(tools.code.container_id)
        return _CallSink(PendingCall(handle, code=tools.code), state)
    raise ProtocolError(f"no output item for a {kind.value} message without its tool declared")


def _mcp_sink(
    ledger: ResponseLedger, verdict: Classification, tools: RequestTools, state: TurnState
) -> Sink:
    label, name = verdict.server_label or "", verdict.name or ""
    binding: McpBinding | None = tools.binding(label)
    if binding is None:  # the classifier only routes to declared servers
        raise ProtocolError(f"MCP call routed to undeclared server {label!r}")
    if binding.needs_approval(name):
        return _ApprovalSink(ledger, label, name, state)
    return _CallSink(PendingCall(ledger.add_mcp_call(label, name), mcp=binding), state)
