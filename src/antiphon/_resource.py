"""A base for objects that own a task group (and more) from ``__aenter__`` to ``__aexit__``.

An ``asyncio.TaskGroup`` is meant for ``async with`` around a block; a service that owns one for
its whole lifetime enters it in its own ``__aenter__`` and leaves it in ``__aexit__``. Instead of
calling the group's dunder methods by hand, a subclass of :class:`AsyncResource` enters what it
owns on an :class:`~contextlib.AsyncExitStack` in :meth:`AsyncResource._open`; the stack leaves
it all, in reverse order, on exit, and unwinds what was entered when opening fails half-way.
Imports nothing of antiphon, so every layer may use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

__all__ = ["AsyncResource"]


class AsyncResource(ABC):
    """An async context manager whose resources live on one :class:`AsyncExitStack`.

    Subclasses implement :meth:`_open`: enter their task group with
    ``await stack.enter_async_context(asyncio.TaskGroup())`` and register what must run on exit
    (``stack.callback``, ``stack.push_async_callback``). Callbacks run last-registered first, so
    one registered after the task group runs before the group waits for its tasks (the place to
    cancel them), one registered before it runs after.
    """

    _stack: AsyncExitStack | None = None

    @abstractmethod
    async def _open(self, stack: AsyncExitStack) -> None:
        """Acquire what the object owns, entering it on ``stack``."""

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            await self._open(stack)
            # Opened in full: from here the stack is left in __aexit__, not at this block's end.
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)
