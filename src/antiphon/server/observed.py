"""The server's seams, observed: each wrapper reports to :class:`~antiphon.server.metrics.Metrics`.

The Responses service, the turn loop and the realtime core never see metrics: the app wraps the
store, the model catalog (so every engine), the MCP pool and the code interpreter's container
manager once at start-up, and the wrappers time each call and count how it ended. A wrapper
changes no behaviour: results, exceptions and cancellations pass through untouched.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import TypeVar

from antiphon.engines.base import Engine, EngineEvent, EngineRequest
from antiphon.exceptions import EngineError, ItemNotFound, ResponseNotFound, StoreError
from antiphon.responses.catalog import ServedModel
from antiphon.server.engines import ModelRouter
from antiphon.server.metrics import Metrics
from antiphon.store.base import (
    ConversationSegment,
    EventReplay,
    ItemPage,
    ItemQuery,
    NewResponse,
    ResponseOutcome,
    ResponsePage,
    ResponseQuery,
    ResponseStore,
    StoredEvent,
    StoredResponse,
)
from antiphon.tools.code_interpreter import ContainerManager, ExecutionResult
from antiphon.tools.mcp import McpCallOutcome, McpExecutor, McpListOutcome, ResolvedMcpTool

__all__ = [
    "ObservedCatalog",
    "ObservedContainers",
    "ObservedEngine",
    "ObservedMcp",
    "ObservedStore",
]

_T = TypeVar("_T")
CODE_INTERPRETER_LABEL = "code_interpreter"


class ObservedEngine:
    """An :class:`~antiphon.engines.base.Engine` whose turns are timed and failures counted."""

    def __init__(self, engine: Engine, metrics: Metrics) -> None:
        self._engine = engine
        self._metrics = metrics

    @property
    def name(self) -> str:
        """The wrapped engine's name."""
        return self._engine.name

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """The wrapped engine's events; the turn is reported when it ends, however it ends."""
        started = time.perf_counter()
        error: str | None = None
        try:
            async with aclosing(self._engine.stream(request)) as events:
                async for event in events:
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

    def __init__(self, router: ModelRouter, metrics: Metrics) -> None:
        self._router = router
        self._metrics = metrics
        self._engines: dict[int, ObservedEngine] = {}

    async def resolve(self, name: str) -> ServedModel | None:
        """The model served as ``name``, its engine wrapped (one wrapper per engine)."""
        served = await self._router.resolve(name)
        if served is None:
            return None
        key = id(served.engine)  # the router keeps its engines alive as long as the app
        wrapped = self._engines.get(key)
        if wrapped is None:
            wrapped = self._engines[key] = ObservedEngine(served.engine, self._metrics)
        return ServedModel(wrapped, served.upstream_model)

    async def names(self) -> list[str]:
        """The served model names."""
        return await self._router.names()


class ObservedMcp:
    """An :class:`~antiphon.tools.mcp.McpExecutor` whose calls are counted by outcome."""

    def __init__(self, pool: McpExecutor, metrics: Metrics) -> None:
        self._pool = pool
        self._metrics = metrics

    async def list_tools(self, tool: ResolvedMcpTool) -> McpListOutcome:
        """The pool's listing (listings are not tool calls: not counted)."""
        return await self._pool.list_tools(tool)

    async def call_tool(
        self, tool: ResolvedMcpTool, name: str, arguments_json: str
    ) -> McpCallOutcome:
        """The pool's call, reported with its outcome (``ok`` or the error's type)."""
        started = time.perf_counter()
        outcome = await self._pool.call_tool(tool, name, arguments_json)
        kind = "ok" if outcome.error is None else outcome.error.type
        self._metrics.tool_call(tool.server_label, name, kind, time.perf_counter() - started)
        return outcome


class ObservedContainers(ContainerManager):
    """The code interpreter's container manager, its cells counted and its kills reported."""

    metrics: Metrics | None = None

    def observe(self, metrics: Metrics) -> ObservedContainers:
        """Report to ``metrics`` from now on (the container gauge reads this manager)."""
        self.metrics = metrics
        metrics.watch_containers(lambda: self.container_count)
        return self

    async def run(self, container_id: str | None, code: str) -> ExecutionResult:
        """Run the cell as the manager does; report its outcome and any limit that stopped it."""
        started = time.perf_counter()
        result = await super().run(container_id, code)
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


class ObservedStore:
    """A :class:`~antiphon.store.ResponseStore` whose every call is timed; failures counted."""

    def __init__(self, store: ResponseStore, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics

    async def _timed(self, operation: str, call: Callable[[], Awaitable[_T]]) -> _T:
        started = time.perf_counter()
        failed = False
        try:
            return await call()
        except StoreError as exc:
            # A missing response is an answer, not a failure of the store.
            failed = not isinstance(exc, ResponseNotFound | ItemNotFound)
            raise
        finally:
            self._metrics.store_operation(operation, time.perf_counter() - started, failed)

    async def create(self, new: NewResponse) -> StoredResponse:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("create", lambda: self._store.create(new))

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        """See :class:`~antiphon.store.ResponseStore`."""
        await self._timed("append_events", lambda: self._store.append_events(response_id, events))

    async def finish(
        self, response_id: str, outcome: ResponseOutcome, *, events: tuple[StoredEvent, ...] = ()
    ) -> StoredResponse:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed(
            "finish", lambda: self._store.finish(response_id, outcome, events=events)
        )

    async def unfinished(self) -> tuple[str, ...]:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("unfinished", self._store.unfinished)

    async def mark_cancelled(self, response_id: str) -> StoredResponse:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("mark_cancelled", lambda: self._store.mark_cancelled(response_id))

    async def get(self, response_id: str) -> StoredResponse:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("get", lambda: self._store.get(response_id))

    async def events(
        self, response_id: str, *, starting_after: int = -1, limit: int = 1000
    ) -> EventReplay:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed(
            "events",
            lambda: self._store.events(response_id, starting_after=starting_after, limit=limit),
        )

    async def input_items(self, response_id: str, query: ItemQuery) -> ItemPage:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("input_items", lambda: self._store.input_items(response_id, query))

    async def chain(self, response_id: str) -> tuple[ConversationSegment, ...]:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("chain", lambda: self._store.chain(response_id))

    async def list_responses(self, query: ResponseQuery) -> ResponsePage:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("list_responses", lambda: self._store.list_responses(query))

    async def delete(self, response_id: str) -> bool:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("delete", lambda: self._store.delete(response_id))

    async def purge_expired(self, now: float) -> int:
        """See :class:`~antiphon.store.ResponseStore`."""
        return await self._timed("purge_expired", lambda: self._store.purge_expired(now))

    async def close(self) -> None:
        """Close the wrapped store."""
        await self._store.close()
