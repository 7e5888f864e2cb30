"""The embedded response store: one SQLite file in WAL mode, off the event loop.

Two threads each own one connection: a writer, through which every change goes (SQLite admits
one writer at a time anyway, so a single thread serialises them without lock contention), and a
reader, which WAL lets run alongside it, so ``GET`` latency does not queue behind a stream of
event appends. The event loop only awaits results. ``sqlite3`` errors are translated into
:class:`~antiphon.StoreError`.

Writes are durable before they are acknowledged, and cheap in bulk: the writer takes every write
waiting in its (bounded) queue and commits them as one transaction, one savepoint each, so one
fsync (``synchronous=FULL``) covers the whole group; a write that fails rolls back to its own
savepoint without touching the others. Each caller's future is resolved only after the commit.

One server owns a store file: :meth:`SqliteStore.open` takes an exclusive lock on a file beside
it (``PATH.lock``; the kernel drops it when the process dies, however it dies), so a second
server on the same file is refused instead of taking the first one's live responses for dead.

A write belongs to the writer once queued: a caller cancelled while it waits stops waiting, but
the write still completes (or fails) as a whole, and later writes are applied after it. Nothing
accepted is dropped. Callers batch events (one :meth:`append_events` per chunk of a stream).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Generic, TypeVar, cast

from antiphon.exceptions import StoreError
from antiphon.store import _sqlite_list as listing
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
    ResponsePage,
    ResponseQuery,
    StoredEvent,
    StoredResponse,
    StoreLimits,
)

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

SCHEMA_VERSION = schema.SCHEMA_VERSION

_T = TypeVar("_T")
_log = logging.getLogger("antiphon.store")
#: Writes waiting for the writer at most; a caller past it waits (before its write is queued).
_MAX_QUEUED: Final = 1024
#: Writes committed together at most.
_MAX_GROUP: Final = 256


def _translate(path: Path, exc: sqlite3.Error) -> StoreError:
    error = StoreError(f"SQLite failed on {path}: {exc}")
    error.__cause__ = exc
    return error


class _Reader:
    """One thread and the one connection it owns (sqlite3 connections stay on their thread)."""

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="antiphon-store-reader")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    async def run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` with the connection on the reader thread."""
        if self._closed:
            raise StoreError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self._call, operation)
        except sqlite3.Error as exc:
            raise _translate(self._path, exc) from exc

    async def close(self) -> None:
        """Close the connection on its thread, then stop the (now idle) thread."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._pool, self._disconnect)
        self._pool.shutdown(wait=False)

    def _call(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._conn is None:
            self._conn = schema.connect(self._path, busy_timeout=self._busy_timeout)
        return operation(self._conn)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(slots=True)
class _Write(Generic[_T]):
    """One queued write: the operation, and the future of its caller's loop."""

    operation: Callable[[sqlite3.Connection], _T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[_T]
    result: _T | None = None
    error: BaseException | None = None


class _Writer:
    """The writer thread: a bounded queue of writes, committed in groups (module docstring)."""

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._queue: queue.SimpleQueue[_Write[object] | None] = queue.SimpleQueue()
        self._slots = asyncio.Semaphore(_MAX_QUEUED)
        self._closed = False
        self._thread = threading.Thread(target=self._main, name="antiphon-store-writer")
        self._thread.daemon = True  # close() joins it; a daemon never holds the process open
        self._thread.start()

    async def run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Queue ``operation`` and wait for its group to commit (cancellation-safe)."""
        if self._closed:
            raise StoreError("the SQLite store is closed")
        await self._slots.acquire()  # cancelled here, nothing was queued
        loop = asyncio.get_running_loop()
        write: _Write[_T] = _Write(operation, loop, loop.create_future())
        write.future.add_done_callback(self._done)
        self._queue.put(cast("_Write[object]", write))  # the thread hands back what it returns
        # From here the writer owns the write: a cancelled caller leaves it to finish.
        return await asyncio.shield(write.future)

    async def close(self) -> None:
        """Commit what is queued, then close the connection and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _done(self, future: asyncio.Future[_T]) -> None:
        self._slots.release()
        if not future.cancelled():
            # Retrieved here: a caller that was cancelled no longer awaits the write's error
            # (its run learns of it from the next write, which the store then refuses).
            future.exception()

    def _main(self) -> None:
        conn: sqlite3.Connection | None = None
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            while len(group) < _MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
            try:
                if conn is None:
                    conn = schema.connect(self._path, busy_timeout=self._busy_timeout)
                _commit(conn, group)
            except Exception as exc:  # the group failed whole; the thread goes on
                for write in group:
                    write.error = exc
            for write in group:
                if isinstance(write.error, sqlite3.Error):
                    write.error = _translate(self._path, write.error)
                elif write.error is not None and not isinstance(write.error, StoreError):
                    error = StoreError(f"the SQLite store {self._path} failed: {write.error!r}")
                    error.__cause__ = write.error
                    write.error = error
                _resolve(write)
        if conn is not None:
            conn.close()


def _commit(conn: sqlite3.Connection, group: list[_Write[object]]) -> None:
    """Run a group of writes in one transaction, one savepoint each, and commit it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for write in group:
            try:
                with schema.savepoint(conn):
                    write.result = write.operation(conn)
            except sqlite3.Error as exc:
                if not conn.in_transaction:
                    raise  # the whole transaction is gone: every write of the group failed
                write.error = exc
            except Exception as exc:  # a rule of the store refused this write only
                write.error = exc
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _resolve(write: _Write[object]) -> None:
    def settle() -> None:
        if write.future.done():
            return
        if write.error is not None:
            write.future.set_exception(write.error)
        else:
            write.future.set_result(write.result)

    try:
        write.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the caller's loop is closed: nobody is waiting any more
        _log.debug("a store write finished after its event loop closed")


class SqliteStore:
    """A :class:`~antiphon.store.ResponseStore` in one SQLite file. Build it with :meth:`open`."""

    def __init__(
        self,
        writer: _Writer,
        reader: _Reader,
        limits: StoreLimits,
        clock: Callable[[], float],
        owner: int | None = None,
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._limits = limits
        self._clock = clock
        self._owner = owner  # the locked file descriptor that makes this store the file's owner

    @classmethod
    async def open(
        cls,
        path: Path,
        limits: StoreLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 5.0,
    ) -> SqliteStore:
        """Open (creating if needed) the store file at ``path`` and migrate its schema.

        ``busy_timeout``: seconds a write waits for another process's lock on the file before
        it fails with a :class:`~antiphon.StoreError`.
        """
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open the SQLite store {path}: {exc}") from exc
        owner = await asyncio.to_thread(_own, path)
        try:
            await asyncio.to_thread(_migrate, path, busy_timeout)
        except BaseException as exc:
            os.close(owner)
            if isinstance(exc, sqlite3.Error):
                raise _translate(path, exc) from exc
            raise
        writer = _Writer(path, busy_timeout)
        reader = _Reader(path, busy_timeout)
        return cls(writer, reader, limits or StoreLimits(), clock, owner)

    async def create(self, new: NewResponse) -> StoredResponse:
        """Store a response that has just been created; its id must be new."""
        record = new_record(new, self._limits)
        await self._writer.run(lambda conn: ops.insert(conn, record))
        return record

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        """Append a gapless batch in one transaction; past the bound the oldest events go."""
        now = self._clock()
        await self._writer.run(lambda c: ops.append(c, response_id, events, self._limits, now))

    async def finish(
        self, response_id: str, outcome: ResponseOutcome, *, events: tuple[StoredEvent, ...] = ()
    ) -> StoredResponse:
        """Record how an active response ended, and its last events, in one transaction."""
        now = self._clock()
        return await self._writer.run(
            lambda conn: ops.finish(conn, response_id, outcome, events, self._limits, now)
        )

    async def unfinished(self) -> tuple[str, ...]:
        """The ids of every live response still queued or in progress."""
        now = self._clock()
        return await self._reader.run(lambda conn: ops.unfinished(conn, now))

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

    async def list_responses(self, query: ResponseQuery) -> ResponsePage:
        """A page of the live responses by ``(created_at, id)``; see the protocol."""
        now = self._clock()
        return await self._reader.run(lambda conn: listing.list_responses(conn, query, now))

    async def delete(self, response_id: str) -> bool:
        """Delete a response, its items and its events; whether it existed."""
        now = self._clock()
        return await self._writer.run(lambda conn: ops.delete(conn, response_id, now))

    async def purge_expired(self, now: float) -> int:
        """Delete every response whose retention ended at or before ``now``; reclaim space.

        The pages freed by this and by earlier deletes go back to the file system.
        """
        return await self._writer.run(lambda conn: ops.purge(conn, now))

    async def close(self) -> None:
        """Close both connections and stop both threads, then give up the file."""
        await self._writer.close()
        await self._reader.close()
        if self._owner is not None:
            os.close(self._owner)  # closing the descriptor releases its lock
            self._owner = None


def _own(path: Path) -> int:
    """Lock ``PATH.lock`` for this process; a store file already owned is refused."""
    if str(path) == ":memory:":
        return os.open(os.devnull, os.O_RDONLY)  # nothing to share; WAL refuses it anyway
    lock = path.with_name(path.name + ".lock")
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open the SQLite store {path}: {exc}") from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        raise StoreError(
            f"the SQLite store {path} is in use by another antiphon server"
            " (one server per store file)"
        ) from exc
    return descriptor


def _migrate(path: Path, busy_timeout: float) -> None:
    conn = schema.connect(path, busy_timeout=busy_timeout)
    try:
        schema.migrate(conn)
        conn.execute(listing.CREATED_INDEX)
    finally:
        conn.close()
