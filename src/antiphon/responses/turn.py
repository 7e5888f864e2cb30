"""The turn loop of one response: engine events in, ledger events out.

One :class:`TurnLoop` drives one response. Each upstream turn's items are classified by the
harmony recipient classifier (whatever engine produced them) and streamed into the ledger:
reasoning, messages, client function calls. A turn that calls a client function ends the
response (the client runs it and comes back with ``function_call_output``); a call to a tool
the request never declared is answered to the model with an error and the model goes on, within
a bounded number of turns. The loop owns no task and does no I/O of its own: it is an async
generator the service iterates, so cancelling the service's task cancels the upstream request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import cast

from openai.types.responses import ResponseError, ResponseInputItemParam, ResponseStreamEvent

from antiphon.engines.base import (
    Engine,
    EngineRequest,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    TurnFinished,
    Usage,
)
from antiphon.exceptions import EngineError, UpstreamProtocolError
from antiphon.harmony.classifier import Classification, DeclaredTools, MessageKind, classify
from antiphon.harmony.messages import HarmonyHeader
from antiphon.responses.items import Sink, open_sink
from antiphon.wire.ledger import ResponseLedger

__all__ = ["TurnLoop", "TurnRecord"]


@dataclass(slots=True)
class TurnRecord:
    """What the loop learnt, for the store and the HTTP layer."""

    raw_turns: list[str] = field(default_factory=list[str])
    usage: Usage = field(default_factory=Usage)
    upstream_error: EngineError | None = None
    produced_output: bool = False


@dataclass(slots=True)
class _UnknownCall:
    recipient: str
    call_id: str
    arguments: list[str] = field(default_factory=list[str])


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
        declared: DeclaredTools,
        *,
        max_turns: int = 16,
    ) -> None:
        self._ledger = ledger
        self._engine = engine
        self._request = request
        self._declared = declared
        self._max_turns = max_turns
        self._produced: list[HistorySegment] = []  # earlier turns of this response, for the next
        self.record = TurnRecord()

    async def events(self) -> AsyncIterator[list[ResponseStreamEvent]]:
        """Event batches in stream order, ending with the terminal event's batch."""
        ledger = self._ledger
        if ledger.status == "queued":  # a background run starts when its task does
            ledger.start()
        yield ledger.drain()
        try:
            async for batch in self._turns():
                yield batch
        except EngineError as exc:
            self.record.upstream_error = exc
            ledger.fail(ResponseError(code="server_error", message=f"upstream failed: {exc}"))
        yield ledger.drain()

    async def _turns(self) -> AsyncIterator[list[ResponseStreamEvent]]:
        request = self._request
        for _ in range(self._max_turns):
            first_item = len(self._ledger.items)
            unknown: list[_UnknownCall] = []
            finished: TurnFinished | None = None
            called_function = False
            async with aclosing(self._engine.stream(request)) as stream:
                sink: Sink | None = None
                pending: _UnknownCall | None = None
                async for event in stream:
                    if isinstance(event, ItemStarted):
                        verdict = self._classify(event)
                        if verdict.kind is MessageKind.UNKNOWN_TOOL:
                            pending = _UnknownCall(verdict.recipient or "", event.call_id or "")
                        else:
                            sink = open_sink(self._ledger, event, verdict)
                            called_function |= verdict.kind is MessageKind.FUNCTION_CALL
                    elif isinstance(event, ItemDelta):
                        if pending is not None:
                            pending.arguments.append(event.text)
                        elif sink is not None:
                            sink.delta(event.text)
                    elif isinstance(event, ItemFinished):
                        if pending is not None:
                            unknown.append(pending)
                        elif sink is not None:
                            sink.done()
                        sink, pending = None, None
                    else:
                        finished = event
                    batch = self._ledger.drain()
                    if batch:
                        self.record.produced_output = True
                        yield batch
            if finished is None:  # an engine must end with TurnFinished; treat it as cut short
                raise UpstreamProtocolError(f"the {self._engine.name} engine cut the turn short")
            self._account(finished)
            if finished.reason == "length":
                self._ledger.incomplete("max_output_tokens")
                return
            if called_function or not unknown:
                self._ledger.complete()
                return
            request = self._answer_unknown(request, first_item, unknown, finished.raw_text)
        # The loop cap is a budget the model exhausted, like its token budget.
        self._ledger.incomplete("max_output_tokens")

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
        usage = self.record.usage
        if finished.usage is not None:
            turn = finished.usage
            usage = Usage(
                input_tokens=usage.input_tokens + turn.input_tokens,
                output_tokens=usage.output_tokens + turn.output_tokens,
                reasoning_tokens=usage.reasoning_tokens + turn.reasoning_tokens,
                cached_tokens=usage.cached_tokens + turn.cached_tokens,
            )
            self.record.usage = usage
            self._ledger.set_usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_tokens=usage.cached_tokens,
                reasoning_tokens=usage.reasoning_tokens,
            )

    def _answer_unknown(
        self,
        request: EngineRequest,
        first_item: int,
        calls: list[_UnknownCall],
        raw_text: str | None,
    ) -> EngineRequest:
        """The next turn's request: this turn's output, then an error answer to each call."""
        items: list[dict[str, object]] = [
            handle.item.model_dump(mode="json", exclude_none=True)
            for handle in self._ledger.items[first_item:]
        ]
        for call in calls:
            message = f"Tool '{call.recipient}' does not exist. Use only the tools provided."
            call_item: dict[str, object] = {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.recipient,
                "arguments": "".join(call.arguments),
            }
            answer: dict[str, object] = {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"error": message}),
            }
            items += (call_item, answer)
        # JSON built here from official models: the TypedDict shape holds by construction.
        typed = tuple(cast(ResponseInputItemParam, item) for item in items)
        self._produced.append(HistorySegment(typed, raw_text))
        return replace(request, history=(*self._request.history, *self._produced))
