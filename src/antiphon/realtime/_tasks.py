"""The owner of every task a session starts: a tracked set, cancelled and awaited on close.

``asyncio.TaskGroup`` would cancel the whole session when one tool fails and cannot be entered
from ``__aenter__`` and left from another task's ``close()``; this owner keeps the same promise
(no task outlives the session, none is forgotten) with an explicit :meth:`TaskOwner.shutdown`.
A task that dies with an unexpected exception is reported to ``on_crash``: tool and guardrail
failures are handled inside their tasks, so a crash here is a bug and ends the session loudly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine

from antiphon.exceptions import ProtocolError

__all__ = ["TaskOwner"]


class TaskOwner:
    """Starts, tracks, cancels and awaits the background tasks of one session."""

    __slots__ = ("_closed", "_on_crash", "_tasks")

    def __init__(self, on_crash: Callable[[BaseException], None]) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_crash = on_crash
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[object, object, None], *, name: str) -> asyncio.Task[None]:
        """Start ``coro`` as a task owned by this session."""
        if self._closed:
            coro.close()
            raise ProtocolError(f"cannot start task {name!r}: expected an open owner, found closed")
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._on_crash(error)

    async def shutdown(self, *, grace: float) -> None:
        """Refuse new tasks, cancel all but the caller's, and wait up to ``grace`` seconds."""
        self._closed = True
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current]
        for task in others:
            task.cancel()
        if others:
            # Tasks swallow nothing but their own cancellation; a task that ignores it is left
            # to the event loop after the deadline rather than hanging close() forever.
            await asyncio.wait(others, timeout=grace)
