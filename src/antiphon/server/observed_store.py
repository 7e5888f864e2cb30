"""The store, observed: every call timed, failures counted, each write a trace span.

Part of the wrappers of :mod:`antiphon.server.observed`; like them it changes no behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from antiphon.exceptions import ItemNotFound, ResponseNotFound, StoreError
from antiphon.server.metrics import Metrics
from antiphon.server.tracing import NoTracing, Tracing
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

__all__ = ["ObservedStore"]

_T = TypeVar("_T")
#: Store operations that write: each gets a span (reads are only timed).
_WRITES: Final = frozenset(
    {"create", "append_events", "finish", "mark_cancelled", "delete", "purge_expired"}
)
_NO_TRACING = NoTracing()


class ObservedStore:
    """A :class:`~antiphon.store.ResponseStore` whose every call is timed; failures counted."""

    def __init__(
        self, store: ResponseStore, metrics: Metrics, tracing: Tracing = _NO_TRACING
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._tracing = tracing

    async def _timed(self, operation: str, call: Callable[[], Awaitable[_T]]) -> _T:
        started = time.perf_counter()
        failed = False
        try:
            if operation in _WRITES:
                with self._tracing.span(f"store {operation}", {"antiphon.store.op": operation}):
                    return await call()
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
