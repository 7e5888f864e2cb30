"""The turn loop of one response: engine events in, ledger events out, tools run in between.

One :class:`TurnLoop` drives one response. It first lists the tools of each MCP server the
request declared (one ``mcp_list_tools`` item per server not yet listed in the conversation) and
runs the calls the client approved. Then each upstream turn's items are classified by the harmony
recipient classifier (whatever engine produced them) and streamed into the ledger. After the turn,
server-side calls (MCP, code interpreter) run and their results go back to the model in the next
turn; a call to an undeclared tool is answered with an error the same way. A client function call
or an approval request ends the response. Turns are bounded (``max_turns``), and so are tool
calls (``max_tool_calls``), and so is the time the whole response takes (``deadline_seconds``,
counted from its start, across every turn and tool call): past it, the response ends ``failed``
with an error naming the deadline.

The loop owns no task: it is an async generator the run iterates, so cancelling the run cancels
the upstream request and any tool call in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import cast

from openai.types.responses import ResponseError, ResponseStreamEvent

from antiphon._deadline import Deadline
from antiphon.engines.base import (
    Engine,
    EngineRequest,
    FunctionTool,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    McpServerTools,
    TurnFinished,
    Usage,
)
from antiphon.exceptions import EngineError, UpstreamProtocolError
from antiphon.harmony.classifier import Classification, DeclaredTools, MessageKind, classify
from antiphon.harmony.messages import HarmonyHeader, mcp_namespace
from antiphon.responses.answers import Answers, UnknownCall
from antiphon.responses.items import Sink, TurnState, open_refused_mcp_call, open_sink
from antiphon.responses.server_tools import PendingCall, RequestTools
from antiphon.wire.ledger import ResponseLedger

__all__ = ["TurnLoop", "TurnRecord"]


@dataclass(slots=True)
class TurnRecord:
    """What the loop learnt, for the store and the HTTP layer."""

    raw_turns: list[str] = field(default_factory=list[str])
    usage: Usage = field(default_factory=Usage)
    upstream_error: EngineError | None = None
    produced_output: bool = False
    tool_calls: int = 0


class TurnLoop:
    """Runs the upstream turns of one response into ``ledger``; iterate it for event batches.

    The ledger must be started (or enqueued) already: the service records the response in the
    store before the first upstream byte.
    """

    def __init__(
        self,
        ledger: ResponseLedger,
        engine: Engine,
        request: EngineRequest,
        *,
        tools: RequestTools | None = None,
        max_turns: int = 16,
        deadline_seconds: float = 0,
    ) -> None:
        self._ledger = ledger
        self._engine = engine
        self._request = request
        self._tools = tools or RequestTools()
        # The full declaration (functions, code interpreter, listed MCP servers) is made once the
        # MCP servers have been listed, before the first turn: see _list_mcp_tools.
        self._declared = DeclaredTools()
        self._answers = Answers(request.history)
        # namespace -> (server label, why its tools cannot run; "" when they are listed)
        self._unlisted: dict[str, tuple[str, str]] = {}
        self._max_turns = max_turns
        self._deadline_seconds = deadline_seconds  # 0: none
        self.record = TurnRecord()

    async def events(self) -> AsyncGenerator[list[ResponseStreamEvent]]:
        """Event batches in stream order, ending with the terminal event's batch."""
        ledger = self._ledger
        if ledger.status == "queued":  # a background run starts when its task does
            ledger.start()
        yield ledger.drain()
        seconds = self._deadline_seconds
        deadline = Deadline(asyncio.get_running_loop().time() + seconds if seconds > 0 else None)
        try:
            async with aclosing(self._steps()) as steps:
                while True:
                    # Only the loop's own work runs under the deadline, in this task (the
                    # consumer's time between batches counts: the deadline is a point in time).
                    try:
                        async with deadline:
                            batch = await anext(steps)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        if not deadline.expired():
                            raise
                        message = (
                            f"the response exceeded its {seconds:g} s deadline "
                            "(response_deadline_seconds)"
                        )
                        ledger.fail(ResponseError(code="server_error", message=message))
                        break
                    yield batch
        except EngineError as exc:
            self.record.upstream_error = exc
            ledger.fail(ResponseError(code="server_error", message=f"upstream failed: {exc}"))
        finally:
            deadline.close()
        yield ledger.drain()

    async def _steps(self) -> AsyncGenerator[list[ResponseStreamEvent]]:
        # aclosing: closing this generator closes the step it is in now; a step left suspended
        # would keep its upstream request open until the garbage collector finalised it.
        for step in (self._list_mcp_tools, self._run_approved_calls, self._turns):
            async with aclosing(step()) as batches:
                async for batch in batches:
                    yield batch

    # -- before the first turn -----------------------------------------------------------------

    async def _list_mcp_tools(self) -> AsyncGenerator[list[ResponseStreamEvent]]:
        servers: list[McpServerTools] = []
        for binding in self._tools.mcp:
            label = binding.server_label
            handle = None
            if label not in self._tools.listed_labels:
                handle = self._ledger.add_mcp_list_tools(label)
                yield self._ledger.drain()
            listing = await binding.list_tools()
            if handle is not None:
                if listing.error is None:
                    handle.complete(listing.tools)
                else:
                    handle.fail(listing.error)
                yield self._ledger.drain()
            namespace = mcp_namespace(label)
            if listing.error is not None:
                # Not offered to the model; a call to it anyway fails in its own item.
                self._unlisted[namespace] = (label, f"could not be listed: {listing.error}")
                continue
            specs = tuple(
                FunctionTool(t.name, t.description or "", _schema(t.input_schema))
                for t in listing.tools
            )
            servers.append(McpServerTools(label, specs, binding.description))
            self._unlisted[namespace] = (label, "")
        self._request = replace(self._request, mcp_servers=tuple(servers))
        self._declared = DeclaredTools.build(
            functions=(t.name for t in self._request.tools),
            code_interpreter=self._tools.code is not None,
            mcp_servers=servers,
        )

    async def _run_approved_calls(self) -> AsyncGenerator[list[ResponseStreamEvent]]:
        for decision in self._tools.approvals:
            binding = self._tools.binding(decision.server_label)
            if not decision.approve or binding is None:
                self._answers.denied(decision)
                continue
            handle = self._ledger.add_mcp_call(
                decision.server_label,
                decision.name,
                approval_request_id=decision.approval_request_id,
            )
            handle.delta(decision.arguments)
            handle.arguments_done()
            yield self._ledger.drain()
            await self._execute(PendingCall(handle, mcp=binding))
            self._answers.item(handle.item)
            yield self._ledger.drain()
        self._answers.close_segment(None)

    # -- the turns ------------------------------------------------------------------------------

    async def _turns(self) -> AsyncGenerator[list[ResponseStreamEvent]]:
        for _ in range(self._max_turns):
            first_item = len(self._ledger.items)
            state = TurnState()
            unknown: list[UnknownCall] = []
            request = replace(self._request, history=self._answers.history)
            finished: TurnFinished | None = None
            async with aclosing(self._stream_turn(request, state, unknown)) as batches:
                async for batch in batches:
                    if isinstance(batch, TurnFinished):
                        finished = batch
                    else:
                        yield batch
            if finished is None:  # an engine must end with TurnFinished
                raise UpstreamProtocolError(f"the {self._engine.name} engine cut the turn short")
            self._account(finished)
            if finished.reason == "length":
                self._ledger.incomplete("max_output_tokens")
                return
            for call in state.pending:
                await self._execute(call)
                yield self._ledger.drain()
            if state.called_function or state.approval_requested:
                self._ledger.complete()
                return
            if not state.pending and not unknown and not state.refused_calls:
                self._ledger.complete()
                return
            for handle in self._ledger.items[first_item:]:
                self._answers.item(handle.item)
            for call in unknown:
                self._answers.unknown(call)
            self._answers.close_segment(finished.raw_text)
        # The turn cap is a budget the model exhausted, like its token budget.
        self._ledger.incomplete("max_output_tokens")

    async def _stream_turn(
        self, request: EngineRequest, state: TurnState, unknown: list[UnknownCall]
    ) -> AsyncGenerator[list[ResponseStreamEvent] | TurnFinished]:
        sink: Sink | None = None
        pending: UnknownCall | None = None
        # An item's end is held until the next event: engines close the last item before they
        # say the turn hit max_output_tokens, and a cut item must end "incomplete".
        finished: Sink | None = None
        async with aclosing(self._engine.stream(request)) as stream:
            async for event in stream:
                if finished is not None and not _cut(event):
                    finished.done()
                finished = None
                if isinstance(event, ItemStarted):
                    verdict = self._classify(event)
                    refusal = self._refusal(verdict)
                    if refusal is not None:
                        sink = open_refused_mcp_call(self._ledger, *refusal, state)
                    elif verdict.kind is MessageKind.UNKNOWN_TOOL:
                        pending = UnknownCall(verdict.recipient or "", event.call_id or "")
                    else:
                        if verdict.kind is MessageKind.CODE_INTERPRETER_CALL and self._tools.code:
                            await self._tools.code.prepare()  # the item names its container
                        sink = open_sink(self._ledger, event, verdict, self._tools, state)
                elif isinstance(event, ItemDelta):
                    if pending is not None:
                        pending.arguments.append(event.text)
                    elif sink is not None:
                        sink.delta(event.text)
                elif isinstance(event, ItemFinished):
                    if pending is not None:
                        unknown.append(pending)
                    finished, sink, pending = sink, None, None
                else:
                    yield event
                batch = self._ledger.drain()
                if batch:
                    self.record.produced_output = True
                    yield batch

    async def _execute(self, call: PendingCall) -> None:
        budget = self._tools.max_tool_calls
        over = budget is not None and self.record.tool_calls >= budget
        if not over:
            self.record.tool_calls += 1
        await call.execute(over_budget=over)

    def _refusal(self, verdict: Classification) -> tuple[str, str, str] | None:
        """(label, tool, reason) when an unknown recipient names a declared MCP server."""
        if verdict.kind is not MessageKind.UNKNOWN_TOOL or not verdict.recipient:
            return None
        recipient = verdict.recipient
        # harmony writes ``ns.tool``; a chat upstream echoes an undeclared name as ``ns__tool``
        namespace, _, tool = recipient.partition("." if "." in recipient else "__")
        known = self._unlisted.get(namespace)
        if known is None or not tool:
            return None
        label, problem = known
        reason = f"MCP server '{label}' {problem}" if problem else ""
        return label, tool, reason or f"Tool '{tool}' is not allowed on MCP server '{label}'."

    def _classify(self, event: ItemStarted) -> Classification:
        if event.kind == "tool_call":
            header = HarmonyHeader("assistant", event.channel or "commentary", event.name)
        elif event.kind == "reasoning":
            header = HarmonyHeader("assistant", "analysis")
        else:
            channel = "commentary" if event.phase == "commentary" else "final"
            header = HarmonyHeader("assistant", channel)
        return classify(header, self._declared)

    def _account(self, finished: TurnFinished) -> None:
        if finished.raw_text is not None:
            self.record.raw_turns.append(finished.raw_text)
        if finished.usage is None:
            return
        old, turn = self.record.usage, finished.usage
        usage = Usage(
            input_tokens=old.input_tokens + turn.input_tokens,
            output_tokens=old.output_tokens + turn.output_tokens,
            reasoning_tokens=old.reasoning_tokens + turn.reasoning_tokens,
            cached_tokens=old.cached_tokens + turn.cached_tokens,
        )
        self.record.usage = usage
        self._ledger.set_usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            reasoning_tokens=usage.reasoning_tokens,
        )


def _cut(event: object) -> bool:
    return isinstance(event, TurnFinished) and event.reason == "length"


def _schema(value: object) -> dict[str, object] | None:
    if not isinstance(value, dict):
        return None
    source = cast(dict[object, object], value)  # an MCP tool's JSON Schema object
    return {str(key): item for key, item in source.items()}
