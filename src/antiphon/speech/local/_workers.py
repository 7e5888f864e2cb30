"""Blocking engines off the event loop: a fixed pool of workers, a bounded backlog, a timeout.

The local engines are CPU-bound C libraries: each call runs on one of a fixed number of worker
threads, or processes for a library that holds the GIL while it works (PocketSphinx: on a thread
it would stall the event loop for the whole decode). Calls beyond the workers wait in a backlog
of fixed size; past it a call fails at once (:class:`~antiphon.exceptions.SpeechError`, "busy")
instead of queueing without end. A thread job that times out or is cancelled sees its ``cancel``
event set and stops at its next check; a process job runs to its end, holding its slot.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

from antiphon.exceptions import SpeechError

__all__ = ["Cancelled", "Workers", "die_with_parent"]

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """In a worker process: be killed when the process that made it dies, however it dies.

    Without this a worker outlives a server that was killed (or exited without closing its
    pool) and keeps its inherited descriptors open: a supervisor reading the server's output
    would wait forever. Linux's parent-death signal does it; elsewhere, nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


class Cancelled(Exception):
    """Raised inside a job that saw its ``cancel`` event: nobody waits for its result."""


class Workers:
    """``workers`` threads (or processes) for ``engine``'s jobs, at most ``backlog`` more waiting.

    Processes are spawned, not forked (forking a threaded process is unsafe), on first use.
    """

    def __init__(self, engine: str, *, workers: int, backlog: int, processes: bool = False) -> None:
        if workers < 1 or backlog < 0:
            raise ValueError("a worker pool needs a worker and a non-negative backlog")
        self.engine = engine
        self.workers = workers
        self._limit = workers + backlog
        self._lock = threading.Lock()
        self._in_flight = 0
        self._executor: Executor = (
            ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
            if processes
            else ThreadPoolExecutor(max_workers=workers, thread_name_prefix=engine)
        )

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
        """``job(cancel)`` on a worker thread; its result (see :meth:`call`)."""
        cancel = threading.Event()

        def work() -> T:
            if cancel.is_set():  # abandoned while it waited for a thread
                raise Cancelled
            return job(cancel)

        return await self.call(work, limit=limit, abandon=cancel.set)

    async def call(
        self, job: Callable[[], T], *, limit: float | None, abandon: Callable[[], object] = int
    ) -> T:
        """``job()`` on a worker (picklable for processes); its result.

        ``abandon`` runs when the call ends, finished or not. Raises
        :class:`~antiphon.exceptions.SpeechError` when the pool is full, after ``limit``
        seconds (waiting included), or wrapping the job's own failure.
        """
        with self._lock:
            if self._in_flight >= self._limit:
                raise SpeechError(
                    f"busy: {self._in_flight} requests in flight (limit {self._limit})",
                    engine=self.engine,
                )
            self._in_flight += 1
        try:
            future = self._executor.submit(job)
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
            abandon()  # a no-op for a finished job; stops a running thread job at its next check

    def close(self) -> None:
        """Drop waiting jobs and let the workers end after their current job."""
        self._executor.shutdown(wait=False, cancel_futures=True)
