"""``antiphon serve --workers N``: N processes accepting on one socket the parent bound.

The parent binds the socket, forks the workers (each runs its own uvicorn server, event loop,
store pool and engines on the inherited socket; the kernel spreads connections among them) and
supervises: once every worker has started it prints the readiness line; a worker that dies is
replaced; SIGTERM or SIGINT is passed on to every worker, which shuts down gracefully (stops
accepting, lets its runs finish, hands the rest over), and the parent exits when they have.
Workers die with the parent, however it dies (Linux's parent-death signal), so a killed
supervisor leaves no worker behind. Responses are shared through PostgreSQL (the settings
refuse several workers on any other store).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Final

__all__ = ["supervise"]

_log = logging.getLogger("antiphon.server")
_PR_SET_PDEATHSIG: Final = 1
#: Seconds every worker has to start before the supervisor gives up.
_START_SECONDS: Final = 120.0
#: A worker that dies sooner than this after it started is not restarted (it would loop).
_MIN_LIFETIME: Final = 5.0

#: Runs one worker's server on the socket; calls its argument once the worker accepts.
WorkerMain = Callable[[socket.socket, Callable[[], None]], int]


def supervise(
    count: int, sock: socket.socket, url: str, ready_prefix: str, main: WorkerMain
) -> int:
    """Run ``count`` workers until SIGTERM/SIGINT; the exit status."""
    ready_read, ready_write = os.pipe()
    workers: dict[int, float] = {}
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            os.close(ready_read)
            _worker(sock, ready_write, main)
        workers[pid] = time.monotonic()

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            _signal(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(count):
            spawn()
        if not _await_ready(ready_read, count, workers):
            stop(signal.SIGTERM, None)
        else:
            _log.info("%d workers serve %s", count, url)
            print(f"{ready_prefix}{url}", flush=True)
        status = 0
        while workers:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            started = workers.pop(pid, None)
            if started is None:
                continue
            code = os.waitstatus_to_exitcode(wait_status)
            if stopping:
                continue
            if time.monotonic() - started < _MIN_LIFETIME:
                _log.error("worker %d exited at start-up (%d); stopping", pid, code)
                status = 1
                stop(signal.SIGTERM, None)
                continue
            _log.error("worker %d died (%d); starting another", pid, code)
            spawn()
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(ready_read)
        os.close(ready_write)


def _await_ready(ready_read: int, count: int, workers: dict[int, float]) -> bool:
    """Read one byte per worker from the pipe; ``False`` when one exits or time runs out."""
    deadline = time.monotonic() + _START_SECONDS
    seen = 0
    while seen < count:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        readable, _, _ = select.select([ready_read], [], [], min(left, 1.0))
        if readable:
            seen += len(os.read(ready_read, count - seen))
            continue
        for pid in list(workers):  # a worker that failed to start never writes
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                workers.pop(pid)
                return False
    return True


def _worker(sock: socket.socket, ready_write: int, main: WorkerMain) -> None:
    """The body of a forked worker: default signals, die with the parent, serve, exit."""
    status = 1
    try:
        parent = os.getppid()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

        def ready() -> None:
            os.write(ready_write, b"r")

        status = main(sock, ready)
    except BaseException:
        _log.exception("worker failed")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.kill(pid, signum)
