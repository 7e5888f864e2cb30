"""One direction of an in-memory connection: a bounded FIFO that can be closed."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Channel"]

T = TypeVar("T")


class Channel(Generic[T]):
    """A bounded single-reader FIFO that can be closed.

    A full channel makes the writer wait (back-pressure, as TCP gives a socket); after
    :meth:`close` writes fail and the reader drains what is left.
    """

    __slots__ = ("_closed", "_items", "_limit", "_readable", "_writable")

    def __init__(self, limit: int) -> None:
        self._items: deque[T] = deque()
        self._limit = limit
        self._closed = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    async def put(self, item: T) -> bool:
        """Append ``item``, waiting for room; ``False`` when the channel is (or gets) closed."""
        while len(self._items) >= self._limit and not self._closed:
            self._writable.clear()
            await self._writable.wait()
        if self._closed:
            return False
        self._items.append(item)
        self._readable.set()
        return True

    async def get(self) -> T | None:
        """The next item, waiting for one; ``None`` once closed and drained."""
        while not self._items:
            if self._closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        item = self._items.popleft()
        self._writable.set()
        return item

    def close(self) -> None:
        """Refuse further writes and wake every waiter; idempotent."""
        self._closed = True
        self._readable.set()
        self._writable.set()
