"""OpenTelemetry traces, optional: a span per response, engine call, tool call and store write.

:class:`Tracing` is the seam the observed wrappers (:mod:`antiphon.server.observed`) call;
:class:`NoTracing` records nothing and is what the server uses unless the ``otel`` extra is
installed (``pip install "antiphon[otel]"``: the OpenTelemetry SDK and its OTLP/HTTP exporter)
and the environment asks for traces (:func:`open_tracing`). The SDK is configured from the
standard ``OTEL_*`` variables: ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (the
resource), ``OTEL_TRACES_EXPORTER`` (``otlp``, the default, or ``console``),
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and the other
``OTEL_EXPORTER_OTLP_*`` settings, ``OTEL_TRACES_SAMPLER`` and ``OTEL_BSP_*`` (batching),
``OTEL_SDK_DISABLED``.

A request that carries a W3C ``traceparent`` header (and ``tracestate``) continues the client's
trace: :meth:`Tracing.remote_parent` makes that remote span the current context while the request
is served, and a run's task, created inside, inherits it. A header that does not parse is
ignored (a new trace starts), as the propagator specifies. A response's span is the current span
of its run's task, so every span the run makes is its child. An engine call is an async
generator whose consumer runs between its events, so its span is never made current (it would
leak into the consumer's context): it is a child of the response span all the same, started and
ended by hand.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["Attributes", "Headers", "NoTracing", "OtelTracing", "Tracing", "open_tracing"]

_log = logging.getLogger("antiphon.server")

Attributes = Mapping[str, str | int | float | bool]
#: An ASGI scope's headers: lower-case names and values, as bytes.
Headers = Iterable[tuple[bytes, bytes]]
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})
_WANTS_TRACES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


class Tracing(Protocol):
    """Makes spans; each method returns a context manager that ends the span on exit."""

    def span(self, name: str, attributes: Attributes) -> AbstractContextManager[object]:
        """A span that is current inside the block (an exception marks it failed)."""
        ...

    def detached_span(self, name: str, attributes: Attributes) -> AbstractContextManager[object]:
        """A child of the current span that is never made current (for async generators)."""
        ...

    def annotate(self, attributes: Attributes) -> None:
        """Add attributes to the current span (an outcome known at its end)."""
        ...

    def remote_parent(self, headers: Headers) -> AbstractContextManager[object]:
        """Inside the block, the span a request's ``traceparent`` names is the current parent."""
        ...


class NoTracing:
    """A :class:`Tracing` that records nothing."""

    def span(self, name: str, attributes: Attributes) -> AbstractContextManager[object]:
        """An empty context."""
        return nullcontext()

    def detached_span(self, name: str, attributes: Attributes) -> AbstractContextManager[object]:
        """An empty context."""
        return nullcontext()

    def annotate(self, attributes: Attributes) -> None:
        """Nothing."""

    def remote_parent(self, headers: Headers) -> AbstractContextManager[object]:
        """An empty context."""
        return nullcontext()


class OtelTracing:
    """A :class:`Tracing` over an OpenTelemetry tracer provider (the ``otel`` extra)."""

    def __init__(self, provider: TracerProvider) -> None:
        from antiphon._version import __version__

        self.provider = provider
        self._tracer = provider.get_tracer("antiphon", __version__)

    def span(self, name: str, attributes: Attributes) -> AbstractContextManager[object]:
        """A current span; an exception escaping the block is recorded on it."""
        return self._tracer.start_as_current_span(name, attributes=dict(attributes))

    @contextlib.contextmanager
    def detached_span(self, name: str, attributes: Attributes) -> Generator[object]:
        """A span ended on exit, never current; an ``Exception`` marks it failed."""
        from opentelemetry.trace import Status, StatusCode

        span = self._tracer.start_span(name, attributes=dict(attributes))
        try:
            yield span
        except Exception as exc:  # not GeneratorExit or a cancellation: those are no failure
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            span.end()

    def annotate(self, attributes: Attributes) -> None:
        """Set the attributes on the current span."""
        from opentelemetry import trace

        trace.get_current_span().set_attributes(dict(attributes))

    @contextlib.contextmanager
    def remote_parent(self, headers: Headers) -> Generator[object]:
        """The client's trace context (``traceparent``, ``tracestate``) current in the block."""
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in headers
            if name in _TRACE_HEADERS
        }
        if "traceparent" not in carrier:
            yield None
            return
        from opentelemetry import context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        # The W3C propagator whatever OTEL_PROPAGATORS says: the header it reads is the one
        # the README promises, and a malformed one yields an empty context (a new trace).
        token = context.attach(TraceContextTextMapPropagator().extract(carrier))
        try:
            yield None
        finally:
            context.detach(token)

    def shutdown(self) -> None:
        """Flush the spans still batched and stop exporting."""
        self.provider.shutdown()


def open_tracing(environ: Mapping[str, str]) -> NoTracing | OtelTracing:
    """Tracing as the ``OTEL_*`` variables of ``environ`` ask; :class:`NoTracing` otherwise.

    Traces are on when one of ``OTEL_TRACES_EXPORTER``, ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (and ``OTEL_TRACES_EXPORTER`` is not ``none``
    nor ``OTEL_SDK_DISABLED`` true). Asked for without the ``otel`` extra, that is a warning.
    """
    exporter_name = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" or exporter_name == "none":
        return NoTracing()
    if not any(environ.get(name, "").strip() for name in _WANTS_TRACES):
        return NoTracing()
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )
    except ImportError:
        _log.warning("OTEL_* variables ask for traces, but the otel extra is not installed")
        return NoTracing()
    exporter: SpanExporter
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    elif exporter_name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            _log.warning("the OTLP/HTTP exporter is not installed: no traces")
            return NoTracing()
        exporter = OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself
    else:
        _log.warning("OTEL_TRACES_EXPORTER=%s is not supported (otlp, console)", exporter_name)
        return NoTracing()
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, and what it is given
    # wins over them: the default name is given only when neither names the service.
    named = environ.get("OTEL_SERVICE_NAME") or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    resource = Resource.create({} if named else {"service.name": "antiphon"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return OtelTracing(provider)
