"""Planning a realtime response on the Responses machinery, and what it shows at its ends.

``response.create`` becomes a Responses create body (the session's settings, the response's
overrides, the conversation or the response's own ``input`` as input items), checked by the same
parser as ``POST /v1/responses`` and planned by :func:`~antiphon.responses.plan.plan_response`
into a ledger and turn loop. Errors name the realtime field (``response.tools[0]``). The
realtime response echoes what was asked: its id, output items, modalities, token limit,
metadata and usage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from openai.types.realtime import (
    ConversationItem,
    RealtimeMcpToolCall,
    RealtimeResponse,
    RealtimeResponseCreateParams,
    RealtimeServerEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
from openai.types.realtime.rate_limits_updated_event import RateLimitsUpdatedEvent

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server._convert import input_items
from antiphon.realtime_server.item_events import check_item
from antiphon.realtime_server.items import ConversationItems
from antiphon.realtime_server.session import (
    RealtimeSession,
    ResponseSettings,
    merge_tools,
    tool_choice,
)
from antiphon.realtime_server.translate import Ending, ResponseTranslator, Voice
from antiphon.responses.catalog import ServedModel
from antiphon.responses.history import normalize_input
from antiphon.responses.plan import TurnLimits, plan_response
from antiphon.responses.request import parse_create_body
from antiphon.responses.runtime import ToolRuntime
from antiphon.responses.turn import TurnLoop
from antiphon.wire.json import dump

__all__ = ["Planned", "ResponsePlanner"]

Status = Literal["completed", "incomplete", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Planned:
    """A response ready to run: its first events, its translator and its turn loop."""

    events: list[RealtimeServerEvent]
    translator: ResponseTranslator
    turn: TurnLoop
    settings: ResponseSettings
    metadata: Mapping[str, str] | None


class ResponsePlanner:
    """Turns ``response.create`` into a planned run, for one conversation."""

    def __init__(
        self,
        model: str,
        served: ServedModel,
        runtime: ToolRuntime,
        session: RealtimeSession,
        items: ConversationItems,
        limits: TurnLimits,
        ids: Callable[[str], str],
        clock: Callable[[], float],
    ) -> None:
        self._model = model
        self._served = served
        self._runtime = runtime
        self._session = session
        self._items = items
        self._limits = limits
        self._ids = ids
        self._clock = clock
        self._asked: dict[str, Planned] = {}

    def session_event(
        self, kind: Literal["session.created", "session.updated"]
    ) -> RealtimeServerEvent:
        """``session.created`` or ``session.updated`` with the session as it now is."""
        view = self._session.view()
        if kind == "session.created":
            return SessionCreatedEvent(type=kind, event_id=self._ids("event"), session=view)
        return SessionUpdatedEvent(type=kind, event_id=self._ids("event"), session=view)

    def plan(
        self, event: ResponseCreateEvent, code_tools: Mapping[int, Mapping[str, object]]
    ) -> Planned:
        """Plan the response ``event`` asks for; :class:`InvalidRequestError` if it cannot run."""
        params = event.response or RealtimeResponseCreateParams()
        settings = self._settings(params, code_tools)
        conversation = params.conversation or "auto"
        if conversation not in ("auto", "none"):
            raise InvalidRequestError(
                "conversation must be 'auto' or 'none'.", param="response.conversation"
            )
        if params.input is not None:
            for index, item in enumerate(params.input):
                check_item(item, f"response.input[{index}]", None)
            context: Sequence[ConversationItem] = params.input
            inputs = input_items(context, lambda _: None)
        else:
            context = list(self._items)
            inputs = input_items(context, self._items.origin)
        metadata = dict(params.metadata) if params.metadata is not None else None
        raw = settings.body(self._model, inputs, metadata=metadata)
        try:
            body = parse_create_body(raw)
            new_input = normalize_input(body, self._ids)
            ledger, turn = plan_response(
                body,
                (),
                new_input,
                served=self._served,
                runtime=self._runtime,
                ids=self._ids,
                clock=self._clock,
                limits=self._limits,
                answered_approvals=_answered(context),
            )
        except InvalidRequestError as exc:
            exc.param = _realtime_param(exc.param)
            raise
        ledger.start()
        voice = self._session.voice
        translator = ResponseTranslator(
            self._ids("resp"),
            conversation == "auto",
            self._items,
            self._ids,
            Voice(voice.voice, voice.speed) if settings.modalities == ("audio",) else None,
        )
        planned = Planned([], translator, turn, settings, metadata)
        self._asked[translator.response_id] = planned
        view = self._view(planned, "in_progress", None)
        planned.events.append(
            ResponseCreatedEvent(
                type="response.created", event_id=self._ids("event"), response=view
            )
        )
        # antiphon applies no rate limits of its own: the list is empty, and says so.
        planned.events.append(
            RateLimitsUpdatedEvent(
                type="rate_limits.updated", event_id=self._ids("event"), rate_limits=[]
            )
        )
        return planned

    def _settings(
        self, params: RealtimeResponseCreateParams, code_tools: Mapping[int, Mapping[str, object]]
    ) -> ResponseSettings:
        fields = params.model_fields_set
        settings = self._session.settings
        if params.output_modalities is not None:
            settings = dataclasses.replace(settings, modalities=tuple(params.output_modalities))
        if "instructions" in fields:
            settings = dataclasses.replace(settings, instructions=params.instructions)
        if "tools" in fields or code_tools:
            tools = merge_tools(params.tools or [], code_tools)
            settings = dataclasses.replace(settings, tools=tuple(tools))
        if params.tool_choice is not None:
            settings = dataclasses.replace(settings, tool_choice=tool_choice(params.tool_choice))
        if "max_output_tokens" in fields:
            settings = dataclasses.replace(settings, max_output_tokens=params.max_output_tokens)
        if params.parallel_tool_calls is not None:
            settings = dataclasses.replace(settings, parallel_tool_calls=params.parallel_tool_calls)
        if params.reasoning is not None and params.reasoning.effort is not None:
            settings = dataclasses.replace(settings, reasoning_effort=params.reasoning.effort)
        self._session.check_modalities(settings.modalities, "response.output_modalities")
        return settings

    def done_event(
        self, translator: ResponseTranslator, status: Status, ending: Ending | None
    ) -> RealtimeServerEvent:
        """``response.done`` for a response that ended ``status``."""
        planned = self._asked.pop(translator.response_id)
        view = self._view(planned, status, ending)
        return ResponseDoneEvent(type="response.done", event_id=self._ids("event"), response=view)

    def _view(self, planned: Planned, status: str, ending: Ending | None) -> RealtimeResponse:
        translator, settings = planned.translator, planned.settings
        usage = ending.usage if ending is not None else None
        data: dict[str, object] = {
            "id": translator.response_id,
            "object": "realtime.response",
            "status": status,
            "output": [dump(item) for item in translator.output],
            "conversation_id": None,
            "output_modalities": list(settings.modalities),
            "max_output_tokens": settings.max_output_tokens or "inf",
            "metadata": planned.metadata,
            "usage": {
                "input_tokens": usage.input_tokens if usage else 0,
                "output_tokens": usage.output_tokens if usage else 0,
                "total_tokens": usage.total_tokens if usage else 0,
            },
        }
        if status == "cancelled":
            data["status_details"] = {"type": "cancelled", "reason": "client_cancelled"}
        elif ending is not None and ending.status == "incomplete":
            data["status_details"] = {"type": "incomplete", "reason": ending.reason}
        elif ending is not None and ending.status == "failed":
            error = {"type": "server_error", "code": "engine_error", "message": ending.error}
            data["status_details"] = {"type": "failed", "error": error}
        return RealtimeResponse.model_validate(data)


def _answered(context: Sequence[ConversationItem]) -> frozenset[str]:
    """The approval requests an earlier response already acted on (an MCP call cites them)."""
    return frozenset(
        item.approval_request_id
        for item in context
        if isinstance(item, RealtimeMcpToolCall) and item.approval_request_id
    )


def _realtime_param(param: str | None) -> str:
    """``response.tools[0]`` for the create body's ``tools[0]``; the input is the conversation."""
    if param is None:
        return "response"
    if param.startswith("input"):
        return "response.input" if param != "input" else "response"
    return f"response.{param}"
