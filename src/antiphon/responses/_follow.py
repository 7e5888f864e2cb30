"""Waking the clients that follow a live run, cheaply enough to do once per token.

A run wakes its followers after every batch of events. With one ``asyncio.Event`` per batch and
an ``asyncio.timeout`` around every wait (for the keep-alive comment), each token cost an event
object, a timer scheduled and cancelled, and the waits' bookkeeping. Here a follower waits on a
bare future, and its keep-alive timer is armed once per keep-alive period, not once per wait: it
fires when the period ends and, if the follower yielded something since, re-arms for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Keepalive", "Waiters"]


class Waiters:
    """The futures of the followers waiting for the next batch; :meth:`wake` resolves them."""

    __slots__ = ("_futures", "_loop")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._futures: list[asyncio.Future[bool]] = []

    def future(self) -> asyncio.Future[bool]:
        """A future resolved ``True`` by the next :meth:`wake` (``False``: a keep-alive)."""
        future: asyncio.Future[bool] = self._loop.create_future()
        self._futures.append(future)
        return future

    def wake(self) -> None:
        """Resolve every waiting future (a follower cancelled meanwhile is skipped)."""
        futures, self._futures = self._futures, []
        for future in futures:
            if not future.done():
                future.set_result(True)

    def discard(self, future: asyncio.Future[bool]) -> None:
        """Forget a future that something else resolved (a keep-alive)."""
        with contextlib.suppress(ValueError):
            self._futures.remove(future)


class Keepalive:
    """Resolves a follower's future with ``False`` after ``period`` seconds without output."""

    __slots__ = ("_handle", "_last", "_loop", "_period", "_watched")

    def __init__(self, period: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._period = period
        self._last = self._loop.time()
        self._handle: asyncio.TimerHandle | None = None
        self._watched: asyncio.Future[bool] | None = None

    def watch(self, future: asyncio.Future[bool]) -> None:
        """Resolve ``future`` with ``False`` if the period ends before anything is yielded."""
        self._watched = future
        if self._handle is None:
            self._handle = self._loop.call_at(self._last + self._period, self._on_time)

    def touch(self) -> None:
        """Something was yielded: the period starts again (the timer re-arms lazily)."""
        self._last = self._loop.time()

    def _on_time(self) -> None:
        due = self._last + self._period
        if self._loop.time() < due:  # output since the timer was armed: wait for the rest
            self._handle = self._loop.call_at(due, self._on_time)
            return
        self._handle = None
        watched, self._watched = self._watched, None
        if watched is not None and not watched.done():
            watched.set_result(False)

    def close(self) -> None:
        """Drop the timer."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
