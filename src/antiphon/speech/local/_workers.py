"""Blocking engines off the event loop: a fixed pool of threads, a bounded backlog, a timeout.

The local engines are CPU-bound C libraries that release no event loop: each call runs on one of
a fixed number of threads. Calls beyond the threads wait in a backlog of fixed size; past it a
call fails at once (:class:`~antiphon.exceptions.SpeechError`, "busy") instead of queueing
without end. A call that times out or is cancelled sets its job's ``cancel`` event: the job checks
it between pieces of work and stops, so an abandoned job frees its thread promptly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from antiphon.exceptions import SpeechError

__all__ = ["Cancelled", "Workers"]

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a job that saw its ``cancel`` event: nobody waits for its result."""


class Workers:
    """``threads`` threads for ``engine``'s jobs, at most ``backlog`` more waiting."""

    def __init__(self, engine: str, *, threads: int, backlog: int) -> None:
        if threads < 1 or backlog < 0:
            raise ValueError("a worker pool needs a thread and a non-negative backlog")
        self.engine = engine
        self.threads = threads
        self._limit = threads + backlog
        self._lock = threading.Lock()
        self._in_flight = 0
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=engine)

    @property
    def in_flight(self) -> int:
        """Jobs running or waiting for a thread."""
        with self._lock:
            return self._in_flight

    def _finished(self, _: Future[Any]) -> None:
        # Runs when the job ends, fails or is dropped from the queue: its slot is free only then,
        # so a timed-out job still running keeps counting against the bound.
        with self._lock:
            self._in_flight -= 1

    async def run(self, job: Callable[[threading.Event], T], *, limit: float | None) -> T:
        """``job(cancel)`` on a worker thread; its result.

        Raises :class:`~antiphon.exceptions.SpeechError` when the pool is full, after
        ``limit`` seconds (waiting included), or wrapping the job's own failure.
        """
        with self._lock:
            if self._in_flight >= self._limit:
                raise SpeechError(
                    f"busy: {self._in_flight} requests in flight (limit {self._limit})",
                    engine=self.engine,
                )
            self._in_flight += 1
        cancel = threading.Event()

        def work() -> T:
            if cancel.is_set():  # abandoned while it waited for a thread
                raise Cancelled
            return job(cancel)

        try:
            future = self._executor.submit(work)
        except RuntimeError as exc:  # the pool was closed
            with self._lock:
                self._in_flight -= 1
            raise SpeechError(f"closed: {exc}", engine=self.engine) from exc
        future.add_done_callback(self._finished)
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                return await asyncio.wrap_future(future)
        except (SpeechError, Cancelled):
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError) and scope.expired():
                raise SpeechError(f"timed out after {limit} s", engine=self.engine) from None
            raise SpeechError(f"{type(exc).__name__}: {exc}", engine=self.engine) from exc
        finally:
            cancel.set()  # a no-op for a finished job; stops a running one at its next check

    def close(self) -> None:
        """Drop waiting jobs and let the threads end after their current job."""
        self._executor.shutdown(wait=False, cancel_futures=True)
