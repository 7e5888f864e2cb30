"""The shared state of one session, and the one place it ends.

:class:`SessionCore` holds what the session's components share (the transport, the current
agent, the event queue, the history, the sequencer, the audio progress, the task owner) and owns
two decisions every component relies on:

- **sending**: :meth:`SessionCore.send` translates nothing (the model already raises
  :class:`~antiphon.TransportError`) but makes a failed send end the session, so a dead socket is
  never silently retried; background senders use :meth:`SessionCore.send_quietly`;
- **ending**: :meth:`SessionCore.end` is synchronous and idempotent. It ends the event queue
  first (iterators wake even if everything after fails), releases the sequencer, and starts one
  owned teardown task that cancels and awaits every other task, then closes the transport.

Lifecycle: ``new -> open -> closing -> closed``; an API used in the wrong state raises
:class:`~antiphon.ConfigurationError` naming the expected and actual state.
"""

from __future__ import annotations

import asyncio
import enum
import logging

from openai.types.realtime import RealtimeClientEvent

from antiphon.exceptions import ConfigurationError, RealtimeError, TransportError
from antiphon.realtime._queue import DEFAULT_MAX_QUEUED_EVENTS, EventQueue
from antiphon.realtime._responses import Responses
from antiphon.realtime._tasks import TaskOwner
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import ErrorEvent
from antiphon.realtime.executor import ToolExecutor
from antiphon.realtime.history import DEFAULT_MAX_HISTORY_ITEMS, ConversationHistory
from antiphon.realtime.model import RealtimeModel
from antiphon.realtime.playback import AudioProgress

__all__ = ["SessionCore", "SessionState"]

_log = logging.getLogger("antiphon.realtime")

CLOSE_TIMEOUT = 5.0
"""Seconds teardown waits for its cancelled tasks to finish."""

TRANSPORT_CLOSE_GRACE = 10.0
"""Outer bound on ``model.close()``, which bounds itself (its own close timeout, 5 s by default);
this only guards against a transport that breaks that promise."""


class SessionState(enum.Enum):
    """Where a session is in its life."""

    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class SessionCore:
    """State shared by the session's components; see the module docstring."""

    def __init__(self, model: RealtimeModel, agent: RealtimeAgent, config: RealtimeRunConfig):
        self.model = model
        self.agent = agent
        self.config = config
        self.state = SessionState.NEW
        self.queue = EventQueue(config.get("max_queued_events", DEFAULT_MAX_QUEUED_EVENTS))
        self.history = ConversationHistory(
            config.get("max_history_items", DEFAULT_MAX_HISTORY_ITEMS)
        )
        self.audio = AudioProgress(config.get("playback_tracker"))
        self.tasks = TaskOwner(on_crash=self._crashed)
        self.executor = ToolExecutor()
        self.sequencer = Responses(self.send, on_auto_rejected=self._auto_rejected)
        self.muted_response_id: str | None = None
        """A response the session cancelled: its late audio is dropped, not played."""
        self._teardown: asyncio.Task[None] | None = None
        self.close_error: BaseException | None = None

    def require(self, action: str, *expected: SessionState) -> None:
        """Raise :class:`ConfigurationError` unless the session is in one of ``expected``."""
        if self.state not in expected:
            names = " or ".join(state.value for state in expected)
            raise ConfigurationError(
                f"{action}: expected {names} session, found {self.state.value}"
            )

    async def send(self, event: RealtimeClientEvent) -> None:
        """Send one client event; a failed send ends the session and is re-raised."""
        try:
            await self.model.send(event)
        except TransportError as exc:
            self.end(exc)
            raise

    async def send_quietly(self, event: RealtimeClientEvent) -> bool:
        """Send from a background task: ``False`` when the send failed (the session is ending)."""
        try:
            await self.send(event)
        except TransportError:
            return False
        return True

    def end(self, error: BaseException | None) -> None:
        """End the session: with ``error`` raised from ``async for`` after the queued events."""
        if self.state in (SessionState.CLOSING, SessionState.CLOSED):
            return
        self.queue.end(error)
        self.sequencer.release_all(error or RealtimeError("the session is closed"))
        if self.state is SessionState.NEW:
            self.state = SessionState.CLOSED
            return
        self.state = SessionState.CLOSING
        self._teardown = asyncio.create_task(self._tear_down(), name="antiphon-session-teardown")

    async def closed(self) -> None:
        """Wait until teardown finished (it survives the caller's cancellation)."""
        if self._teardown is not None:
            await asyncio.shield(self._teardown)

    async def _tear_down(self) -> None:
        await self.tasks.shutdown(grace=CLOSE_TIMEOUT)
        try:
            async with asyncio.timeout(TRANSPORT_CLOSE_GRACE):
                await self.model.close()
        except Exception as exc:
            # The iterators are already awake (the queue ended first); keep the error for close().
            self.close_error = exc
        self.state = SessionState.CLOSED

    def _crashed(self, error: BaseException) -> None:
        _log.error("a realtime session task crashed", exc_info=error)
        failure = RealtimeError(f"internal session task failed: {error!r}")
        failure.__cause__ = error
        self.end(failure)

    def _auto_rejected(self, error: BaseException) -> None:
        # An automatic response request was rejected for good: the app must know it.
        self.queue.push(ErrorEvent(error))
