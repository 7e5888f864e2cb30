"""An in-process response store (``--store memory``): nothing survives the process.

Bounded twice: each response keeps at most ``max_events_per_response`` events (the newest), and
the store keeps at most ``max_responses`` responses, evicting the least recently used *finished*
one when a new response arrives. When every stored response is still running, creating another
raises :class:`~antiphon.StoreLimitError` instead of dropping a live one. All work happens on the
event loop without awaiting, so each call is atomic with respect to other tasks.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import islice

from antiphon.exceptions import ResponseNotFound, StoreLimitError, StoreStateError
from antiphon.store import _rules
from antiphon.store.base import (
    ConversationSegment,
    EventReplay,
    ItemPage,
    ItemQuery,
    NewResponse,
    ResponseOutcome,
    ResponsePage,
    ResponseQuery,
    StoredEvent,
    StoredResponse,
    StoreLimits,
)

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Entry:
    record: StoredResponse
    events: deque[StoredEvent]
    next_sequence_number: int = 0


class MemoryStore:
    """A :class:`~antiphon.store.ResponseStore` in a bounded in-process dictionary."""

    def __init__(
        self, limits: StoreLimits | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._limits = limits or StoreLimits()
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    async def create(self, new: NewResponse) -> StoredResponse:
        """Store a new response, evicting the least recently used finished one if full."""
        if new.id in self._entries:
            raise StoreStateError(f"create response {new.id}", expected="a new id", actual="taken")
        record = _rules.new_record(new, self._limits)
        self._make_room()
        maxlen = self._limits.max_events_per_response
        self._entries[new.id] = _Entry(record=record, events=deque(maxlen=maxlen))
        return record

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        """Append a gapless batch; past the bound the oldest events fall out of the log."""
        entry = self._entry(response_id)
        new = self._check_events(entry, events)
        entry.next_sequence_number += len(new)
        entry.events.extend(new)

    async def finish(
        self, response_id: str, outcome: ResponseOutcome, *, events: tuple[StoredEvent, ...] = ()
    ) -> StoredResponse:
        """Record how an active response ended, and its last events (both or neither)."""
        entry = self._entry(response_id)
        record = _rules.finished_record(entry.record, outcome, self._limits)
        new = self._check_events(entry, events)
        entry.record = record
        entry.next_sequence_number += len(new)
        entry.events.extend(new)
        return entry.record

    async def unfinished(self) -> tuple[str, ...]:
        """The ids of every live response still queued or in progress."""
        now = self._clock()
        return tuple(
            key
            for key, entry in self._entries.items()
            if not entry.record.finished and entry.record.expires_at > now
        )

    async def mark_cancelled(self, response_id: str) -> StoredResponse:
        """Cancel an active response; a cancelled one is returned unchanged."""
        entry = self._entry(response_id)
        record = entry.record
        if record.status == "cancelled":
            return record
        _rules.check_active(response_id, "cancel", record.status)
        json_text = _rules.with_status(record.response_json, "cancelled")
        entry.record = replace(record, status="cancelled", response_json=json_text)
        return entry.record

    async def get(self, response_id: str) -> StoredResponse:
        """The stored response; :class:`~antiphon.ResponseNotFound` if absent or expired."""
        return self._entry(response_id).record

    async def events(
        self, response_id: str, *, starting_after: int = -1, limit: int = 1000
    ) -> EventReplay:
        """Up to ``limit`` retained events after ``starting_after``, and how many were lost."""
        entry = self._entry(response_id)
        first = entry.events[0].sequence_number if entry.events else entry.next_sequence_number
        skip = max(0, starting_after + 1 - first)
        selected = tuple(islice(entry.events, skip, skip + limit))
        return EventReplay(
            events=selected,
            dropped=_rules.dropped_events(first, starting_after),
            next_sequence_number=entry.next_sequence_number,
        )

    async def input_items(self, response_id: str, query: ItemQuery) -> ItemPage:
        """A page of the response's input items."""
        record = self._entry(response_id).record
        return _rules.page_items(response_id, record.input_items, query)

    async def chain(self, response_id: str) -> tuple[ConversationSegment, ...]:
        """The conversation ending with ``response_id``, oldest response first."""
        return _rules.walk_chain(response_id, self._load, self._limits.max_chain_depth)

    async def list_responses(self, query: ResponseQuery) -> ResponsePage:
        """A page of the live responses by ``(created_at, id)``; see the protocol."""
        now = self._clock()
        live = [e.record for e in self._entries.values() if e.record.expires_at > now]
        live.sort(key=lambda r: (r.created_at, r.id), reverse=query.order == "desc")
        start = 0
        if query.after is not None:
            # Not through _entry: a listing must not make a response recently used.
            start = next((n + 1 for n, r in enumerate(live) if r.id == query.after), -1)
            if start < 0:
                raise ResponseNotFound(query.after)
        chosen = live[start : start + query.limit + 1]
        return _rules.page_responses([_rules.summary(r) for r in chosen], query)

    async def delete(self, response_id: str) -> bool:
        """Delete a response and its events; whether it existed (and had not expired)."""
        if self._load(response_id) is None:
            return False
        del self._entries[response_id]
        return True

    async def purge_expired(self, now: float) -> int:
        """Delete every response whose retention ended at or before ``now``."""
        return self._drop_expired(now)

    async def close(self) -> None:
        """Drop everything: an in-memory store keeps nothing past its life."""
        self._entries.clear()

    def _load(self, response_id: str) -> StoredResponse | None:
        entry = self._entries.get(response_id)
        if entry is None or entry.record.expires_at <= self._clock():
            return None
        self._entries.move_to_end(response_id)
        return entry.record

    def _entry(self, response_id: str) -> _Entry:
        if self._load(response_id) is None:
            raise ResponseNotFound(response_id)
        return self._entries[response_id]

    def _check_events(
        self, entry: _Entry, events: tuple[StoredEvent, ...]
    ) -> tuple[StoredEvent, ...]:
        new = _rules.unstored(entry.next_sequence_number, events)
        _rules.check_batch(
            entry.record.id, entry.next_sequence_number, new, self._limits.max_response_bytes
        )
        return new

    def _make_room(self) -> None:
        limit = self._limits.max_responses
        if len(self._entries) >= limit:
            self._drop_expired(self._clock())
        if len(self._entries) < limit:
            return
        # Least recently used first; a running response is never evicted.
        victim = next((k for k, e in self._entries.items() if e.record.finished), None)
        if victim is None:
            raise StoreLimitError("running responses in memory", limit=limit, size=limit + 1)
        del self._entries[victim]

    def _drop_expired(self, now: float) -> int:
        expired = [key for key, entry in self._entries.items() if entry.record.expires_at <= now]
        for key in expired:
            del self._entries[key]
        return len(expired)
