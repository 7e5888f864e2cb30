""":class:`~antiphon.store.signals.ResponseSignals` across processes: PostgreSQL LISTEN/NOTIFY.

One connection per worker listens on two channels, ``antiphon_changed`` and ``antiphon_cancel``
(the payload is the response id); a task reads its notifications and wakes the local watches or
calls the cancel handler. It sleeps in the socket while nothing happens: no polling. Signals are
sent on a second connection (``NOTIFY`` is delivered at commit, and autocommit commits at once).

When the listening connection breaks, the task reconnects (at most once a second) and wakes
every watch: signals sent meanwhile are lost, so followers re-read the store.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from typing import Final

import psycopg
from psycopg import AsyncConnection

from antiphon.exceptions import StoreError
from antiphon.store.postgres import CHANGED_CHANNEL
from antiphon.store.signals import CancelHandler, Watch, Watchers

__all__ = ["PostgresSignals"]

_log = logging.getLogger("antiphon.store")
_CHANGED: Final = CHANGED_CHANNEL
_CANCEL: Final = "antiphon_cancel"
_RECONNECT_SECONDS: Final = 1.0


class PostgresSignals:
    """Signals through one PostgreSQL database. Build it with :meth:`open`."""

    def __init__(self, url: str, sender: AsyncConnection) -> None:
        self._url = url
        self._sender = sender
        self._send_lock = asyncio.Lock()
        self._watchers = Watchers()
        self._handler: CancelHandler | None = None
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, *, connect_seconds: float = 10.0) -> PostgresSignals:
        """Connect and start listening; returns once the ``LISTEN`` is in place."""
        try:
            sender = await AsyncConnection.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect the signals to PostgreSQL: {exc}") from exc
        signals = cls(url, sender)
        signals._task = asyncio.create_task(signals._listen(), name="antiphon signals")
        try:
            async with asyncio.timeout(connect_seconds):
                await signals._listening.wait()
        except TimeoutError as exc:
            await signals.close()
            raise StoreError("PostgreSQL did not accept the signals' LISTEN in time") from exc
        return signals

    async def _listen(self) -> None:
        while True:
            try:
                async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {_CHANGED}; LISTEN {_CANCEL}".encode())
                    self._listening.set()
                    self._watchers.notify_all()  # a reconnection: what was missed is re-read
                    async for notice in conn.notifies():
                        if notice.channel == _CHANGED:
                            self._watchers.notify(notice.payload)
                        elif notice.channel == _CANCEL and self._handler is not None:
                            self._handler(notice.payload)
            except psycopg.Error:
                _log.warning("the signals' connection to PostgreSQL broke; reconnecting")
            await asyncio.sleep(_RECONNECT_SECONDS)  # a back-off, not a synchronisation

    async def _notify(self, channel: str, response_id: str) -> None:
        try:
            async with self._send_lock:  # one connection: one statement at a time
                await self._sender.execute("SELECT pg_notify(%s, %s)", (channel, response_id))
        except psycopg.Error as exc:
            raise StoreError(f"could not signal {channel} for {response_id}: {exc}") from exc

    async def changed(self, response_id: str) -> None:
        """``NOTIFY antiphon_changed``: every worker's watches on the response wake."""
        await self._notify(_CHANGED, response_id)

    async def request_cancel(self, response_id: str) -> None:
        """``NOTIFY antiphon_cancel``: the worker running the response cancels it."""
        await self._notify(_CANCEL, response_id)

    def watch(self, response_id: str) -> AbstractAsyncContextManager[Watch]:
        """Watch ``response_id`` for changes any worker announces."""
        return self._watchers.watch(response_id)

    def on_cancel(self, handler: CancelHandler) -> None:
        """Set the cancel handler."""
        self._handler = handler

    async def close(self) -> None:
        """Stop listening and close both connections."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None
        await self._sender.close()
