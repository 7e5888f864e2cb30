"""The bounds of ``/v1/realtime`` connections: how many at once, and how each one ends.

Pure and synchronous; :mod:`antiphon.server.realtime` enforces them. Every way the server ends a
session is an :class:`Ending`: the ``error`` event's code and message, then the close code.

=========================  ==========  ======================================================
error code                 close code  when
=========================  ==========  ======================================================
``session_limit_reached``  1013        ``realtime_max_sessions`` sessions are already open
``session_expired``        1008        the session lasted ``realtime_session_seconds``
``idle_timeout``           1008        no client frame for ``realtime_idle_seconds`` (while
                                       no response was running)
(none: protocol level)     1009        a client frame over ``realtime_max_frame_bytes``
=========================  ==========  ======================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from antiphon.server.settings import RealtimeLimits

__all__ = [
    "CLOSE_POLICY",
    "CLOSE_TRY_AGAIN_LATER",
    "Ending",
    "RealtimeSessions",
    "idle_timeout",
    "session_expired",
    "session_limit_reached",
]

#: RFC 6455 "policy violation": a limit of this server ended the session.
CLOSE_POLICY: Final = 1008
#: RFC 6455 "try again later": the server is full for now.
CLOSE_TRY_AGAIN_LATER: Final = 1013


@dataclass(frozen=True, slots=True)
class Ending:
    """Why the server ends a session: an ``error`` event (``code``, ``message``), then a close."""

    code: str
    message: str
    close_code: int

    @property
    def reason(self) -> str:
        """The close frame's reason: the error code (short, well under the 123-byte limit)."""
        return self.code


def session_limit_reached(limit: int) -> Ending:
    """The server already serves ``limit`` realtime sessions."""
    return Ending(
        "session_limit_reached",
        f"This server already has its maximum of {limit} realtime sessions open; try again later.",
        CLOSE_TRY_AGAIN_LATER,
    )


def session_expired(seconds: float) -> Ending:
    """The session reached its maximum duration."""
    return Ending(
        "session_expired",
        f"Your session hit the maximum duration of {_duration(seconds)}.",
        CLOSE_POLICY,
    )


def idle_timeout(seconds: float) -> Ending:
    """The client sent nothing for ``seconds`` while no response was running."""
    return Ending(
        "idle_timeout",
        f"The session was closed after {_duration(seconds)} without a client event.",
        CLOSE_POLICY,
    )


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


class RealtimeSessions:
    """The realtime sessions open in this process, against :attr:`RealtimeLimits.max_sessions`.

    :meth:`try_open` and :meth:`close` never await, so on one event loop no two connections can
    both take the last slot.
    """

    def __init__(self, limits: RealtimeLimits) -> None:
        self.limits = limits
        self._open = 0

    @property
    def open(self) -> int:
        """How many sessions hold a slot now."""
        return self._open

    def try_open(self) -> bool:
        """Take a slot; ``False`` (and nothing taken) when all are taken."""
        if self._open >= self.limits.max_sessions:
            return False
        self._open += 1
        return True

    def close(self) -> None:
        """Give back a slot taken by :meth:`try_open`."""
        self._open -= 1
