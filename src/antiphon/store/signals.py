"""Signals between the workers sharing a store: "this response changed", "cancel this run".

A run lives in one worker's memory, but any worker may be asked to follow, cancel or delete its
response. :class:`ResponseSignals` is the seam those requests cross: a worker that wrote to a
response announces it (:meth:`~ResponseSignals.changed`), so followers on other workers re-read
the store at once instead of polling it; a worker asked to cancel a run it does not hold
broadcasts the request (:meth:`~ResponseSignals.request_cancel`) and the owner's handler stops
the run. Signals carry no data: the store stays the one source of truth, a lost signal costs
latency (the waiters' timeouts), never correctness.

:class:`MemorySignals` joins the members of one :class:`SignalHub` in one process (one server,
or several services in a test). :class:`~antiphon.store.postgres_signals.PostgresSignals` uses
``LISTEN``/``NOTIFY`` across processes and machines. :class:`SignallingStore` wraps a store so
that each write announces itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

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

__all__ = [
    "CancelHandler",
    "MemorySignals",
    "ResponseSignals",
    "SignalHub",
    "SignallingStore",
    "Watch",
    "Watchers",
]

_log = logging.getLogger("antiphon.store")

#: Called with a response id whose run some worker was asked to cancel.
CancelHandler = Callable[[str], None]


class Watch:
    """Wakes its waiter when its response changes; changes since the last wait are not lost."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Mark the response changed (called on the watch's own loop)."""
        self._event.set()

    async def wait(self, seconds: float | None) -> bool:
        """Wait for a change (``True``) or ``seconds`` (``False``); then re-arm."""
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


class Watchers:
    """The watches of one process, by response id (what every implementation keeps)."""

    def __init__(self) -> None:
        self._watches: dict[str, set[Watch]] = {}

    def notify(self, response_id: str) -> None:
        """Wake every watch on ``response_id``."""
        for watch in self._watches.get(response_id, ()):
            watch.notify()

    def notify_all(self) -> None:
        """Wake every watch (signals may have been missed: everyone re-reads)."""
        for watches in self._watches.values():
            for watch in watches:
                watch.notify()

    @asynccontextmanager
    async def watch(self, response_id: str) -> AsyncGenerator[Watch]:
        """A watch on ``response_id`` while the block runs."""
        watch = Watch()
        self._watches.setdefault(response_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches[response_id]
            watches.discard(watch)
            if not watches:
                del self._watches[response_id]


class ResponseSignals(Protocol):
    """Change and cancel signals between workers; see the module docstring."""

    async def changed(self, response_id: str) -> None:
        """Tell every worker that ``response_id`` has new events or a new status."""
        ...

    async def request_cancel(self, response_id: str) -> None:
        """Ask the worker running ``response_id`` (whichever it is) to cancel it."""
        ...

    def watch(self, response_id: str) -> AbstractAsyncContextManager[Watch]:
        """Watch ``response_id`` for changes announced by any worker (this one included)."""
        ...

    def on_cancel(self, handler: CancelHandler) -> None:
        """Set the handler of cancel requests (the service, which knows its runs)."""
        ...

    async def close(self) -> None:
        """Stop listening; the signals must not be used afterwards."""
        ...


class SignalHub:
    """Joins the :class:`MemorySignals` of one process, as a database joins workers."""

    def __init__(self) -> None:
        self.members: list[MemorySignals] = []


class MemorySignals:
    """In-process :class:`ResponseSignals`: every member of ``hub`` hears every signal."""

    def __init__(self, hub: SignalHub | None = None) -> None:
        self._hub = SignalHub() if hub is None else hub
        self._hub.members.append(self)
        self._watchers = Watchers()
        self._handler: CancelHandler | None = None

    async def changed(self, response_id: str) -> None:
        """Wake the watches of every member."""
        for member in self._hub.members:
            member._watchers.notify(response_id)

    async def request_cancel(self, response_id: str) -> None:
        """Hand the request to every member's handler (only the owner has the run)."""
        for member in self._hub.members:
            if member._handler is not None:
                member._handler(response_id)

    def watch(self, response_id: str) -> AbstractAsyncContextManager[Watch]:
        """Watch ``response_id``."""
        return self._watchers.watch(response_id)

    def on_cancel(self, handler: CancelHandler) -> None:
        """Set the cancel handler."""
        self._handler = handler

    async def close(self) -> None:
        """Leave the hub."""
        if self in self._hub.members:
            self._hub.members.remove(self)


class SignallingStore:
    """A :class:`ResponseStore` that announces each write through ``signals`` once committed.

    A failed announcement is logged, never raised: the write itself succeeded, and followers
    elsewhere still see it at their next re-read.
    """

    def __init__(self, store: ResponseStore, signals: ResponseSignals) -> None:
        self.inner = store
        self.signals = signals

    async def _announce(self, response_id: str) -> None:
        try:
            await self.signals.changed(response_id)
        except Exception:
            _log.warning("could not announce a change of %s", response_id, exc_info=True)

    async def create(self, new: NewResponse) -> StoredResponse:
        """Create, then announce."""
        record = await self.inner.create(new)
        await self._announce(new.id)
        return record

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        """Append, then announce."""
        await self.inner.append_events(response_id, events)
        await self._announce(response_id)

    async def finish(
        self, response_id: str, outcome: ResponseOutcome, *, events: tuple[StoredEvent, ...] = ()
    ) -> StoredResponse:
        """Finish, then announce."""
        record = await self.inner.finish(response_id, outcome, events=events)
        await self._announce(response_id)
        return record

    async def unfinished(self) -> tuple[str, ...]:
        """As the wrapped store."""
        return await self.inner.unfinished()

    async def mark_cancelled(self, response_id: str) -> StoredResponse:
        """Cancel, then announce."""
        record = await self.inner.mark_cancelled(response_id)
        await self._announce(response_id)
        return record

    async def get(self, response_id: str) -> StoredResponse:
        """As the wrapped store."""
        return await self.inner.get(response_id)

    async def events(
        self, response_id: str, *, starting_after: int = -1, limit: int = 1000
    ) -> EventReplay:
        """As the wrapped store."""
        return await self.inner.events(response_id, starting_after=starting_after, limit=limit)

    async def input_items(self, response_id: str, query: ItemQuery) -> ItemPage:
        """As the wrapped store."""
        return await self.inner.input_items(response_id, query)

    async def chain(self, response_id: str) -> tuple[ConversationSegment, ...]:
        """As the wrapped store."""
        return await self.inner.chain(response_id)

    async def list_responses(self, query: ResponseQuery) -> ResponsePage:
        """As the wrapped store."""
        return await self.inner.list_responses(query)

    async def delete(self, response_id: str) -> bool:
        """Delete, then announce (followers elsewhere learn it is gone)."""
        existed = await self.inner.delete(response_id)
        await self._announce(response_id)
        return existed

    async def purge_expired(self, now: float) -> int:
        """As the wrapped store."""
        return await self.inner.purge_expired(now)

    async def close(self) -> None:
        """Close the signals, then the store."""
        await self.signals.close()
        await self.inner.close()
