"""Helpers shared by the session tests: a checked in-memory server, a session on it, readers.

Sessions here need no socket: their model is the in-memory one of
:class:`~antiphon.realtime.testing.InMemoryRealtimeServer`, as strict about frames as the
WebSocket path (the transport itself is tested over a real socket in ``tests/e2e``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager

from openai.types.realtime import RealtimeClientEvent

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import RealtimeSessionEvent
from antiphon.realtime.model import (
    ModelEvent,
    RealtimeModel,
    RealtimeModelConfig,
    RealtimeModelFactory,
)
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.session import RealtimeSession
from antiphon.realtime.testing import InMemoryRealtimeServer

WITHIN = 5.0


@asynccontextmanager
async def checked_server() -> AsyncGenerator[InMemoryRealtimeServer]:
    """An in-memory server whose teardown asserts that every client event validated strictly."""
    async with InMemoryRealtimeServer() as server:
        yield server
        assert server.violations == []


@asynccontextmanager
async def open_session(
    server: InMemoryRealtimeServer,
    agent: RealtimeAgent,
    config: RealtimeRunConfig | None = None,
    model_factory: RealtimeModelFactory | None = None,
) -> AsyncGenerator[RealtimeSession]:
    """A connected session on ``server`` whose first ``session.update`` was received."""
    runner = RealtimeRunner(agent, config=config, model_factory=model_factory or server.new_model)
    session = await runner.run(model_config={"url": "memory://", "api_key": "sk-test"})
    async with session:
        await server.wait_for("session.update")
        yield session


async def read_until(
    session: RealtimeSession,
    stop: Callable[[RealtimeSessionEvent], bool],
    *,
    within: float = WITHIN,
) -> list[RealtimeSessionEvent]:
    """Read events up to and including the first one ``stop`` accepts."""
    seen: list[RealtimeSessionEvent] = []
    async with asyncio.timeout(within):
        async for event in session:
            seen.append(event)
            if stop(event):
                return seen
    raise AssertionError(f"the session ended before the awaited event; saw {types_of(seen)}")


async def read_all(
    session: RealtimeSession, *, within: float = WITHIN
) -> list[RealtimeSessionEvent]:
    """Read events until the iteration ends (raises what the iteration raises)."""
    seen: list[RealtimeSessionEvent] = []
    async with asyncio.timeout(within):
        async for event in session:
            seen.append(event)
    return seen


def of_type(type_: str) -> Callable[[RealtimeSessionEvent], bool]:
    """A ``stop`` predicate for :func:`read_until`."""
    return lambda event: event.type == type_


def nth_of_type(type_: str, count: int) -> Callable[[RealtimeSessionEvent], bool]:
    """Stop at the ``count``-th event of ``type_``."""
    seen = 0

    def stop(event: RealtimeSessionEvent) -> bool:
        nonlocal seen
        seen += event.type == type_
        return seen >= count

    return stop


def types_of(events: list[RealtimeSessionEvent], *, noise: bool = False) -> list[str]:
    """Event types in order, without raw and history-update events unless ``noise``."""
    skip: set[str] = set() if noise else {"raw_model_event", "history_updated", "history_added"}
    return [event.type for event in events if event.type not in skip]


def client_types(server: InMemoryRealtimeServer) -> list[str]:
    """The types of every client event the server received, in order."""
    return [event.type for event in server.events]


class WrappedModel:
    """A model with hooks to make ``send`` or ``close`` fail on purpose."""

    def __init__(
        self,
        inner: RealtimeModel,
        *,
        fail_send: Callable[[RealtimeClientEvent], BaseException | None] | None = None,
        fail_close: BaseException | None = None,
    ) -> None:
        self.inner = inner
        self._fail_send = fail_send
        self._fail_close = fail_close
        self.close_calls = 0

    async def connect(self, config: RealtimeModelConfig) -> None:
        await self.inner.connect(config)

    async def send(self, event: RealtimeClientEvent) -> None:
        error = self._fail_send(event) if self._fail_send is not None else None
        if error is not None:
            raise error
        await self.inner.send(event)

    def events(self) -> AsyncIterator[ModelEvent]:
        return self.inner.events()

    async def close(self) -> None:
        self.close_calls += 1
        await self.inner.close()
        if self._fail_close is not None:
            raise self._fail_close


def factory(model: RealtimeModel) -> RealtimeModelFactory:
    """A model factory returning ``model`` (for a test that needs to hold the instance)."""
    return lambda: model
