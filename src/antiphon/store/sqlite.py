"""The embedded response store: one SQLite file in WAL mode, off the event loop.

Two worker threads each own one connection: a writer, through which every change goes (SQLite
admits one writer at a time anyway, so a single thread serialises them without lock contention),
and a reader, which WAL lets run alongside it, so ``GET`` latency does not queue behind a stream
of event appends. Each operation is one transaction on its worker's thread; the event loop only
awaits the result. ``sqlite3`` errors are translated into :class:`~antiphon.StoreError`.

A call whose awaiting task is cancelled still completes on its thread: a write is either fully
committed or not at all, never half done. Callers batch events (one :meth:`append_events` per
chunk of a stream, not per event): each call costs one thread hop and one commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from antiphon.exceptions import StoreError
from antiphon.store import _sqlite_ops as ops
from antiphon.store import _sqlite_schema as schema
from antiphon.store._rules import new_record, page_items
from antiphon.store.base import (
    ConversationSegment,
    EventReplay,
    ItemPage,
    ItemQuery,
    NewResponse,
    ResponseOutcome,
    StoredEvent,
    StoredResponse,
    StoreLimits,
)

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

SCHEMA_VERSION = schema.SCHEMA_VERSION

_T = TypeVar("_T")


class _Worker:
    """One thread and the one connection it owns (sqlite3 connections stay on their thread)."""

    def __init__(self, path: Path, name: str) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    async def run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` with the connection on the worker thread."""
        if self._closed:
            raise StoreError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self._call, operation)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite failed on {self._path}: {exc}") from exc

    async def close(self) -> None:
        """Close the connection on its thread, then stop the (now idle) thread."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._pool, self._disconnect)
        self._pool.shutdown(wait=False)

    def _call(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._conn is None:
            self._conn = schema.connect(self._path)
        return operation(self._conn)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class SqliteStore:
    """A :class:`~antiphon.store.ResponseStore` in one SQLite file. Build it with :meth:`open`."""

    def __init__(
        self, writer: _Worker, reader: _Worker, limits: StoreLimits, clock: Callable[[], float]
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._limits = limits
        self._clock = clock

    @classmethod
    async def open(
        cls,
        path: Path,
        limits: StoreLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> SqliteStore:
        """Open (creating if needed) the store file at ``path`` and migrate its schema."""
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open the SQLite store {path}: {exc}") from exc
        writer = _Worker(path, "antiphon-store-writer")
        reader = _Worker(path, "antiphon-store-reader")
        try:
            await writer.run(schema.migrate)
        except StoreError:
            await writer.close()
            await reader.close()
            raise
        return cls(writer, reader, limits or StoreLimits(), clock)

    async def create(self, new: NewResponse) -> StoredResponse:
        """Store a response that has just been created; its id must be new."""
        record = new_record(new, self._limits)
        await self._writer.run(lambda conn: ops.insert(conn, record))
        return record

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        """Append a gapless batch in one transaction; past the bound the oldest events go."""
        now = self._clock()
        await self._writer.run(lambda c: ops.append(c, response_id, events, self._limits, now))

    async def finish(self, response_id: str, outcome: ResponseOutcome) -> StoredResponse:
        """Record how an active response ended."""
        now = self._clock()
        return await self._writer.run(
            lambda conn: ops.finish(conn, response_id, outcome, self._limits, now)
        )

    async def mark_cancelled(self, response_id: str) -> StoredResponse:
        """Cancel an active response; a cancelled one is returned unchanged."""
        now = self._clock()
        return await self._writer.run(lambda conn: ops.cancel(conn, response_id, now))

    async def get(self, response_id: str) -> StoredResponse:
        """The stored response; :class:`~antiphon.ResponseNotFound` if absent or expired."""
        now = self._clock()
        return await self._reader.run(lambda conn: ops.get(conn, response_id, now))

    async def events(
        self, response_id: str, *, starting_after: int = -1, limit: int = 1000
    ) -> EventReplay:
        """Up to ``limit`` retained events after ``starting_after``, and how many were lost."""
        now = self._clock()
        return await self._reader.run(
            lambda conn: ops.replay(conn, response_id, starting_after, limit, now)
        )

    async def input_items(self, response_id: str, query: ItemQuery) -> ItemPage:
        """A page of the response's input items."""
        record = await self.get(response_id)
        return page_items(response_id, record.input_items, query)

    async def chain(self, response_id: str) -> tuple[ConversationSegment, ...]:
        """The conversation ending with ``response_id``, oldest response first."""
        now, depth = self._clock(), self._limits.max_chain_depth
        return await self._reader.run(lambda conn: ops.chain(conn, response_id, depth, now))

    async def delete(self, response_id: str) -> bool:
        """Delete a response, its items and its events; whether it existed."""
        now = self._clock()
        return await self._writer.run(lambda conn: ops.delete(conn, response_id, now))

    async def purge_expired(self, now: float) -> int:
        """Delete every response whose retention ended at or before ``now``."""
        return await self._writer.run(lambda conn: ops.purge(conn, now))

    async def close(self) -> None:
        """Close both connections and stop both threads."""
        await self._writer.close()
        await self._reader.close()
