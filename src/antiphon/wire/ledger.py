"""The Responses event ledger: the one source of truth for the event stream of one response.

A plain class with no I/O and no ``await``. Its owner (the turn loop) calls lifecycle methods on
the ledger and content methods on item handles; every call queues the events it produced, with
their ``sequence_number`` (0 at ``response.created``), ``output_index`` (given when an item is
added, contiguous) and ``content_index`` (from 0 in every item); :meth:`ResponseLedger.drain`
hands them out. An illegal call raises :class:`~antiphon.LedgerStateError` before emitting
anything, so the stream it builds is valid whatever the caller does::

    created ─▶ [queued] ─▶ in_progress ─▶ items ─▶ completed | incomplete | failed

The final ``Response`` (terminal event, non-streaming body, store) is built from the same items,
so ``response.output[i]`` is the very object sent in the i-th ``output_item.done``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseError,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseQueuedEvent,
    ResponseStatus,
    ResponseStreamEvent,
)
from openai.types.responses.response import IncompleteDetails
from openai.types.responses.response_function_web_search import Action
from openai.types.responses.response_output_item import McpApprovalRequest
from openai.types.responses.response_usage import ResponseUsage

from antiphon.exceptions import LedgerStateError
from antiphon.wire._base import ItemHandle, LedgerCore
from antiphon.wire._builtin import CodeInterpreterHandle, WebSearchHandle
from antiphon.wire._content import MessageHandle, ReasoningHandle
from antiphon.wire._response import ResponseParams, build_usage, construct, echo_fields, snapshot
from antiphon.wire._tools import (
    FunctionCallHandle,
    McpApprovalHandle,
    McpCallHandle,
    McpListToolsHandle,
)
from antiphon.wire.ids import IdFactory, random_id

__all__ = ["ResponseLedger"]

_LIVE = ("queued", "in_progress")
_H = TypeVar("_H", bound=ItemHandle)


class ResponseLedger:
    """Builds the event stream and the final ``Response`` of one response.

    ``enqueue()`` (background runs only) and ``start()`` open the stream; ``add_*`` methods open
    output items and return their handles; exactly one of ``complete()``, ``incomplete()``,
    ``fail()`` or ``cancel()`` ends it. ``drain()`` returns the events queued since last time.

    ``cancel()`` has no event of its own in the spec. It closes open items (``incomplete``)
    and ends the stream with ``response.incomplete`` whose response has status ``cancelled``
    and no ``incomplete_details``, so that a consumer still attached to the stream sees exactly
    one terminal event; a server that wants silence after a cancel can drop it.
    """

    def __init__(
        self,
        params: ResponseParams,
        *,
        response_id: str | None = None,
        ids: IdFactory = random_id,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._core = LedgerCore(ids)
        self._clock = clock
        self._echo = echo_fields(
            params, response_id=response_id or ids("resp"), created_at=int(clock())
        )
        self._items: list[ItemHandle] = []
        self._usage: ResponseUsage | None = None
        self._final: Response | None = None

    # -- what the owner reads ------------------------------------------------------------

    @property
    def id(self) -> str:
        """The response id (``resp_...``)."""
        return str(self._echo["id"])

    @property
    def status(self) -> ResponseStatus | None:
        """The response status, or ``None`` before ``start()``/``enqueue()``."""
        stage = self._core.stage
        return None if stage == "new" else stage

    @property
    def closed(self) -> bool:
        """True once the terminal event has been emitted."""
        return self._final is not None

    @property
    def events_emitted(self) -> int:
        """How many events were emitted (the next event's ``sequence_number``)."""
        return self._core.seq

    @property
    def items(self) -> tuple[ItemHandle, ...]:
        """The handles of every item added so far, in output_index order."""
        return tuple(self._items)

    @property
    def response(self) -> Response:
        """The response now: the final one (the terminal event's) once closed."""
        if self._final is not None:
            return self._final
        self._core.require("read the response", *_LIVE)
        return self._snapshot()

    def drain(self) -> list[ResponseStreamEvent]:
        """The events queued since the last call, in sequence order."""
        events, self._core.outbox = self._core.outbox, []
        return events

    # -- lifecycle -------------------------------------------------------------------------

    def enqueue(self) -> None:
        """Background run accepted: ``response.created`` (status queued), ``response.queued``."""
        self._core.require("enqueue the response", "new")
        self._core.stage = "queued"
        self._core.emit(ResponseCreatedEvent, type="response.created", response=self._snapshot())
        self._core.emit(ResponseQueuedEvent, type="response.queued", response=self._snapshot())

    def start(self) -> None:
        """Generation starts: ``response.created`` (unless queued), ``response.in_progress``."""
        self._core.require("start the response", "new", "queued")
        fresh = self._core.stage == "new"
        self._core.stage = "in_progress"
        if fresh:
            self._core.emit(
                ResponseCreatedEvent, type="response.created", response=self._snapshot()
            )
        self._core.emit(
            ResponseInProgressEvent, type="response.in_progress", response=self._snapshot()
        )

    def set_usage(
        self,
        *,
        input_tokens: int,
        output_tokens: int,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
    ) -> None:
        """Record token usage; it appears on every later snapshot, the terminal one included."""
        self._core.require("set the usage", "new", *_LIVE)
        self._usage = build_usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
            reasoning_tokens=reasoning_tokens,
        )

    def complete(self) -> Response:
        """``response.completed``; every item must be done already."""
        self._core.require("complete the response", "in_progress")
        still_open = [item.id for item in self._items if not item.closed]
        if still_open:
            raise LedgerStateError(
                "complete the response",
                expected="every output item done",
                actual="open items " + ", ".join(still_open),
            )
        return self._close(
            ResponseCompletedEvent, "response.completed", "completed", completed_at=self._now()
        )

    def incomplete(
        self, reason: Literal["max_output_tokens", "content_filter"] = "max_output_tokens"
    ) -> Response:
        """Stop early: open items end ``incomplete``, then ``response.incomplete``."""
        self._core.require("end the response incomplete", "in_progress")
        self._abandon_items(failed=False)
        details = construct(IncompleteDetails, reason=reason)
        return self._close(
            ResponseIncompleteEvent,
            "response.incomplete",
            "incomplete",
            incomplete_details=details,
        )

    def fail(self, error: ResponseError) -> Response:
        """Fail: open items end ``failed`` (or ``incomplete``), then ``response.failed``."""
        self._core.require("fail the response", *_LIVE)
        self._abandon_items(failed=True)
        return self._close(ResponseFailedEvent, "response.failed", "failed", error=error)

    def cancel(self) -> Response:
        """Cancel a stored or background response; see the class docstring for the events."""
        self._core.require("cancel the response", *_LIVE)
        self._abandon_items(failed=False)
        return self._close(ResponseIncompleteEvent, "response.incomplete", "cancelled")

    # -- items -----------------------------------------------------------------------------

    def add_message(
        self, *, phase: Literal["commentary", "final_answer"] | None = None
    ) -> MessageHandle:
        """Open an assistant ``message`` (``phase`` marks a preamble or the final answer)."""
        return self._keep(MessageHandle(self._core, *self._slot("add a message", "msg"), phase))

    def add_reasoning(self) -> ReasoningHandle:
        """Open a ``reasoning`` item and its ``reasoning_text`` part."""
        return self._keep(ReasoningHandle(self._core, *self._slot("add a reasoning item", "rs")))

    def add_function_call(self, name: str, *, call_id: str | None = None) -> FunctionCallHandle:
        """Open a client-executed ``function_call`` to ``name`` (``call_id`` made if not given)."""
        slot = self._slot("add a function call", "fc")
        call_id = call_id or self._core.ids("call")
        return self._keep(FunctionCallHandle(self._core, *slot, name=name, call_id=call_id))

    def add_mcp_list_tools(self, server_label: str) -> McpListToolsHandle:
        """Open the ``mcp_list_tools`` item of one MCP server."""
        slot = self._slot("add an MCP tool listing", "mcpl")
        return self._keep(McpListToolsHandle(self._core, *slot, server_label))

    def add_mcp_call(
        self, server_label: str, name: str, *, approval_request_id: str | None = None
    ) -> McpCallHandle:
        """Open a server-executed ``mcp_call`` of tool ``name`` on ``server_label``."""
        slot = self._slot("add an MCP call", "mcp")
        return self._keep(
            McpCallHandle(
                self._core,
                *slot,
                server_label=server_label,
                name=name,
                approval_request_id=approval_request_id,
            )
        )

    def add_mcp_approval_request(
        self, server_label: str, name: str, arguments: str
    ) -> McpApprovalRequest:
        """Add an ``mcp_approval_request`` (added and done at once); returns the item."""
        slot = self._slot("add an MCP approval request", "mcpr")
        handle = McpApprovalHandle(
            self._core, *slot, server_label=server_label, name=name, arguments=arguments
        )
        item = self._keep(handle).item
        assert isinstance(item, McpApprovalRequest)
        return item

    def add_code_interpreter_call(self, container_id: str) -> CodeInterpreterHandle:
        """Open a ``code_interpreter_call`` running in ``container_id``."""
        slot = self._slot("add a code interpreter call", "ci")
        return self._keep(CodeInterpreterHandle(self._core, *slot, container_id))

    def add_web_search_call(self, action: Action) -> WebSearchHandle:
        """Open a ``web_search_call`` doing ``action`` (search, open_page or find_in_page)."""
        slot = self._slot("add a web search call", "ws")
        return self._keep(WebSearchHandle(self._core, *slot, action))

    # -- internals -------------------------------------------------------------------------

    def _slot(self, what: str, prefix: str) -> tuple[int, str]:
        """The output_index and id of a new item; refused unless the response is in progress."""
        self._core.require(what, "in_progress")
        return len(self._items), self._core.ids(prefix)

    def _keep(self, handle: _H) -> _H:
        self._items.append(handle)
        return handle

    def _abandon_items(self, *, failed: bool) -> None:
        for item in self._items:
            if not item.closed:
                item.abandon(failed=failed)

    def _close(
        self,
        event_type: type[ResponseCompletedEvent]
        | type[ResponseIncompleteEvent]
        | type[ResponseFailedEvent],
        type_name: str,
        status: ResponseStatus,
        **state: object,
    ) -> Response:
        self._core.stage = status
        final = self._snapshot(**state)
        self._core.emit(event_type, type=type_name, response=final)
        self._final = final
        return final

    def _snapshot(self, **state: object) -> Response:
        fields: dict[str, object] = {
            "status": self._core.stage,
            "output": [item.item for item in self._items],
            "error": None,
            "incomplete_details": None,
            "usage": self._usage,
            "completed_at": None,
        }
        fields.update(state)
        return snapshot(self._echo, **fields)

    def _now(self) -> int:
        return int(self._clock())
