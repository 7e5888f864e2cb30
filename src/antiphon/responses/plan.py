"""One response's ledger and turn loop, from a create body: shared by both servers.

The Responses service (``POST /v1/responses``) and the realtime server (``response.create`` on
``/v1/realtime``) run a response the same way: the body's history becomes an engine request,
its server-side tools are checked against the operator's and bound, and a
:class:`~antiphon.responses.turn.TurnLoop` drives the engine into a
:class:`~antiphon.wire.ledger.ResponseLedger`. Building them does no I/O: a request that cannot
run raises :class:`~antiphon.exceptions.InvalidRequestError` here, before anything starts.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from antiphon.responses.catalog import ServedModel
from antiphon.responses.history import engine_request
from antiphon.responses.request import CreateResponseBody
from antiphon.responses.runtime import ToolRuntime
from antiphon.responses.turn import TurnLoop
from antiphon.store.base import ConversationSegment, StoredItem
from antiphon.wire._response import ResponseParams
from antiphon.wire.ids import IdFactory
from antiphon.wire.ledger import ResponseLedger

__all__ = ["TurnLimits", "plan_response"]


@dataclass(frozen=True, slots=True)
class TurnLimits:
    """Bounds on one response: its model turns, and the time they all take (0: none).

    Each round of server-side tool calls is one more model turn.
    """

    max_turns: int = 16
    deadline_seconds: float = 0


def plan_response(
    body: CreateResponseBody,
    chain: Sequence[ConversationSegment],
    new_input: Sequence[StoredItem],
    *,
    served: ServedModel,
    runtime: ToolRuntime,
    ids: IdFactory,
    clock: Callable[[], float],
    limits: TurnLimits = TurnLimits(),
    answered_approvals: Collection[str] = (),
) -> tuple[ResponseLedger, TurnLoop]:
    """The ledger (neither queued nor started) and turn loop of one response.

    ``answered_approvals`` lists approval requests that earlier responses already acted on: a
    realtime conversation keeps its ``mcp_approval_response`` items, and an approval is used
    once.
    """
    today = datetime.datetime.fromtimestamp(clock(), datetime.UTC).date()
    request = engine_request(
        body, chain, new_input, upstream_model=served.upstream_model, today=today
    )
    tools = runtime.for_request(body, chain, new_input)
    if answered_approvals:
        pending = tuple(
            decision
            for decision in tools.approvals
            if decision.approval_request_id not in answered_approvals
        )
        tools = dataclasses.replace(tools, approvals=pending)
    ledger = ResponseLedger(response_params(body), ids=ids, clock=clock)
    loop = TurnLoop(
        ledger,
        served.engine,
        request,
        tools=tools,
        max_turns=limits.max_turns,
        deadline_seconds=limits.deadline_seconds,
    )
    return ledger, loop


def response_params(body: CreateResponseBody) -> ResponseParams:
    """The request fields a response echoes."""
    params: ResponseParams = {
        "model": body.model,
        "instructions": body.instructions,
        "tools": body.tools,
        "tool_choice": body.tool_choice,
        "parallel_tool_calls": body.parallel_tool_calls,
        "max_output_tokens": body.max_output_tokens,
        "max_tool_calls": body.max_tool_calls,
        "metadata": body.metadata or {},
        "previous_response_id": body.previous_response_id,
        "reasoning": body.reasoning,
        "text": body.text,
        "user": body.user,
        "safety_identifier": body.safety_identifier,
        "prompt_cache_key": body.prompt_cache_key,
        "background": body.background,
        "store": body.store,
    }
    if body.temperature is not None:
        params["temperature"] = body.temperature
    if body.top_p is not None:
        params["top_p"] = body.top_p
    if body.truncation is not None:
        params["truncation"] = body.truncation
    if body.service_tier is not None:
        params["service_tier"] = body.service_tier
    return params
