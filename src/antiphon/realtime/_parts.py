"""The session's components, built and wired in one place.

Each component owns its state and sees only the narrow interfaces it needs:

- :class:`~antiphon.realtime._lifecycle.Lifecycle`: the session state and its ending;
- :class:`~antiphon.realtime._link.Link`: the transport (a failed send ends the session);
- :class:`~antiphon.realtime._responses.Responses`: the response sequencer and its send loop;
- :class:`~antiphon.realtime._agent_slot.AgentSlot`: the agent speaking now;
- :class:`~antiphon.realtime._interrupt.Interrupter`: audio progress, the muted response;
- :class:`~antiphon.realtime._tool_calls.ToolCallRunner` and
  :class:`~antiphon.realtime._guarding.GuardrailRunner`: tool and guardrail tasks;
- :class:`~antiphon.realtime._dispatch.Dispatcher`: the history, and server events to effects;
- the :class:`~antiphon.realtime._queue.EventQueue` and the
  :class:`~antiphon.realtime._tasks.TaskOwner` the others report to and start tasks in.

:class:`SessionParts` only holds them for the :class:`~antiphon.realtime.RealtimeSession`
facade: it has no state of its own, and no component receives it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from antiphon.exceptions import RealtimeError
from antiphon.realtime._agent_slot import AgentSlot
from antiphon.realtime._dispatch import Dispatcher
from antiphon.realtime._guarding import GuardrailRunner
from antiphon.realtime._interrupt import Interrupter
from antiphon.realtime._lifecycle import Lifecycle
from antiphon.realtime._link import Link
from antiphon.realtime._queue import DEFAULT_MAX_QUEUED_EVENTS, EventQueue
from antiphon.realtime._responses import Responses
from antiphon.realtime._tasks import TaskOwner
from antiphon.realtime._tool_calls import ToolCallRunner
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import ErrorEvent
from antiphon.realtime.history import DEFAULT_MAX_HISTORY_ITEMS, ConversationHistory
from antiphon.realtime.model import RealtimeModel
from antiphon.realtime.playback import AudioProgress

__all__ = ["SessionParts", "build_parts"]

_log = logging.getLogger("antiphon.realtime")

CLOSE_TIMEOUT = 5.0
"""Seconds teardown waits for its cancelled tasks to finish."""

TRANSPORT_CLOSE_GRACE = 10.0
"""Outer bound on ``model.close()``, which bounds itself (its own close timeout, 5 s by default);
this only guards against a transport that breaks that promise."""


@dataclass(frozen=True, slots=True)
class SessionParts:
    """The components of one session (see the module docstring)."""

    config: RealtimeRunConfig
    lifecycle: Lifecycle
    link: Link
    events: EventQueue
    tasks: TaskOwner
    responses: Responses
    agent: AgentSlot
    interrupter: Interrupter
    dispatcher: Dispatcher


def build_parts(
    model: RealtimeModel, agent: RealtimeAgent, config: RealtimeRunConfig
) -> SessionParts:
    """Build the components of a session on ``model``, starting with ``agent``."""
    events = EventQueue(config.get("max_queued_events", DEFAULT_MAX_QUEUED_EVENTS))
    history = ConversationHistory(config.get("max_history_items", DEFAULT_MAX_HISTORY_ITEMS))

    def end(error: BaseException | None) -> None:
        lifecycle.end(error)

    def crashed(error: BaseException) -> None:
        # Tool and guardrail failures are handled inside their tasks: a crash here is a bug.
        _log.error("a realtime session task crashed", exc_info=error)
        failure = RealtimeError(f"internal session task failed: {error!r}")
        failure.__cause__ = error
        end(failure)

    link = Link(model, on_failure=end)
    tasks = TaskOwner(on_crash=crashed)
    # An automatic request rejected for good: nobody awaits it, so the application must hear.
    responses = Responses(link.send, on_auto_rejected=lambda error: events.push(ErrorEvent(error)))

    def on_end(error: BaseException | None) -> None:
        events.end(error)  # first: iterators wake even if everything after fails
        responses.release_all(error or RealtimeError("the session is closed"))

    async def tear_down() -> None:
        await tasks.shutdown(grace=CLOSE_TIMEOUT)
        async with asyncio.timeout(TRANSPORT_CLOSE_GRACE):
            await link.close()

    lifecycle = Lifecycle(on_end=on_end, tear_down=tear_down)
    slot = AgentSlot(agent)
    interrupter = Interrupter(
        AudioProgress(config.get("playback_tracker")), responses, link, events
    )
    tools = ToolCallRunner(
        agent=slot,
        link=link,
        responses=responses,
        events=events,
        tasks=tasks,
        config=config,
        end=end,
    )
    guardrails = GuardrailRunner(
        agent=slot,
        interrupter=interrupter,
        responses=responses,
        events=events,
        tasks=tasks,
        config=config,
    )
    dispatcher = Dispatcher(
        history=history,
        responses=responses,
        agent=slot,
        interrupter=interrupter,
        tools=tools,
        guardrails=guardrails,
        events=events,
        raw=config.get("raw_model_events", False),
    )
    return SessionParts(
        config, lifecycle, link, events, tasks, responses, slot, interrupter, dispatcher
    )
