"""Judge a Responses or Realtime server: the protocol rules, and the battery that applies them.

The rules are sans-I/O checkers fed with decoded events: :class:`ResponseStreamChecker` (one
Responses event stream) and :class:`RealtimeEventChecker` (the server events of one Realtime
session). Each reports :class:`Violation` objects naming a stable rule id and the first event
that broke it. ``antiphon check`` runs them over a battery of requests against any server;
antiphon's own test suite runs its streams through the same rules.
"""

from __future__ import annotations

from antiphon.check.realtime_rules import RealtimeEventChecker
from antiphon.check.stream import (
    ResponseStreamChecker,
    StreamReport,
    check_response_stream,
    final_response,
)
from antiphon.check.violation import Violation

__all__ = [
    "RealtimeEventChecker",
    "ResponseStreamChecker",
    "StreamReport",
    "Violation",
    "check_response_stream",
    "final_response",
]
