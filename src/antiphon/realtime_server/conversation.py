"""The sans-I/O core of one ``/v1/realtime`` connection: client events in, server events out.

A :class:`RealtimeConversation` holds one session (instructions, function tools, tool choice,
output token limit), the conversation items (bounded: the oldest are dropped past
``max_items`` items or ``max_history_bytes`` of JSON) and at most one active response. It
never awaits and does no I/O: the WebSocket adapter feeds it client frames
(:meth:`RealtimeConversation.receive`) and the events of the engine turn it asked for
(:meth:`RealtimeConversation.engine_event`), and sends what it returns.

States: *idle*, or *responding* between ``response.created`` and ``response.done``. A
``response.create`` while responding is refused with ``conversation_already_has_active_response``,
a ``response.cancel`` while idle with ``response_cancel_not_active``, as OpenAI does. Every
refusal is an ``error`` event; the connection stays open.

Text only: ``output_modalities`` must be ``["text"]`` and the ``input_audio_buffer.*`` events are
refused (no speech pipeline is configured). One response is one engine turn: a function call
ends it, and the client answers with a ``function_call_output`` item and a new
``response.create``.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Final, Literal

from openai.types.realtime import (
    ConversationItem,
    ConversationItemAdded,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDeleteEvent,
    ConversationItemDone,
    ConversationItemRetrieveEvent,
    RealtimeClientEvent,
    RealtimeConversationItemAssistantMessage,
    RealtimeConversationItemFunctionCall,
    RealtimeError,
    RealtimeErrorEvent,
    RealtimeResponse,
    RealtimeResponseCreateParams,
    RealtimeResponseStatus,
    RealtimeResponseUsage,
    RealtimeServerEvent,
    RealtimeSessionCreateRequest,
    ResponseCancelEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
)
from openai.types.realtime.realtime_conversation_item_assistant_message import (
    Content as AssistantContent,
)
from openai.types.realtime.realtime_response_status import Error as StatusError
from openai.types.realtime.realtime_server_event import ConversationItemRetrieved
from openai.types.realtime.response_content_part_added_event import Part as AddedPart
from openai.types.realtime.response_content_part_done_event import Part as DonePart
from pydantic import Field, TypeAdapter, ValidationError

from antiphon.engines.base import (
    EngineEvent,
    EngineRequest,
    FunctionTool,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    ToolChoice,
    Usage,
)
from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server._convert import function_tools, history_items, tool_choice

__all__ = ["CLIENT_EVENTS", "RealtimeConversation", "Step", "error_event", "short_id"]

CLIENT_EVENTS: TypeAdapter[RealtimeClientEvent] = TypeAdapter(
    Annotated[RealtimeClientEvent, Field(discriminator="type")]
)
"""Validates one client frame against the official GA client event union."""

_FUNCTION_PREFIX: Final = "functions."
DEFAULT_MAX_ITEMS: Final = 512
DEFAULT_MAX_HISTORY_BYTES: Final = 4 * 2**20
# Tags pydantic puts in a location inside a discriminated union of items or tools.
_ITEM_TAGS: Final = frozenset(
    {"message", "function_call", "function_call_output", "function", "mcp"}
)


def short_id(prefix: str) -> str:
    """A random id of OpenAI's realtime length (at most 32 characters): ``item_`` + 24 hex."""
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass(slots=True)
class Step:
    """What the adapter does after feeding the core one client frame.

    Send ``events`` in order; then start an engine turn for ``start`` when it is set (its
    events go to the core with ``response_id``), or cancel the running turn when ``cancel`` is
    true (and feed :meth:`RealtimeConversation.cancelled`).
    """

    events: list[RealtimeServerEvent] = field(default_factory=list[RealtimeServerEvent])
    start: EngineRequest | None = None
    response_id: str = ""
    cancel: bool = False


@dataclass(slots=True)
class _Session:
    instructions: str | None = None
    tools: tuple[FunctionTool, ...] = ()
    tool_choice: ToolChoice = "auto"
    max_output_tokens: int | Literal["inf"] | None = None
    model: RealtimeSessionCreateRequest | None = None
    parallel_tool_calls: bool = True


@dataclass(slots=True)
class _OpenItem:
    item_id: str
    output_index: int
    kind: Literal["message", "function_call", "skip"]
    name: str = ""
    call_id: str = ""
    text: list[str] = field(default_factory=list[str])


@dataclass(slots=True)
class _Response:
    response_id: str
    in_conversation: bool
    metadata: dict[str, str] | None
    max_output_tokens: int | Literal["inf"] | None
    output: list[ConversationItem] = field(default_factory=list[ConversationItem])
    open: _OpenItem | None = None
    usage: Usage | None = None


class RealtimeConversation:
    """One connection's session, conversation and active response; feed it, send what it returns.

    ``model`` is the name the client asked for, ``upstream_model`` the engine's name for it.
    ``ids`` makes item, response and event ids (random by default; tests inject a sequence).
    ``session`` (an ephemeral key's, say) is applied as a ``session.update`` would be, without
    an event: ``session.created`` shows it. An unsupported one raises
    :class:`~antiphon.exceptions.InvalidRequestError` naming the field.
    """

    def __init__(
        self,
        model: str,
        upstream_model: str,
        *,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_history_bytes: int = DEFAULT_MAX_HISTORY_BYTES,
        ids: Callable[[str], str] = short_id,
        today: Callable[[], datetime.date] = datetime.date.today,
        session: RealtimeSessionCreateRequest | None = None,
    ) -> None:
        self._model = model
        self._upstream_model = upstream_model
        self._max_items = max_items
        self._max_history_bytes = max_history_bytes
        self._ids = ids
        self._today = today
        self._session = _Session()
        self._items: list[ConversationItem] = []
        self._response: _Response | None = None
        if session is not None:
            self._session_update(SessionUpdateEvent(type="session.update", session=session))

    # -- state ---------------------------------------------------------------------------------

    @property
    def responding(self) -> bool:
        """True between ``response.created`` and ``response.done``."""
        return self._response is not None

    @property
    def active_response_id(self) -> str | None:
        """The id of the active response, or None when idle."""
        return self._response.response_id if self._response is not None else None

    @property
    def items(self) -> tuple[ConversationItem, ...]:
        """The conversation items, oldest first."""
        return tuple(self._items)

    # -- client side ---------------------------------------------------------------------------

    def open(self) -> list[RealtimeServerEvent]:
        """The events the server sends as the connection opens: ``session.created``."""
        return [
            SessionCreatedEvent(
                type="session.created", event_id=self._ids("event"), session=self._session_view()
            )
        ]

    def receive(self, frame: str | bytes) -> Step:
        """Handle one client frame; a malformed or refused event is an ``error`` event."""
        if isinstance(frame, bytes):
            return Step([self._error("Binary frames are not supported; send JSON text.", None)])
        try:
            event = CLIENT_EVENTS.validate_json(frame)
        except ValidationError as exc:
            return Step([self._validation_error(exc)])
        try:
            return self._dispatch(event)
        except InvalidRequestError as exc:
            return Step([self._error(exc.message, event.event_id, param=exc.param, code=exc.code)])

    def _dispatch(self, event: RealtimeClientEvent) -> Step:
        if isinstance(event, SessionUpdateEvent):
            return Step(self._session_update(event))
        if isinstance(event, ConversationItemCreateEvent):
            return Step(self._item_create(event))
        if isinstance(event, ConversationItemRetrieveEvent):
            return Step([self._item_retrieve(event)])
        if isinstance(event, ConversationItemDeleteEvent):
            return Step([self._item_delete(event)])
        if isinstance(event, ResponseCreateEvent):
            return self._response_create(event)
        if isinstance(event, ResponseCancelEvent):
            return self._response_cancel(event)
        # What is left is audio: input_audio_buffer.*, output_audio_buffer.clear, truncate.
        raise InvalidRequestError(
            f"{event.type} is not supported: this server has no speech pipeline configured "
            "(text modality only).",
            param="type",
            code="unsupported_event",
        )

    # -- session -------------------------------------------------------------------------------

    def _session_update(self, event: SessionUpdateEvent) -> list[RealtimeServerEvent]:
        session = event.session
        if not isinstance(session, RealtimeSessionCreateRequest):
            raise InvalidRequestError(
                "Transcription sessions are not supported; use session.type 'realtime'.",
                param="session.type",
            )
        _check_modalities(session.output_modalities, "session.output_modalities")
        new = _Session(
            self._session.instructions,
            self._session.tools,
            self._session.tool_choice,
            self._session.max_output_tokens,
            self._session.model,
            self._session.parallel_tool_calls,
        )
        fields = session.model_fields_set
        if "instructions" in fields:
            new.instructions = session.instructions
        if "tools" in fields:
            new.tools = function_tools(session.tools or [], "session.tools")
        if "tool_choice" in fields and session.tool_choice is not None:
            new.tool_choice = tool_choice(session.tool_choice, "session.tool_choice")
        if "max_output_tokens" in fields:
            new.max_output_tokens = session.max_output_tokens
        if session.parallel_tool_calls is not None:
            new.parallel_tool_calls = session.parallel_tool_calls
        # tracing, audio, truncation and the rest are accepted and echoed but change nothing.
        base = (
            dict(self._session.model.model_dump(by_alias=True, exclude_unset=True))
            if self._session.model
            else {}
        )
        base.update(session.model_dump(by_alias=True, exclude_unset=True))
        new.model = RealtimeSessionCreateRequest.model_validate(base)
        self._session = new
        return [
            SessionUpdatedEvent(
                type="session.updated", event_id=self._ids("event"), session=self._session_view()
            )
        ]

    def _session_view(self) -> RealtimeSessionCreateRequest:
        view = (
            dict(self._session.model.model_dump(by_alias=True, exclude_unset=True))
            if self._session.model
            else {}
        )
        view.update(type="realtime", model=self._model, output_modalities=["text"])
        view.setdefault("instructions", self._session.instructions or "")
        view.setdefault("tool_choice", "auto")
        view.setdefault("tools", [])
        view.setdefault("max_output_tokens", "inf")
        return RealtimeSessionCreateRequest.model_validate(view)

    # -- items ---------------------------------------------------------------------------------

    def _item_create(self, event: ConversationItemCreateEvent) -> list[RealtimeServerEvent]:
        item = event.item
        _check_item(item, "item")
        if item.type == "function_call_output" and not any(
            existing.type == "function_call" and existing.call_id == item.call_id
            for existing in self._items
        ):
            raise InvalidRequestError(
                f"No function call found for function_call_output with call_id '{item.call_id}'.",
                param="item.call_id",
            )
        item_id = item.id or self._ids("item")
        if any(existing.id == item_id for existing in self._items):
            raise InvalidRequestError(f"Item with id '{item_id}' already exists.", param="item.id")
        item = item.model_copy(
            update={"id": item_id, "object": "realtime.item", "status": "completed"}
        )
        previous = self._insert(item, event.previous_item_id)
        return [
            ConversationItemAdded(
                type="conversation.item.added",
                event_id=self._ids("event"),
                item=item,
                previous_item_id=previous,
            ),
            ConversationItemDone(
                type="conversation.item.done",
                event_id=self._ids("event"),
                item=item,
                previous_item_id=previous,
            ),
        ]

    def _insert(self, item: ConversationItem, after: str | None) -> str | None:
        """Insert ``item`` after ``after`` (the end when None, the start for ``"root"``)."""
        if after is None:
            position = len(self._items)
        elif after == "root":
            position = 0
        else:
            position = self._index(after, "previous_item_id") + 1
        self._items.insert(position, item)
        self._trim(keep=item)
        position = self._items.index(item)
        return self._items[position - 1].id if position > 0 else None

    def _trim(self, keep: ConversationItem | None = None) -> None:
        """Drop the oldest items (never ``keep``) past ``max_items`` or ``max_history_bytes``."""
        sizes = [len(existing.model_dump_json(by_alias=True)) for existing in self._items]
        total = sum(sizes)
        while len(self._items) > 1 and (
            len(self._items) > self._max_items or total > self._max_history_bytes
        ):
            victim = 1 if self._items[0] is keep else 0
            total -= sizes.pop(victim)
            self._items.pop(victim)

    def _index(self, item_id: str, param: str) -> int:
        for index, existing in enumerate(self._items):
            if existing.id == item_id:
                return index
        raise InvalidRequestError(
            f"Item with item_id '{item_id}' not found.", param=param, code="item_not_found"
        )

    def _item_retrieve(self, event: ConversationItemRetrieveEvent) -> RealtimeServerEvent:
        item = self._items[self._index(event.item_id, "item_id")]
        return ConversationItemRetrieved(
            type="conversation.item.retrieved", event_id=self._ids("event"), item=item
        )

    def _item_delete(self, event: ConversationItemDeleteEvent) -> RealtimeServerEvent:
        del self._items[self._index(event.item_id, "item_id")]
        return ConversationItemDeletedEvent(
            type="conversation.item.deleted", event_id=self._ids("event"), item_id=event.item_id
        )

    # -- responses -----------------------------------------------------------------------------

    def _response_create(self, event: ResponseCreateEvent) -> Step:
        if self._response is not None:
            raise InvalidRequestError(
                "Conversation already has an active response in progress: "
                f"{self._response.response_id}. Wait until the response is finished before "
                "creating a new one.",
                code="conversation_already_has_active_response",
            )
        params = event.response or RealtimeResponseCreateParams()
        fields = params.model_fields_set
        _check_modalities(params.output_modalities, "response.output_modalities")
        tools = (
            function_tools(params.tools or [], "response.tools")
            if "tools" in fields
            else self._session.tools
        )
        choice = (
            tool_choice(params.tool_choice, "response.tool_choice")
            if params.tool_choice is not None
            else self._session.tool_choice
        )
        instructions = (
            params.instructions if "instructions" in fields else self._session.instructions
        )
        limit = (
            params.max_output_tokens
            if "max_output_tokens" in fields
            else self._session.max_output_tokens
        )
        conversation = params.conversation or "auto"
        if conversation not in ("auto", "none"):
            raise InvalidRequestError(
                "conversation must be 'auto' or 'none'.", param="response.conversation"
            )
        if params.input is not None:
            for index, item in enumerate(params.input):
                _check_item(item, f"response.input[{index}]")
            context: list[ConversationItem] = list(params.input)
        else:
            context = list(self._items)
        metadata = dict(params.metadata) if params.metadata is not None else None
        response = _Response(
            response_id=self._ids("resp"),
            in_conversation=conversation == "auto",
            metadata=metadata,
            max_output_tokens=limit,
        )
        self._response = response
        history = history_items(context)
        request = EngineRequest(
            model=self._upstream_model,
            history=(HistorySegment(history),) if history else (),
            instructions=instructions,
            tools=tools,
            tool_choice=choice,
            max_output_tokens=limit if isinstance(limit, int) else None,
            parallel_tool_calls=(
                params.parallel_tool_calls
                if params.parallel_tool_calls is not None
                else self._session.parallel_tool_calls
            ),
            current_date=self._today(),
        )
        created = ResponseCreatedEvent(
            type="response.created",
            event_id=self._ids("event"),
            response=self._response_view(response, "in_progress"),
        )
        return Step([created], start=request, response_id=response.response_id)

    def _response_cancel(self, event: ResponseCancelEvent) -> Step:
        if self._response is None or (
            event.response_id is not None and event.response_id != self._response.response_id
        ):
            raise InvalidRequestError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
            )
        return Step(cancel=True)

    # -- engine side ---------------------------------------------------------------------------

    def engine_event(self, response_id: str, event: EngineEvent) -> list[RealtimeServerEvent]:
        """Map one engine event of response ``response_id`` to server events.

        An event of a response that is over (a late turn) is dropped.
        """
        response = self._active(response_id)
        if response is None:
            return []
        if isinstance(event, ItemStarted):
            return self._item_started(response, event)
        if isinstance(event, ItemDelta):
            return self._item_delta(response, event)
        if isinstance(event, ItemFinished):
            return self._item_finished(response)
        response.usage = event.usage
        if event.reason == "length":
            return self._finish("incomplete", reason="max_output_tokens")
        if event.reason == "content_filter":
            return self._finish("incomplete", reason="content_filter")
        return self._finish("completed")

    def failed(
        self, response_id: str, message: str, code: str = "engine_error"
    ) -> list[RealtimeServerEvent]:
        """The engine turn raised: the response ends ``failed`` with ``message``."""
        if self._active(response_id) is None:
            return []
        return self._finish(
            "failed", error=StatusError(type="server_error", code=code, message=message)
        )

    def cancelled(self, response_id: str) -> list[RealtimeServerEvent]:
        """The engine turn was cancelled (``response.cancel``): the response ends ``cancelled``."""
        if self._active(response_id) is None:
            return []
        return self._finish("cancelled", reason="client_cancelled")

    def _active(self, response_id: str) -> _Response | None:
        response = self._response
        return response if response is not None and response.response_id == response_id else None

    def _item_started(self, response: _Response, event: ItemStarted) -> list[RealtimeServerEvent]:
        index = len(response.output)
        item_id = self._ids("item")
        if event.kind == "reasoning":
            response.open = _OpenItem(item_id, index, "skip")
            return []
        item: ConversationItem
        if event.kind == "message":
            item = RealtimeConversationItemAssistantMessage(
                id=item_id,
                object="realtime.item",
                type="message",
                role="assistant",
                status="in_progress",
                content=[],
            )
            response.open = _OpenItem(item_id, index, "message")
        else:
            name = event.name or ""
            name = name.removeprefix(_FUNCTION_PREFIX)
            call_id = event.call_id or self._ids("call")
            item = RealtimeConversationItemFunctionCall(
                id=item_id,
                object="realtime.item",
                type="function_call",
                status="in_progress",
                name=name,
                call_id=call_id,
                arguments="",
            )
            response.open = _OpenItem(item_id, index, "function_call", name, call_id)
        response.output.append(item)
        events: list[RealtimeServerEvent] = [
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                event_id=self._ids("event"),
                response_id=response.response_id,
                output_index=index,
                item=item,
            )
        ]
        if response.in_conversation:
            previous = self._insert(item, None)
            events.append(
                ConversationItemAdded(
                    type="conversation.item.added",
                    event_id=self._ids("event"),
                    item=item,
                    previous_item_id=previous,
                )
            )
        if event.kind == "message":
            events.append(
                ResponseContentPartAddedEvent(
                    type="response.content_part.added",
                    event_id=self._ids("event"),
                    response_id=response.response_id,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    part=AddedPart(type="text", text=""),
                )
            )
        return events

    def _item_delta(self, response: _Response, event: ItemDelta) -> list[RealtimeServerEvent]:
        item = response.open
        if item is None or item.kind == "skip":
            return []
        item.text.append(event.text)
        if item.kind == "message":
            return [
                ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    event_id=self._ids("event"),
                    response_id=response.response_id,
                    item_id=item.item_id,
                    output_index=item.output_index,
                    content_index=0,
                    delta=event.text,
                )
            ]
        return [
            ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                event_id=self._ids("event"),
                response_id=response.response_id,
                item_id=item.item_id,
                output_index=item.output_index,
                call_id=item.call_id,
                delta=event.text,
            )
        ]

    def _item_finished(self, response: _Response) -> list[RealtimeServerEvent]:
        item = response.open
        response.open = None
        if item is None or item.kind == "skip":
            return []
        return self._close(response, item, "completed")

    def _close(
        self, response: _Response, item: _OpenItem, status: Literal["completed", "incomplete"]
    ) -> list[RealtimeServerEvent]:
        """The ``.done`` events of an open output item, which becomes ``status``."""
        text = "".join(item.text)
        response_id, item_id, output_index = response.response_id, item.item_id, item.output_index
        events: list[RealtimeServerEvent] = []
        done: ConversationItem
        if item.kind == "message":
            events.append(
                ResponseTextDoneEvent(
                    type="response.output_text.done",
                    event_id=self._ids("event"),
                    content_index=0,
                    text=text,
                    response_id=response_id,
                    item_id=item_id,
                    output_index=output_index,
                )
            )
            events.append(
                ResponseContentPartDoneEvent(
                    type="response.content_part.done",
                    event_id=self._ids("event"),
                    content_index=0,
                    part=DonePart(type="text", text=text),
                    response_id=response_id,
                    item_id=item_id,
                    output_index=output_index,
                )
            )
            done = RealtimeConversationItemAssistantMessage(
                id=item.item_id,
                object="realtime.item",
                type="message",
                role="assistant",
                status=status,
                content=[AssistantContent(type="output_text", text=text)],
            )
        else:
            events.append(
                ResponseFunctionCallArgumentsDoneEvent(
                    type="response.function_call_arguments.done",
                    event_id=self._ids("event"),
                    call_id=item.call_id,
                    name=item.name,
                    arguments=text,
                    response_id=response_id,
                    item_id=item_id,
                    output_index=output_index,
                )
            )
            done = RealtimeConversationItemFunctionCall(
                id=item.item_id,
                object="realtime.item",
                type="function_call",
                status=status,
                name=item.name,
                call_id=item.call_id,
                arguments=text,
            )
        response.output[item.output_index] = done
        if response.in_conversation:
            for position, existing in enumerate(self._items):
                if existing.id == item.item_id:
                    self._items[position] = done
            self._trim(keep=done)
            events.append(
                ConversationItemDone(
                    type="conversation.item.done", event_id=self._ids("event"), item=done
                )
            )
        events.append(
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                event_id=self._ids("event"),
                response_id=response.response_id,
                output_index=item.output_index,
                item=done,
            )
        )
        return events

    def _finish(
        self,
        status: Literal["completed", "cancelled", "incomplete", "failed"],
        *,
        reason: Literal["client_cancelled", "max_output_tokens", "content_filter"] | None = None,
        error: StatusError | None = None,
    ) -> list[RealtimeServerEvent]:
        response = self._response
        assert response is not None  # callers check
        events: list[RealtimeServerEvent] = []
        if response.open is not None and response.open.kind != "skip":
            events.extend(self._close(response, response.open, "incomplete"))
        response.open = None
        self._response = None
        view = self._response_view(response, status)
        if reason is not None or error is not None:
            view.status_details = RealtimeResponseStatus(type=status, reason=reason, error=error)
        events.append(
            ResponseDoneEvent(type="response.done", event_id=self._ids("event"), response=view)
        )
        return events

    def _response_view(self, response: _Response, status: str) -> RealtimeResponse:
        usage = response.usage or Usage()
        return RealtimeResponse.model_validate(
            {
                "id": response.response_id,
                "object": "realtime.response",
                "status": status,
                "output": [
                    item.model_dump(by_alias=True, exclude_unset=True) for item in response.output
                ],
                "conversation_id": None,
                "output_modalities": ["text"],
                "max_output_tokens": response.max_output_tokens or "inf",
                "metadata": response.metadata,
                "usage": RealtimeResponseUsage(
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    total_tokens=usage.input_tokens + usage.output_tokens,
                ).model_dump(by_alias=True),
            }
        )

    # -- errors --------------------------------------------------------------------------------

    def _error(
        self,
        message: str,
        client_event_id: str | None,
        *,
        param: str | None = None,
        code: str = "invalid_request",
    ) -> RealtimeErrorEvent:
        return RealtimeErrorEvent(
            type="error",
            event_id=self._ids("event"),
            error=RealtimeError(
                type="invalid_request_error",
                code=code,
                message=message,
                param=param,
                event_id=client_event_id,
            ),
        )

    def _validation_error(self, exc: ValidationError) -> RealtimeErrorEvent:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            return self._error(
                "The frame is not valid JSON.", None, param=None, code="invalid_json"
            )
        if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            return self._error(
                f"Invalid value for 'type': {first['msg']}",
                None,
                param="type",
                code="invalid_value",
            )
        # The first location is the event type (the union's tag): the field follows it.
        field_path = _field_path(first["loc"][1:])
        return self._error(
            f"Invalid value for '{field_path}': {first['msg']}.",
            None,
            param=field_path,
            code="invalid_value",
        )


def error_event(
    message: str,
    *,
    code: str,
    param: str | None = None,
    ids: Callable[[str], str] = short_id,
) -> RealtimeErrorEvent:
    """An ``invalid_request_error`` event outside any conversation (an unknown model, say)."""
    return RealtimeErrorEvent(
        type="error",
        event_id=ids("event"),
        error=RealtimeError(type="invalid_request_error", code=code, message=message, param=param),
    )


def _field_path(location: Sequence[int | str]) -> str:
    """``session.tools[0].name`` from a pydantic location, without the union members' labels."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part[:1].isupper() or "[" in part or part in _ITEM_TAGS:
            continue  # a union member (``RealtimeFunctionTool``, ``function-after[...]``)
        else:
            path += f".{part}" if path else part
    return path


def _check_modalities(modalities: list[Literal["text", "audio"]] | None, param: str) -> None:
    if modalities is not None and modalities != ["text"]:
        raise InvalidRequestError(
            f"{param} must be ['text']: this server has no speech pipeline configured, so "
            "audio output is not supported.",
            param=param,
            code="unsupported_modality",
        )


def _check_item(item: ConversationItem, param: str) -> None:
    """Only text messages, function calls and their outputs can be created."""
    if item.type not in ("message", "function_call", "function_call_output"):
        raise InvalidRequestError(
            f"Items of type {item.type!r} are not supported over /v1/realtime yet.",
            param=f"{param}.type",
        )
    if item.type == "message":
        for index, part in enumerate(item.content):
            if part.type not in (None, "input_text", "output_text", "text"):
                raise InvalidRequestError(
                    f"Content of type {part.type!r} is not supported: this server handles text "
                    "only.",
                    param=f"{param}.content[{index}].type",
                )
