"""Run cells in one persistent namespace, like a notebook kernel, with bounded captured output.

Each cell is compiled in ``exec`` mode; when its last statement is an expression it is evaluated
separately and its ``repr`` printed, as IPython does. ``sys.stdout`` and ``sys.stderr`` both feed
one :class:`OutputSink`, so the two streams interleave in the order they were written. CPU and
wall-clock limits interrupt a cell by raising :class:`TimeLimitExceeded` from a signal handler,
which keeps the namespace alive; the server's own deadline backs this up by killing the process.
"""

from __future__ import annotations

import ast
import builtins
import io
import linecache
import math
import os
import resource
import signal
import sys
import traceback
from contextlib import AbstractContextManager, nullcontext
from types import FrameType

__all__ = ["LimitGuard", "OutputSink", "Session", "TimeLimitExceeded"]

_MAX_ERROR_CHARS = 16_384
_WORKER_DIR = os.path.dirname(os.path.abspath(__file__))


class TimeLimitExceeded(BaseException):
    """A cell ran past its CPU or wall-clock limit.

    A BaseException, so the user's ``except Exception`` cannot swallow it.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# Shown to the user by its bare name, like a built-in exception.
TimeLimitExceeded.__module__ = "builtins"


class OutputSink(io.TextIOBase):
    """A text stream keeping the first ``limit`` UTF-8 bytes written to it and counting the rest."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._size = 0
        self._parts: list[str] = []
        self.truncated = False

    def writable(self) -> bool:
        """Always writable."""
        return True

    def write(self, s: str) -> int:
        """Keep what fits in the budget; mark the sink truncated when something did not."""
        data = s.encode(errors="replace")
        room = self._limit - self._size
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        if data:
            self._parts.append(data.decode(errors="ignore"))
            self._size += len(data)
        return len(s)

    def text(self) -> str:
        """Everything kept so far."""
        return "".join(self._parts)


class LimitGuard:
    """Arms the per-cell CPU soft limit and wall-clock timer; disarming is idempotent."""

    def __init__(
        self,
        cpu_seconds: int,
        wall_seconds: float,
        gate: AbstractContextManager[None] | None = None,
    ) -> None:
        self._gate = gate or nullcontext()
        self._cpu = cpu_seconds
        self._wall = wall_seconds
        self._armed = False
        signal.signal(signal.SIGXCPU, self._on_signal)
        signal.signal(signal.SIGALRM, self._on_signal)
        # An oversized write must fail with EFBIG, not kill the worker and its state.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed:
            return  # a late signal after the cell finished: nothing to interrupt
        self.disarm()
        if signum == signal.SIGXCPU:
            raise TimeLimitExceeded("cpu", f"CPU time limit of {self._cpu} s exceeded")
        raise TimeLimitExceeded("wall", f"wall-clock limit of {self._wall:g} s exceeded")

    def arm(self) -> None:
        """Allow this cell ``cpu_seconds`` more CPU time and ``wall_seconds`` of real time."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = math.ceil(usage.ru_utime + usage.ru_stime)
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        with self._gate:
            resource.setrlimit(resource.RLIMIT_CPU, (used + self._cpu, hard))
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, self._wall)

    def disarm(self) -> None:
        """Stop the timer and lift the CPU soft limit (safe to call twice)."""
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        with self._gate:
            resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _drop_worker_frames(summary: traceback.TracebackException) -> None:
    # The user should see their cell and the library code it called, never the worker's own.
    frames = [frame for frame in summary.stack if not frame.filename.startswith(_WORKER_DIR)]
    summary.stack = traceback.StackSummary.from_list(frames)
    for linked in (summary.__cause__, summary.__context__):
        if linked is not None:
            _drop_worker_frames(linked)


def _format_error(exc: BaseException) -> str:
    summary = traceback.TracebackException.from_exception(exc)
    _drop_worker_frames(summary)
    text = "".join(summary.format())
    return text if len(text) <= _MAX_ERROR_CHARS else "...\n" + text[-_MAX_ERROR_CHARS:]


class Session:
    """One notebook-like namespace that survives from cell to cell."""

    def __init__(self, guard: LimitGuard) -> None:
        self._guard = guard
        self._namespace: dict[str, object] = {"__name__": "__main__", "__builtins__": builtins}
        self._cells = 0

    def _execute(self, code: str, sink: OutputSink) -> None:
        self._cells += 1
        filename = f"<cell-{self._cells}>"
        # Registering the source lets tracebacks quote the user's lines.
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        tree = ast.parse(code, filename, "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, filename, "exec"), self._namespace)
        if isinstance(last, ast.Expr):
            value = eval(compile(ast.Expression(last.value), filename, "eval"), self._namespace)
            if value is not None:
                self._namespace["_"] = value
                sink.write(repr(value) + "\n")

    def run(self, code: str, sink: OutputSink) -> dict[str, object]:
        """Run one cell; return the error text and the limit flags (output is in ``sink``)."""
        outcome: dict[str, object] = {"error": None, "memory_exceeded": False, "interrupted": None}
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = sink
        try:
            try:
                self._guard.arm()
                self._execute(code, sink)
            finally:
                self._guard.disarm()
        except TimeLimitExceeded as exc:
            outcome.update(error=_format_error(exc), interrupted=exc.kind)
        except MemoryError as exc:
            outcome.update(error=_format_error(exc), memory_exceeded=True)
        except SyntaxError as exc:
            outcome["error"] = "".join(traceback.format_exception_only(type(exc), exc))
        except BaseException as exc:  # the user's exception, SystemExit included, is an answer
            outcome["error"] = _format_error(exc)
        finally:
            sys.stdout, sys.stderr = saved
        return outcome
