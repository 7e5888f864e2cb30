"""Shared pieces of the Responses tests: scripts, ledgers, real tool bindings, stream checks.

Everything here is real: the scripted engine plays the model, the ledger builds the events,
MCP calls go to the MCP test server through the real pool, in-process (the SDK's in-memory
pairing: no process, no socket). Streams are checked with the grammar checker (and replayed
through the official client) before anything else is asserted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR
from mcp.types import Tool as McpTool
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.tool import Mcp

from antiphon.engines import Script, ScriptedEngine, ScriptedFailure, ScriptedItem, ScriptedTurn
from antiphon.engines.base import (
    EngineRequest,
    FinishReason,
    FunctionTool,
    HistorySegment,
    Phase,
    Usage,
)
from antiphon.responses.bindings import McpPoolBinding
from antiphon.responses.turn import TurnLoop
from antiphon.testing.mcp_servers import build_server
from antiphon.tools.mcp import McpClientPool, McpServerConfig, resolve_mcp_tool
from antiphon.wire.ids import SequentialIds
from antiphon.wire.ledger import ResponseLedger
from tests.grammar import check_stream

__all__ = [
    "BROKEN",
    "CALC",
    "binding",
    "call",
    "check_batches",
    "check_json_batches",
    "collect",
    "engine",
    "ledger",
    "mcp_pool",
    "message",
    "reasoning",
    "request",
    "run_loop",
    "turn",
]


#: The MCP test server, as the operator configured it; the pool reaches it in-process (the URL
#: is never dialled: see :func:`mcp_pool`).
CALC = McpServerConfig("calc", "http", url="http://calc.invalid/mcp", timeout=10.0)
#: An operator's server that is down: every listing fails.
BROKEN = McpServerConfig("broken", "http", url="http://broken.invalid/mcp", timeout=5.0)


class _DownServer(MCPServer):
    """An MCP server that answers every listing with an internal error."""

    async def list_tools(self) -> list[McpTool]:
        """Fail, as a server whose backend is down does."""
        raise MCPError(INTERNAL_ERROR, "the server is down")


def mcp_pool() -> McpClientPool:
    """A pool reaching :data:`CALC` (a fresh MCP test server) and :data:`BROKEN` in-process."""
    servers = {CALC.label: build_server(), BROKEN.label: _DownServer(BROKEN.label)}
    return McpClientPool(in_process=servers)


def binding(
    pool: McpClientPool, config: McpServerConfig = CALC, **fields: object
) -> McpPoolBinding:
    """The request tool ``{"type": "mcp", "server_label": ..., **fields}`` bound to ``pool``."""
    tool = Mcp.model_validate({"type": "mcp", "server_label": config.label, **fields})
    return McpPoolBinding(pool, resolve_mcp_tool(tool, {config.label: config}))


def message(text: str, *, phase: Phase = "final_answer") -> ScriptedItem:
    """A scripted message item."""
    return ScriptedItem("message", text, phase=phase)


def reasoning(text: str) -> ScriptedItem:
    """A scripted reasoning item."""
    return ScriptedItem("reasoning", text)


def call(recipient: str, arguments: str = "{}", *, call_id: str | None = None) -> ScriptedItem:
    """A scripted tool call to ``recipient`` (``functions.f``, ``calc.add``, ``python``)."""
    return ScriptedItem("tool_call", arguments, name=recipient, call_id=call_id)


def turn(
    *items: ScriptedItem,
    finish: FinishReason | None = None,
    usage: Usage | None = None,
    fail: ScriptedFailure | None = None,
) -> ScriptedTurn:
    """One scripted upstream turn of ``items``."""
    return ScriptedTurn(items=items, finish_reason=finish, usage=usage, fail=fail)


def engine(*turns: ScriptedTurn) -> ScriptedEngine:
    """A scripted engine playing ``turns`` in order, with deterministic ids."""
    return ScriptedEngine(Script(turns=turns), ids=SequentialIds())


def request(text: str = "Hello", *, functions: Iterable[str] = ()) -> EngineRequest:
    """An engine request with one user message and the named function tools."""
    history = (HistorySegment(({"role": "user", "content": text},)),)
    return EngineRequest(
        model="m", history=history, tools=tuple(FunctionTool(n) for n in functions)
    )


def ledger(*, max_tool_calls: int | None = None, started: bool = True) -> ResponseLedger:
    """A ledger with deterministic ids, started unless asked otherwise."""
    made = ResponseLedger({"model": "m", "max_tool_calls": max_tool_calls}, ids=SequentialIds())
    if started:
        made.start()
    return made


def check_batches(batches: Iterable[list[ResponseStreamEvent]]) -> Response:
    """Serialise events as the run does and check the stream; the client's final response."""
    return check_json_batches(
        [(event.type, event.model_dump_json(by_alias=True, exclude_unset=True)) for event in batch]
        for batch in batches
    )


def check_json_batches(batches: Iterable[list[tuple[str, str]]]) -> Response:
    """Check a stream given as batches of ``(type, JSON)``; the client's final response."""
    payloads: list[dict[str, object]] = []
    for batch in batches:
        for kind, data in batch:
            payload = json.loads(data)  # JSON boundary: the grammar checker validates it
            assert payload["type"] == kind
            payloads.append(payload)
    return check_stream(payloads)


async def collect(batches: AsyncIterator[list[ResponseStreamEvent]]) -> list[ResponseStreamEvent]:
    """Every event of an async iterator of batches."""
    return [event async for batch in batches for event in batch]


async def run_loop(loop: TurnLoop) -> Response:
    """Drive ``loop`` to its end; the checked final response."""
    events = await collect(loop.events())
    return check_batches([events])
