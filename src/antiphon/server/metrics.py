"""The operator's instruments: what the server counts, behind one small seam.

:class:`Metrics` is the seam the rest of the server calls at a few boundaries (the HTTP
middleware of :mod:`antiphon.server.instrument`, the wrappers of :mod:`antiphon.server.observed`,
the end of each run). :class:`NoMetrics` records nothing; the server's implementation,
:class:`~antiphon.server.prometheus.PrometheusMetrics`, renders ``GET /metrics``.

Every call is cheap (a dictionary lookup and an addition under a lock): the streaming path calls
at most one of them per written batch of events, never per token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["Metrics", "NoMetrics"]


class Metrics(Protocol):
    """What the server reports; each method is called where the thing happens."""

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """An HTTP request was answered (``route`` is the route's path template)."""
        ...

    def stream_opened(self, kind: str) -> None:
        """An event stream started: ``"sse"`` (Responses) or ``"realtime"`` (a session)."""
        ...

    def stream_closed(self, kind: str) -> None:
        """An event stream opened with :meth:`stream_opened` ended."""
        ...

    def events_sent(self, kind: str, count: int) -> None:
        """``count`` events were written to a client's stream of ``kind``."""
        ...

    def first_event(self, seconds: float) -> None:
        """A ``POST /v1/responses`` stream sent its first event ``seconds`` after the request."""
        ...

    def response_finished(self, status: str) -> None:
        """A response ended with this final status."""
        ...

    def realtime_response_finished(self, status: str) -> None:
        """A Realtime response ended (its ``response.done``) with this status."""
        ...

    def upstream_first_event(self, engine: str, seconds: float) -> None:
        """A model turn's first event came ``seconds`` after the engine was asked."""
        ...

    def upstream_call(self, engine: str, seconds: float, error: str | None) -> None:
        """One model turn ended; ``error`` is the kind of failure (the exception's class)."""
        ...

    def tool_call(self, server: str, tool: str, outcome: str, seconds: float) -> None:
        """A server-side tool call ended (``outcome``: ``ok`` or the kind of error)."""
        ...

    def sandbox_kill(self, reason: str) -> None:
        """A code interpreter cell was stopped by a limit (``timeout``, ``memory``, ...)."""
        ...

    def watch_containers(self, count: Callable[[], int]) -> None:
        """Read the number of live sandbox containers from ``count`` when scraped."""
        ...

    def store_operation(self, operation: str, seconds: float, failed: bool) -> None:
        """A store call ended (``operation`` is the store method's name)."""
        ...


class NoMetrics:
    """A :class:`Metrics` that records nothing."""

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Nothing."""

    def stream_opened(self, kind: str) -> None:
        """Nothing."""

    def stream_closed(self, kind: str) -> None:
        """Nothing."""

    def events_sent(self, kind: str, count: int) -> None:
        """Nothing."""

    def first_event(self, seconds: float) -> None:
        """Nothing."""

    def response_finished(self, status: str) -> None:
        """Nothing."""

    def realtime_response_finished(self, status: str) -> None:
        """Nothing."""

    def upstream_first_event(self, engine: str, seconds: float) -> None:
        """Nothing."""

    def upstream_call(self, engine: str, seconds: float, error: str | None) -> None:
        """Nothing."""

    def tool_call(self, server: str, tool: str, outcome: str, seconds: float) -> None:
        """Nothing."""

    def sandbox_kill(self, reason: str) -> None:
        """Nothing."""

    def watch_containers(self, count: Callable[[], int]) -> None:
        """Nothing."""

    def store_operation(self, operation: str, seconds: float, failed: bool) -> None:
        """Nothing."""
