"""The shared response store: PostgreSQL through psycopg 3 and an async connection pool.

Any number of ``antiphon serve`` workers, on any number of machines, share one database. Each
opened store is one worker: it registers itself in ``workers`` with a lease (a time, on the
database's clock, until which it counts as alive) that a task renews every third of the lease,
and stamps the responses it creates with its id. :meth:`PostgresStore.unfinished` therefore
lists only the active responses this worker answers for: its own, and those whose worker's
lease ran out (killed, or cut off from the database) — the service fails those with a restart
error, so a dead worker's runs end within the lease time, on whichever worker looks first.

Writes run as tasks the store owns and the caller awaits shielded: a caller cancelled once the
write started leaves it to finish (or fail) whole, and :meth:`close` waits for them. Writes to
one response are applied in the order they were made (a lock per response id, FIFO).
``psycopg`` errors become :class:`~antiphon.StoreError`. The schema is migrated when the store
opens (:mod:`~antiphon.store._postgres_schema`); ``antiphon store migrate`` does it ahead of time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from antiphon.exceptions import StoreError
from antiphon.store import _postgres_list as listing
from antiphon.store import _postgres_ops as ops
from antiphon.store import _postgres_schema as schema
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

__all__ = ["CHANGED_CHANNEL", "SCHEMA_VERSION", "PostgresStore", "migrate_database"]

SCHEMA_VERSION: Final = schema.SCHEMA_VERSION
#: The channel a write notifies when :attr:`PostgresStore.announce_changes` is set.
CHANGED_CHANNEL: Final = "antiphon_changed"

_T = TypeVar("_T")
_log = logging.getLogger("antiphon.store")


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "PostgreSQL database"
    return f"PostgreSQL database {info.get('dbname', '')!s} on {info.get('host', 'localhost')!s}"


def _translate(where: str, exc: BaseException) -> StoreError:
    error = StoreError(f"{where} failed: {exc}")
    error.__cause__ = exc
    return error


async def migrate_database(url: str) -> tuple[int, int]:
    """Apply the missing schema migrations to ``url``; (version before, version after)."""
    try:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            return await schema.migrate(conn)
    except psycopg.Error as exc:
        raise _translate(f"migrating the {_redact(url)}", exc) from exc


class PostgresStore:
    """A :class:`~antiphon.store.ResponseStore` in PostgreSQL. Build it with :meth:`open`."""

    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection],
        limits: StoreLimits,
        clock: Callable[[], float],
        *,
        where: str,
        worker_id: str,
        lease_seconds: float,
    ) -> None:
        self._pool = pool
        self._limits = limits
        self._clock = clock
        self._where = where
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self._writes: set[asyncio.Task[Any]] = set()
        self._order: dict[str, tuple[asyncio.Lock, int]] = {}
        self._closed = False
        self._renewal: asyncio.Task[None] | None = None
        #: Set when workers share the store: each write notifies :data:`CHANGED_CHANNEL`.
        self.announce_changes = False

    @classmethod
    async def open(
        cls,
        url: str,
        limits: StoreLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        connect_timeout: float = 10.0,
        lease_seconds: float | None = None,
    ) -> PostgresStore:
        """Connect, migrate, register this worker.

        The pool holds up to ``limits.max_connections``; ``lease_seconds`` (default
        ``limits.worker_lease_seconds``) is how long this worker counts as alive unrenewed.
        """
        where = _redact(url)
        limits = limits or StoreLimits()
        lease_seconds = limits.worker_lease_seconds if lease_seconds is None else lease_seconds
        await migrate_database(url)
        pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            url,
            min_size=min(2, limits.max_connections),
            max_size=limits.max_connections,
            kwargs={"autocommit": True},
            timeout=connect_timeout,
            open=False,
            name="antiphon-store",
        )
        try:
            await pool.open(wait=True, timeout=connect_timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            await pool.close()
            raise _translate(f"connecting to the {where}", exc) from exc
        worker_id = f"{socket.gethostname()}-{secrets.token_hex(4)}"
        store = cls(
            pool,
            limits,
            clock,
            where=where,
            worker_id=worker_id,
            lease_seconds=lease_seconds,
        )
        try:
            await store._run(lambda conn: ops.register(conn, worker_id, lease_seconds))
        except BaseException:
            await pool.close()
            raise
        store._renewal = asyncio.create_task(store._renew(), name="antiphon store lease")
        return store

    # -- plumbing -----------------------------------------------------------------------------

    async def _run(self, operation: Callable[[AsyncConnection], Awaitable[_T]]) -> _T:
        """Run ``operation`` on a pooled connection, translating database errors."""
        if self._closed:
            raise StoreError(f"the store on the {self._where} is closed")
        try:
            async with self._pool.connection() as conn:
                return await operation(conn)
        except (psycopg.Error, PoolTimeout) as exc:
            raise _translate(f"the {self._where}", exc) from exc

    async def _write(
        self, response_id: str, operation: Callable[[AsyncConnection], Coroutine[Any, Any, _T]]
    ) -> _T:
        """A write the store owns once started (see the module docstring)."""
        if self._closed:
            raise StoreError(f"the store on the {self._where} is closed")
        lock, users = self._order.get(response_id, (asyncio.Lock(), 0))
        self._order[response_id] = (lock, users + 1)

        async def ordered() -> _T:
            try:
                async with lock:
                    return await self._run(
                        lambda conn: self._pipelined(conn, response_id, operation)
                    )
            finally:
                lock_now, left = self._order[response_id]
                if left <= 1:
                    del self._order[response_id]
                else:
                    self._order[response_id] = (lock_now, left - 1)

        task = asyncio.create_task(ordered())
        self._writes.add(task)
        task.add_done_callback(self._written)
        return await asyncio.shield(task)

    async def _pipelined(
        self,
        conn: AsyncConnection,
        response_id: str,
        operation: Callable[[AsyncConnection], Coroutine[Any, Any, _T]],
    ) -> _T:
        """Run a write in pipeline mode: its statements leave together, not one per round trip.

        With :attr:`announce_changes`, a ``NOTIFY`` follows the write's commit in the same
        pipeline: other workers learn of the change without another round trip.
        """
        async with conn.pipeline():
            result = await operation(conn)
            if self.announce_changes:
                await ops.announce(conn, CHANGED_CHANNEL, response_id)
        return result

    async def _read(self, operation: Callable[[AsyncConnection], Coroutine[Any, Any, _T]]) -> _T:
        """A read that runs to its end even if its caller is cancelled.

        psycopg answers a cancellation in the middle of a query by closing the connection (the
        pool then opens another): a follower that leaves mid-read would cost a reconnection.
        """
        task = asyncio.create_task(self._run(operation))
        self._writes.add(task)
        task.add_done_callback(self._written)
        return await asyncio.shield(task)

    def _written(self, task: asyncio.Task[Any]) -> None:
        self._writes.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a cancelled caller no longer awaits it

    async def _renew(self) -> None:
        """Keep this worker's lease; a failed renewal is retried at the next period."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)  # a period, not a synchronisation
            try:
                await self.renew_lease()
            except StoreError:
                _log.warning("could not renew the worker lease on the %s", self._where)

    async def renew_lease(self) -> None:
        """Extend this worker's lease by ``lease_seconds`` from now (the database's clock)."""
        await self._run(lambda conn: ops.register(conn, self.worker_id, self.lease_seconds))

    # -- the ResponseStore protocol -----------------------------------------------------------

    async def create(self, new: NewResponse) -> StoredResponse:
        """Store a response that has just been created, owned by this worker."""
        record = new_record(new, self._limits)
        await self._write(new.id, lambda conn: ops.insert(conn, record, self.worker_id))
        return record

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        """Append a gapless batch in one transaction; past the bound the oldest events go."""
        now = self._clock()
        await self._write(
            response_id, lambda conn: ops.append(conn, response_id, events, self._limits, now)
        )

    async def finish(
        self, response_id: str, outcome: ResponseOutcome, *, events: tuple[StoredEvent, ...] = ()
    ) -> StoredResponse:
        """Record how an active response ended, and its last events, in one transaction."""
        now = self._clock()
        return await self._write(
            response_id,
            lambda conn: ops.finish(conn, response_id, outcome, events, self._limits, now),
        )

    async def unfinished(self) -> tuple[str, ...]:
        """Active responses of this worker, and of workers whose lease ran out."""
        now = self._clock()
        return await self._read(lambda conn: ops.unfinished(conn, self.worker_id, now))

    async def mark_cancelled(self, response_id: str) -> StoredResponse:
        """Cancel an active response; a cancelled one is returned unchanged."""
        now = self._clock()
        return await self._write(response_id, lambda conn: ops.cancel(conn, response_id, now))

    async def get(self, response_id: str) -> StoredResponse:
        """The stored response; :class:`~antiphon.ResponseNotFound` if absent or expired."""
        now = self._clock()
        return await self._read(lambda conn: ops.get(conn, response_id, now))

    async def events(
        self, response_id: str, *, starting_after: int = -1, limit: int = 1000
    ) -> EventReplay:
        """Up to ``limit`` retained events after ``starting_after``, and how many were lost."""
        now = self._clock()
        return await self._read(
            lambda conn: ops.replay(conn, response_id, starting_after, limit, now)
        )

    async def input_items(self, response_id: str, query: ItemQuery) -> ItemPage:
        """A page of the response's input items."""
        record = await self.get(response_id)
        return page_items(response_id, record.input_items, query)

    async def chain(self, response_id: str) -> tuple[ConversationSegment, ...]:
        """The conversation ending with ``response_id``, oldest response first."""
        now, depth = self._clock(), self._limits.max_chain_depth
        return await self._read(lambda conn: ops.chain(conn, response_id, depth, now))

    async def list_responses(self, query: ResponseQuery) -> ResponsePage:
        """A page of the live responses by ``(created_at, id)``; see the protocol."""
        now = self._clock()
        return await self._read(lambda conn: listing.list_responses(conn, query, now))

    async def delete(self, response_id: str) -> bool:
        """Delete a response, its items and its events; whether it existed."""
        now = self._clock()
        return await self._write(response_id, lambda conn: ops.delete(conn, response_id, now))

    async def purge_expired(self, now: float) -> int:
        """Delete every response whose retention ended at or before ``now``."""
        return await self._run(lambda conn: ops.purge(conn, now))

    async def close(self) -> None:
        """Finish the writes under way, give up this worker's lease, close the pool.

        Giving up the lease hands whatever this worker left active to the others at once.
        """
        if self._closed:
            return
        if self._renewal is not None:
            self._renewal.cancel()
            await asyncio.wait({self._renewal})
        if self._writes:
            await asyncio.wait(set(self._writes))
        try:
            await self._run(lambda conn: ops.unregister(conn, self.worker_id))
        except StoreError:
            _log.warning("could not give up the worker lease; it runs out by itself")
        self._closed = True
        await self._pool.close()
