"""The server's seams, observed: each wrapper reports to :class:`~antiphon.server.metrics.Metrics`.

The Responses service, the turn loop and the realtime core never see metrics: the app wraps the
store, the model catalog (so every engine), the MCP pool and the code interpreter's container
manager once at start-up, and the wrappers time each call and count how it ended. A wrapper
changes no behaviour: results, exceptions and cancellations pass through untouched.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import AbstractContextManager, aclosing
from typing import TypeVar

from antiphon.engines.base import Engine, EngineEvent, EngineRequest
from antiphon.exceptions import EngineError
from antiphon.responses.catalog import ServedModel
from antiphon.server.engines import ModelRouter
from antiphon.server.metrics import Metrics
from antiphon.server.tracing import NoTracing, Tracing
from antiphon.tools.code_interpreter import ContainerManager, ExecutionResult
from antiphon.tools.mcp import McpCallOutcome, McpExecutor, McpListOutcome, ResolvedMcpTool

__all__ = [
    "ObservedCatalog",
    "ObservedRuns",
    "ObservedContainers",
    "ObservedEngine",
    "ObservedMcp",
]

_T = TypeVar("_T")
CODE_INTERPRETER_LABEL = "code_interpreter"
_NO_TRACING = NoTracing()


class ObservedRuns:
    """The service's :class:`~antiphon.responses.observer.RunObserver`: spans and statuses.

    A span per response (the parent of its engine, tool and store spans) and the count of
    final statuses.
    """

    def __init__(self, metrics: Metrics, tracing: Tracing = _NO_TRACING) -> None:
        self._metrics = metrics
        self._tracing = tracing

    def running(self, response_id: str, model: str) -> AbstractContextManager[object]:
        """The response's span, current in its run's task."""
        attributes = {"antiphon.response.id": response_id, "gen_ai.request.model": model}
        return self._tracing.span("response", attributes)

    def finished(self, status: str) -> None:
        """Count the status; note it on the response's span."""
        self._metrics.response_finished(status)
        self._tracing.annotate({"antiphon.response.status": status})


class ObservedEngine:
    """An :class:`~antiphon.engines.base.Engine` whose turns are timed and failures counted."""

    def __init__(self, engine: Engine, metrics: Metrics, tracing: Tracing = _NO_TRACING) -> None:
        self._engine = engine
        self._metrics = metrics
        self._tracing = tracing

    @property
    def name(self) -> str:
        """The wrapped engine's name."""
        return self._engine.name

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """The wrapped engine's events; the turn is reported when it ends, however it ends."""
        started = time.perf_counter()
        error: str | None = None
        attributes = {"antiphon.engine": self._engine.name, "gen_ai.request.model": request.model}
        try:
            with self._tracing.detached_span("engine call", attributes):
                async with aclosing(self._engine.stream(request)) as events:
                    first = True
                    async for event in events:
                        if first:
                            first = False
                            elapsed = time.perf_counter() - started
                            self._metrics.upstream_first_event(self._engine.name, elapsed)
                        yield event
        except EngineError as exc:
            error = type(exc).__name__
            raise
        finally:
            self._metrics.upstream_call(self._engine.name, time.perf_counter() - started, error)

    async def aclose(self) -> None:
        """Close the wrapped engine."""
        await self._engine.aclose()


class ObservedCatalog:
    """The server's :class:`~antiphon.server.engines.ModelRouter`, its engines observed."""

    def __init__(
        self, router: ModelRouter, metrics: Metrics, tracing: Tracing = _NO_TRACING
    ) -> None:
        self._router = router
        self._metrics = metrics
        self._tracing = tracing
        self._engines: dict[int, ObservedEngine] = {}

    async def resolve(self, name: str) -> ServedModel | None:
        """The model served as ``name``, its engine wrapped (one wrapper per engine)."""
        served = await self._router.resolve(name)
        if served is None:
            return None
        key = id(served.engine)  # the router keeps its engines alive as long as the app
        wrapped = self._engines.get(key)
        if wrapped is None:
            wrapped = ObservedEngine(served.engine, self._metrics, self._tracing)
            self._engines[key] = wrapped
        return ServedModel(wrapped, served.upstream_model)

    async def names(self) -> list[str]:
        """The served model names."""
        return await self._router.names()


class ObservedMcp:
    """An :class:`~antiphon.tools.mcp.McpExecutor` whose calls are counted by outcome."""

    def __init__(self, pool: McpExecutor, metrics: Metrics, tracing: Tracing = _NO_TRACING) -> None:
        self._pool = pool
        self._metrics = metrics
        self._tracing = tracing

    async def list_tools(self, tool: ResolvedMcpTool) -> McpListOutcome:
        """The pool's listing (listings are not tool calls: not counted)."""
        return await self._pool.list_tools(tool)

    async def call_tool(
        self, tool: ResolvedMcpTool, name: str, arguments_json: str
    ) -> McpCallOutcome:
        """The pool's call, reported with its outcome (``ok`` or the error's type)."""
        started = time.perf_counter()
        attributes = {"antiphon.mcp.server_label": tool.server_label, "antiphon.tool.name": name}
        with self._tracing.span("tool call", attributes):
            outcome = await self._pool.call_tool(tool, name, arguments_json)
            kind = "ok" if outcome.error is None else outcome.error.type
            self._tracing.annotate({"antiphon.tool.outcome": kind})
        self._metrics.tool_call(tool.server_label, name, kind, time.perf_counter() - started)
        return outcome


class ObservedContainers(ContainerManager):
    """The code interpreter's container manager, its cells counted and its kills reported."""

    metrics: Metrics | None = None
    tracing: Tracing = _NO_TRACING

    def observe(self, metrics: Metrics, tracing: Tracing = _NO_TRACING) -> ObservedContainers:
        """Report to ``metrics`` from now on (the container gauge reads this manager)."""
        self.metrics = metrics
        self.tracing = tracing
        metrics.watch_containers(lambda: self.container_count)
        return self

    async def run(self, container_id: str | None, code: str) -> ExecutionResult:
        """Run the cell as the manager does; report its outcome and any limit that stopped it."""
        started = time.perf_counter()
        attributes = {
            "antiphon.mcp.server_label": CODE_INTERPRETER_LABEL,
            "antiphon.tool.name": "python",
        }
        with self.tracing.span("tool call", attributes):
            result = await super().run(container_id, code)
            self.tracing.annotate({"antiphon.tool.outcome": result.status})
        if self.metrics is not None:
            outcome = "ok" if result.status == "completed" else "failed"
            seconds = time.perf_counter() - started
            self.metrics.tool_call(CODE_INTERPRETER_LABEL, "python", outcome, seconds)
            for reason, hit in (
                ("timeout", result.timed_out),
                ("memory", result.memory_exceeded),
                ("crash", result.crashed),
                ("lost", result.container_lost),
            ):
                if hit:
                    self.metrics.sandbox_kill(reason)
        return result
