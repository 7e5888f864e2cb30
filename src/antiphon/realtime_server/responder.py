"""The active response of one realtime conversation: at most one, from created to done.

A ``response.create`` while one is active is refused with
``conversation_already_has_active_response``, a ``response.cancel`` while idle with
``response_cancel_not_active``, as OpenAI does. The run's event batches come back tagged with
their response id, so a late run (cancelled, or superseded) cannot touch the next response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from openai.types.realtime import ResponseCancelEvent, ResponseCreateEvent
from openai.types.responses import ResponseStreamEvent

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server._responses import Planned, ResponsePlanner
from antiphon.realtime_server.translate import Ending, Outgoing, ResponseTranslator

__all__ = ["Responder"]


class Responder:
    """Plans responses and follows the one that runs."""

    def __init__(self, planner: ResponsePlanner) -> None:
        self._planner = planner
        self.active: ResponseTranslator | None = None

    def create(
        self, event: ResponseCreateEvent, code_tools: Mapping[int, Mapping[str, object]]
    ) -> Planned:
        """Plan the response ``event`` asks for; refused while one is active."""
        if self.active is not None:
            raise InvalidRequestError(
                "Conversation already has an active response in progress: "
                f"{self.active.response_id}. Wait until the response is finished before "
                "creating a new one.",
                code="conversation_already_has_active_response",
            )
        planned = self._planner.plan(event, code_tools)
        self.active = planned.translator
        return planned

    def check_cancel(self, event: ResponseCancelEvent) -> None:
        """Refuse a ``response.cancel`` that has nothing to cancel."""
        active = self.active
        if active is None or (
            event.response_id is not None and event.response_id != active.response_id
        ):
            raise InvalidRequestError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
            )

    def run_events(self, response_id: str, batch: list[ResponseStreamEvent]) -> list[Outgoing]:
        """The server events for one batch of the run of ``response_id`` (a late one: none)."""
        active = self._current(response_id)
        if active is None:
            return []
        events: list[Outgoing] = []
        for event in batch:
            events += active.feed(event)
        ending = active.ending
        if ending is not None:
            events += self._finish(active, ending)
        return events

    def failed(self, response_id: str, message: str) -> list[Outgoing]:
        """The run ended without its terminal event (it raised): the response ends ``failed``."""
        active = self._current(response_id)
        if active is None:
            return []
        return self._finish(active, Ending("failed", error=message))

    def cancelled(self, response_id: str) -> list[Outgoing]:
        """The run was cancelled: the response ends ``cancelled``."""
        active = self._current(response_id)
        if active is None:
            return []
        return self._finish(active, None)

    def is_current(self, response_id: str) -> bool:
        """Whether ``response_id`` is the active response."""
        return self._current(response_id) is not None

    def _current(self, response_id: str) -> ResponseTranslator | None:
        active = self.active
        return active if active is not None and active.response_id == response_id else None

    def _finish(self, active: ResponseTranslator, ending: Ending | None) -> list[Outgoing]:
        events = active.close_open()
        self.active = None
        status: Literal["completed", "incomplete", "failed", "cancelled"] = (
            ending.status if ending is not None else "cancelled"
        )
        events.append(self._planner.done_event(active, status, ending))
        return events
