"""A response being generated: its task's body, its event log, and the clients following it.

A :class:`LiveRun` owns the ledger and turn loop of one response. Its :meth:`execute` runs as a
task owned by the service's task group: it serialises every event once (the same JSON text goes
to every follower and to the store), appends it to a bounded in-memory log, wakes followers, and
writes the store in batches (when the response is created, every ``flush_every`` events, and when
it ends). Followers (:meth:`follow`) read the log from any sequence number and wait on a
condition, never on a timer. Cancelling the task cancels the upstream request; the response then
ends ``cancelled`` and is stored so, with the write shielded and time-bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from openai.types.responses import Response, ResponseStreamEvent

from antiphon.exceptions import StreamLimitError
from antiphon.responses.turn import TurnLoop
from antiphon.store.base import NewResponse, ResponseOutcome, ResponseStore, StoredEvent, StoredItem
from antiphon.wire.json import dump_json
from antiphon.wire.ledger import ResponseLedger

__all__ = ["LiveRun", "RunStorage"]

_log = logging.getLogger("antiphon.responses")
_STORE_WRITE_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class RunStorage:
    """Where and what a stored run writes; ``None`` store: ``store: false``."""

    store: ResponseStore | None
    input_items: tuple[StoredItem, ...]
    previous_response_id: str | None
    background: bool
    flush_every: int = 64


class LiveRun:
    """One response in flight; see the module docstring."""

    def __init__(
        self,
        ledger: ResponseLedger,
        loop: TurnLoop,
        storage: RunStorage,
        *,
        max_live_events: int = 100_000,
    ) -> None:
        self.ledger = ledger
        self.loop = loop
        self._storage = storage
        self._log: list[tuple[str, str]] = []
        self._max_live = max_live_events
        self._first_seq = 0  # sequence number of self._log[0]
        self._pending: list[StoredEvent] = []
        # Followers wait on the current event; publishing sets it and puts a fresh one in place.
        # Everything runs on one loop, so no lock is needed around the log.
        self._changed = asyncio.Event()
        self.finished = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._started = False
        self._cancel_requested = False
        self._created: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def id(self) -> str:
        """The response id."""
        return self.ledger.id

    @property
    def background(self) -> bool:
        """Whether the run goes on when its client leaves."""
        return self._storage.background

    def cancel(self) -> None:
        """Ask the run to stop; it ends ``cancelled`` (idempotent)."""
        if self.finished.is_set():
            return
        self._cancel_requested = True
        # A task cancelled before its first step never runs its body (nothing would be stored
        # and ``finished`` never set): such a task cancels itself once it starts.
        if self._started and self.task is not None:
            self.task.cancel()

    async def execute(self) -> None:
        """The task body: create, stream, end, store. Never raises except on cancellation."""
        self._started = True
        # The record is written while the upstream request starts: the client's first token
        # does not wait for the store. Events are appended only once it exists (_flush).
        self._created = asyncio.create_task(self._create_record())
        try:
            if self._cancel_requested:
                raise asyncio.CancelledError
            async for batch in self.loop.events():
                await self._publish(batch)
            await self._finish_record()
        except asyncio.CancelledError:
            await asyncio.shield(self._end_cancelled())
            raise
        except Exception:  # one broken run must not take the task group down
            _log.exception("response %s failed unexpectedly", self.id)
            await asyncio.shield(self._end_cancelled())
        finally:
            if not self._created.done():  # owned here: never left running past the run
                self._created.cancel()
            await asyncio.wait({self._created})
            self.finished.set()
            self._wake()

    async def follow(
        self, starting_after: int = -1, *, keepalive: float | None = None
    ) -> AsyncIterator[list[tuple[str, str]]]:
        """Batches of ``(event type, JSON)`` after ``starting_after``, live until the end.

        A batch holds every event that arrived since the follower last looked, so a transport
        can write it at once. With ``keepalive``, an empty batch is yielded whenever that many
        seconds pass without an event. Raises :class:`~antiphon.StreamLimitError` when the
        wanted events already left the bounded log.
        """
        next_seq = starting_after + 1
        while True:
            idle = False
            while next_seq >= self._first_seq + len(self._log) and not self.finished.is_set():
                try:
                    async with asyncio.timeout(keepalive):
                        await self._changed.wait()
                except TimeoutError:
                    idle = True
                    break
            if next_seq < self._first_seq:
                # The follower fell behind the bounded log: say so rather than skip events.
                raise StreamLimitError("live event log", limit=self._max_live, size=self._first_seq)
            batch = self._log[next_seq - self._first_seq :]
            if batch or idle:
                yield batch
            next_seq += len(batch)
            if self.finished.is_set() and next_seq >= self._first_seq + len(self._log):
                return

    def final_response(self) -> Response:
        """The response as it stands (final once :attr:`finished` is set)."""
        return self.ledger.response

    async def _publish(self, batch: list[ResponseStreamEvent]) -> None:
        if not batch:
            return
        for event in batch:
            data = dump_json(event)
            self._log.append((event.type, data))
            self._pending.append(StoredEvent(event.sequence_number, data))
        excess = len(self._log) - self._max_live
        if excess > self._max_live // 4:  # trim in steps: amortised O(1) per event
            del self._log[:excess]
            self._first_seq += excess
        self._wake()
        if len(self._pending) >= self._storage.flush_every:
            await self._flush()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _flush(self) -> None:
        await self._created  # the record first; a failure to write it surfaces here
        pending, self._pending = self._pending, []
        if pending and self._storage.store is not None:
            await self._storage.store.append_events(self.id, tuple(pending))

    async def _create_record(self) -> None:
        store = self._storage.store
        if store is None:
            return
        response = self.ledger.response
        await store.create(
            NewResponse(
                id=self.id,
                created_at=float(response.created_at),
                model=response.model,
                response_json=dump_json(response),
                input_items=self._storage.input_items,
                previous_response_id=self._storage.previous_response_id,
                background=self._storage.background,
                status="queued" if response.status == "queued" else "in_progress",
            )
        )

    async def _finish_record(self) -> None:
        await self._flush()
        store = self._storage.store
        if store is None:
            return
        final = self.ledger.response
        outputs = tuple(StoredItem(item.id, dump_json(item.item)) for item in self.ledger.items)
        await store.finish(
            self.id,
            ResponseOutcome(
                status=final.status or "completed",
                response_json=dump_json(final),
                output_items=outputs,
                raw_turns=tuple(self.loop.record.raw_turns),
            ),
        )

    async def _end_cancelled(self) -> None:
        try:
            async with asyncio.timeout(_STORE_WRITE_TIMEOUT):
                if not self.ledger.closed and self.ledger.status is not None:
                    self.ledger.cancel()
                    # Followers get the terminal event before any store write that may fail.
                    await self._publish(self.ledger.drain())
                await self._finish_record()
        except Exception:  # the response already ended for its clients; log what was not stored
            _log.exception("could not store the end of response %s", self.id)
