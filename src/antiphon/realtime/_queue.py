"""The session's bounded event queue and its policy when the application stops reading.

Policy (documented on :class:`~antiphon.realtime.RealtimeSession`):

- *lossy* events (audio chunks, history updates, raw model events; see
  :data:`~antiphon.realtime.events.LOSSY_EVENT_TYPES`) are dropped once ``limit`` events are
  queued, and counted in :attr:`EventQueue.dropped`;
- *control* events are never dropped. Background producers (the transport reader, tool tasks)
  ``await put()``, which waits while the queue is full: backpressure reaches the socket, so memory
  stays bounded by ``limit`` plus one pending event per producer. Calls the application makes
  itself (``interrupt()``, ...) use :meth:`EventQueue.push`, which never waits, because the
  application may be the very task that should drain the queue.

One consumer at a time. :meth:`EventQueue.end` marks the end of the stream: the consumer receives
what is already queued, then ``StopAsyncIteration`` or the error given to ``end``.
"""

from __future__ import annotations

import asyncio
from collections import deque

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.events import LOSSY_EVENT_TYPES, RealtimeSessionEvent

__all__ = ["DEFAULT_MAX_QUEUED_EVENTS", "EventQueue"]

DEFAULT_MAX_QUEUED_EVENTS = 1024
"""About 20 s of 20 ms audio chunks: room for a slow consumer, bounded for a stalled one."""


class EventQueue:
    """A bounded single-consumer queue of session events with an end-of-stream marker."""

    __slots__ = (
        "_dropped",
        "_ended",
        "_error",
        "_items",
        "_limit",
        "_readable",
        "_reading",
        "_space",
    )

    def __init__(self, limit: int = DEFAULT_MAX_QUEUED_EVENTS) -> None:
        if limit < 1:
            raise ConfigurationError(f"max_queued_events must be at least 1, got {limit}")
        self._limit = limit
        self._items: deque[RealtimeSessionEvent] = deque()
        self._readable = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._ended = False
        self._error: BaseException | None = None
        self._dropped = 0
        self._reading = False

    @property
    def dropped(self) -> int:
        """How many lossy events were dropped because the queue was full."""
        return self._dropped

    @property
    def ended(self) -> bool:
        """Whether :meth:`end` was called (queued events may still be waiting to be read)."""
        return self._ended

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, event: RealtimeSessionEvent) -> None:
        """Queue ``event``; drop it instead when it is lossy and the queue is full."""
        if self._ended:
            return
        if len(self._items) >= self._limit and event.type in LOSSY_EVENT_TYPES:
            self._dropped += 1
            return
        self._append(event)

    async def put(self, event: RealtimeSessionEvent) -> None:
        """Queue ``event``, waiting while the queue is full (control events from background)."""
        if event.type in LOSSY_EVENT_TYPES:
            self.offer(event)
            return
        while len(self._items) >= self._limit and not self._ended:
            await self._space.wait()
        if not self._ended:
            self._append(event)

    def push(self, event: RealtimeSessionEvent) -> None:
        """Queue ``event`` now, even past the limit (for calls the application makes itself)."""
        if not self._ended:
            self._append(event)

    def end(self, error: BaseException | None = None) -> None:
        """End the stream after the queued events; the first call wins. Wakes every waiter."""
        if self._ended:
            return
        self._ended = True
        self._error = error
        self._readable.set()
        self._space.set()

    async def get(self) -> RealtimeSessionEvent:
        """The next event; after :meth:`end`, the rest, then ``StopAsyncIteration`` or the error."""
        while not self._items:
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            if self._reading:
                # Two readers would split the stream between them, each seeing half the events.
                raise ConfigurationError("session events are read by one consumer at a time")
            self._readable.clear()
            self._reading = True
            try:
                await self._readable.wait()
            finally:
                self._reading = False
        event = self._items.popleft()
        if len(self._items) < self._limit:
            self._space.set()
        return event

    def _append(self, event: RealtimeSessionEvent) -> None:
        self._items.append(event)
        self._readable.set()
        if len(self._items) >= self._limit:
            self._space.clear()
