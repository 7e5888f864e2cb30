"""A deadline that bounds many awaits of one task with a single timer.

``asyncio.timeout_at`` schedules and cancels a timer each time it is entered. A stream that waits
once per token under a response's deadline would pay that (a heap push and a cancelled handle)
for every token, though the deadline is minutes away. :class:`Deadline` is entered around each
wait like ``asyncio.timeout_at``, with the same outcome (a ``TimeoutError`` out of the wait that
was running when the time came, and only that wait), but arms one timer for its whole life.
Time spent outside the guarded waits is never interrupted; the next wait after the deadline
passed raises at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

__all__ = ["Deadline", "aclosing_deadline"]


class Deadline:
    """A point on the loop's clock (``None``: never) guarding the waits it is entered around.

    Use from one task: ``async with deadline: await something()``, as many times as needed,
    then :meth:`close` to drop the timer.
    """

    __slots__ = ("_expired", "_firing", "_handle", "_inside", "_task", "when")

    def __init__(self, when: float | None) -> None:
        self.when = when
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._inside = False
        self._firing = False  # the timer cancelled the task during the current wait
        self._expired = False

    def expired(self) -> bool:
        """Whether the deadline interrupted (or refused) a wait."""
        return self._expired

    async def __aenter__(self) -> Self:
        if self.when is None:
            return self
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = asyncio.current_task()
            self._handle = loop.call_at(self.when, self._on_time)
        if loop.time() >= self.when:
            self._expired = True
            raise TimeoutError
        self._inside = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._inside = False
        if not self._firing:
            return
        self._firing = False
        # Ours, unless someone else cancelled the task too: then theirs goes on.
        cancelled = exc_type is asyncio.CancelledError and self._task is not None
        if cancelled and self._task is not None and self._task.uncancel() == 0:
            self._expired = True
            raise TimeoutError from exc

    def _on_time(self) -> None:
        self._handle = None
        if self._inside and self._task is not None and not self._task.done():
            self._firing = True
            self._task.cancel()

    def close(self) -> None:
        """Drop the timer (the deadline no longer guards anything)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


@asynccontextmanager
async def aclosing_deadline(deadline: Deadline) -> AsyncGenerator[Deadline]:
    """``deadline`` for the block, its timer dropped when the block ends however it ends."""
    try:
        yield deadline
    finally:
        deadline.close()
