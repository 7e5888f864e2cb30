"""The life of one session, and the one place it ends.

:class:`Lifecycle` owns the session's state (``new -> open -> closing -> closed``) and nothing
else. An API used in the wrong state raises :class:`~antiphon.ConfigurationError` naming the
expected and actual state (:meth:`Lifecycle.require`). :meth:`Lifecycle.end` is synchronous and
idempotent, so any component may call it from anywhere (a failed send, a crashed task, the
``raise`` tool policy): it runs the ``on_end`` hook at once (the session ends its event stream
there first, so iterators wake even if everything after fails), then starts one owned teardown
task running ``tear_down`` (cancel and await the session's tasks, close the transport). An error
from ``tear_down`` is kept for :meth:`RealtimeSession.close` to raise.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable

from antiphon.exceptions import ConfigurationError

__all__ = ["Lifecycle", "SessionState"]


class SessionState(enum.Enum):
    """Where a session is in its life."""

    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Lifecycle:
    """The session's state machine and its ending (see the module docstring)."""

    __slots__ = ("_close_error", "_on_end", "_state", "_tear_down", "_teardown")

    def __init__(
        self,
        *,
        on_end: Callable[[BaseException | None], None],
        tear_down: Callable[[], Awaitable[None]],
    ) -> None:
        self._on_end = on_end
        self._tear_down = tear_down
        self._state = SessionState.NEW
        self._teardown: asyncio.Task[None] | None = None
        self._close_error: BaseException | None = None

    @property
    def state(self) -> SessionState:
        """The current state."""
        return self._state

    def require(self, action: str, *expected: SessionState) -> None:
        """Raise :class:`ConfigurationError` unless the session is in one of ``expected``."""
        if self._state not in expected:
            names = " or ".join(state.value for state in expected)
            raise ConfigurationError(
                f"{action}: expected {names} session, found {self._state.value}"
            )

    def open(self) -> None:
        """The transport is connected: ``new -> open``."""
        self.require("open", SessionState.NEW)
        self._state = SessionState.OPEN

    def end(self, error: BaseException | None) -> None:
        """End the session: with ``error`` raised from ``async for`` after the queued events."""
        if self._state in (SessionState.CLOSING, SessionState.CLOSED):
            return
        self._on_end(error)
        if self._state is SessionState.NEW:
            self._state = SessionState.CLOSED  # nothing was started: nothing to tear down
            return
        self._state = SessionState.CLOSING
        self._teardown = asyncio.create_task(self._run_teardown(), name="antiphon-session-teardown")

    async def closed(self) -> None:
        """Wait until teardown finished (it survives the caller's cancellation)."""
        if self._teardown is not None:
            await asyncio.shield(self._teardown)

    def take_close_error(self) -> BaseException | None:
        """The error closing the transport raised, once (a second ``close()`` is quiet)."""
        error, self._close_error = self._close_error, None
        return error

    async def _run_teardown(self) -> None:
        try:
            await self._tear_down()
        except Exception as exc:
            # The iterators are already awake (on_end ran first); keep the error for close().
            self._close_error = exc
        finally:
            self._state = SessionState.CLOSED
