"""The Prometheus side of :mod:`antiphon.server.metrics`: collectors and ``GET /metrics``.

:class:`PrometheusMetrics` keeps ``prometheus-client`` collectors in a registry of its own (never
the process-wide default one, so two apps in one process, tests for one, never share counters)
and renders them in the Prometheus text format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["MAX_TOOL_LABELS", "PrometheusMetrics", "metrics_endpoint"]

_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LONG_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 600.0)
_STORE_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
#: Distinct tool names kept as label values: the model names the tool it calls, so an endless
#: supply of made-up names must not become an endless supply of series.
MAX_TOOL_LABELS: Final = 256
OTHER_TOOL: Final = "other"


class PrometheusMetrics:
    """A :class:`Metrics` over ``prometheus-client`` collectors in their own registry."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "antiphon_http_requests",
            "HTTP requests and WebSocket connections answered, by route template and status.",
            ("route", "method", "status"),
            registry=registry,
        )
        self._request_seconds = Histogram(
            "antiphon_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer (a stream's last byte).",
            ("route",),
            buckets=_LONG_BUCKETS,
            registry=registry,
        )
        self._streams = Gauge(
            "antiphon_streams_in_flight",
            "Event streams open now: sse (Responses streams) and realtime (sessions).",
            ("kind",),
            registry=registry,
        )
        self._events = Counter(
            "antiphon_events_sent",
            "Events written to clients: sse (Responses streams) and realtime (server events).",
            ("kind",),
            registry=registry,
        )
        self._event_children: dict[str, Counter] = {}
        self._first_event = Histogram(
            "antiphon_time_to_first_event_seconds",
            "Time from a streamed POST /v1/responses to its first event leaving the server.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self._responses = Counter(
            "antiphon_responses",
            "Responses that ended, by final status.",
            ("status",),
            registry=registry,
        )
        self._realtime_responses = Counter(
            "antiphon_realtime_responses",
            "Realtime responses that ended (response.done), by status.",
            ("status",),
            registry=registry,
        )
        self._upstream_seconds = Histogram(
            "antiphon_upstream_call_duration_seconds",
            "Time one model turn took at the engine (request to its last event).",
            ("engine",),
            buckets=_LONG_BUCKETS,
            registry=registry,
        )
        self._upstream_first = Histogram(
            "antiphon_upstream_first_event_seconds",
            "Time from asking the engine for a model turn to its first event (first token).",
            ("engine",),
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self._upstream_errors = Counter(
            "antiphon_upstream_errors",
            "Model turns that failed, by engine and kind of failure.",
            ("engine", "kind"),
            registry=registry,
        )
        self._tools_seen: set[tuple[str, str]] = set()
        self._tool_calls = Counter(
            "antiphon_tool_calls",
            "Server-side tool calls, by MCP server label (code_interpreter), tool and outcome.",
            ("server", "tool", "outcome"),
            registry=registry,
        )
        self._tool_seconds = Histogram(
            "antiphon_tool_call_duration_seconds",
            "Time a server-side tool call took.",
            ("server",),
            buckets=_LONG_BUCKETS,
            registry=registry,
        )
        self._containers = Gauge(
            "antiphon_sandbox_containers",
            "Live code interpreter containers (one worker process each).",
            registry=registry,
        )
        self._kills = Counter(
            "antiphon_sandbox_kills",
            "Code interpreter cells stopped by a limit, by reason.",
            ("reason",),
            registry=registry,
        )
        self._store_seconds = Histogram(
            "antiphon_store_operation_duration_seconds",
            "Time a store operation took, by operation.",
            ("operation",),
            buckets=_STORE_BUCKETS,
            registry=registry,
        )
        self._store_failures = Counter(
            "antiphon_store_failures",
            "Store operations that failed, by operation.",
            ("operation",),
            registry=registry,
        )

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count the request and time it."""
        self._requests.labels(route, method, str(status)).inc()
        self._request_seconds.labels(route).observe(seconds)

    def stream_opened(self, kind: str) -> None:
        """One more stream in flight."""
        self._streams.labels(kind).inc()

    def stream_closed(self, kind: str) -> None:
        """One fewer stream in flight."""
        self._streams.labels(kind).dec()

    def events_sent(self, kind: str, count: int) -> None:
        """Count the events (once per written chunk: the labelled child is looked up once)."""
        child = self._event_children.get(kind)
        if child is None:
            child = self._event_children[kind] = self._events.labels(kind)
        child.inc(count)

    def first_event(self, seconds: float) -> None:
        """Observe the time to the first event."""
        self._first_event.observe(seconds)

    def response_finished(self, status: str) -> None:
        """Count the final status."""
        self._responses.labels(status).inc()

    def realtime_response_finished(self, status: str) -> None:
        """Count the status of a ``response.done``."""
        self._realtime_responses.labels(status).inc()

    def upstream_first_event(self, engine: str, seconds: float) -> None:
        """Observe the time to the turn's first event."""
        self._upstream_first.labels(engine).observe(seconds)

    def upstream_call(self, engine: str, seconds: float, error: str | None) -> None:
        """Time the turn; count its failure."""
        self._upstream_seconds.labels(engine).observe(seconds)
        if error is not None:
            self._upstream_errors.labels(engine, error).inc()

    def tool_call(self, server: str, tool: str, outcome: str, seconds: float) -> None:
        """Count the call by outcome and time it (past :data:`MAX_TOOL_LABELS` names: other)."""
        key = (server, tool)
        if key not in self._tools_seen:
            if len(self._tools_seen) >= MAX_TOOL_LABELS:
                tool = OTHER_TOOL
            else:
                self._tools_seen.add(key)
        self._tool_calls.labels(server, tool, outcome).inc()
        self._tool_seconds.labels(server).observe(seconds)

    def sandbox_kill(self, reason: str) -> None:
        """Count the kill."""
        self._kills.labels(reason).inc()

    def watch_containers(self, count: Callable[[], int]) -> None:
        """The container gauge reads ``count()`` at each scrape."""
        self._containers.set_function(lambda: float(count()))

    def store_operation(self, operation: str, seconds: float, failed: bool) -> None:
        """Time the operation; count its failure."""
        self._store_seconds.labels(operation).observe(seconds)
        if failed:
            self._store_failures.labels(operation).inc()

    def render(self) -> bytes:
        """Every collector in the Prometheus text exposition format."""
        return generate_latest(self.registry)


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the app's :class:`PrometheusMetrics` (authenticated like the API)."""
    metrics: PrometheusMetrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
