"""A response being generated: its task's body, its event log, and the clients following it.

A :class:`LiveRun` owns the ledger and turn loop of one response. Its :meth:`execute` runs as a
task owned by the service's task group: it serialises every event once (the same JSON text goes
to every follower and to the store), appends it to a bounded in-memory log, wakes followers, and
writes the store in batches (when the response is created, every ``flush_every`` events, and when
it ends). Those writes run beside the stream, one at a time, and the stream never waits for them:
a slow store costs latency only at the end, where the outcome must be stored before it is
announced. Followers (:meth:`follow`) read the log from any sequence number and wait on a
future that publishing resolves, never on a timer. Cancelling the task cancels the upstream
request; the response then ends ``cancelled`` and is stored so, with the write shielded and
time-bounded.

How a stored response ended is written before it is announced: the outcome and the last events
(the terminal one included) are committed in one write, and only then does the terminal event
reach followers or a ``GET`` show the final status. When the store refuses the response (a
record over its size limit, a failed write), nobody is told it ``completed``: the response ends
``failed`` with an error saying it could not be stored, and that (without its output, so that it
fits) is what the store keeps when it still can.

Store writes survive a cancelled run: events handed to the store stay pending until it took
them (a retry repeats them, and the store skips what it already has), and the record's creation
is awaited shielded, so a client that disconnects mid-write never leaves a record behind that
its run believes was never made.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from openai.types.responses import (
    Response,
    ResponseError,
    ResponseFailedEvent,
    ResponseStreamEvent,
)

from antiphon.exceptions import StoreError, StoreLimitError, StoreStateError, StreamLimitError
from antiphon.responses._follow import Keepalive, Waiters
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
        # Followers wait on futures that publishing resolves (see _follow). Everything runs on
        # one loop, so no lock is needed around the log.
        self._waiters = Waiters()
        self.finished = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._started = False
        self._cancel_requested = False
        self._created: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushing.set_result(None)  # no write in flight
        # The end of the response: its terminal batch, whether the store has its outcome and
        # whether followers heard it. A cancellation may come between these steps.
        self._terminal: list[ResponseStreamEvent] | None = None
        self._outcome_stored = False
        self._announced = False
        self._store_error: StoreError | None = None
        self._final: Response | None = None  # set when the store refused the response
        self._record: NewResponse | None = None  # built by record_size, for _create_record

    @property
    def id(self) -> str:
        """The response id."""
        return self.ledger.id

    @property
    def background(self) -> bool:
        """Whether the run goes on when its client leaves."""
        return self._storage.background

    def record_size(self) -> int:
        """Bytes of the record the store is asked to create (0 for ``store: false``)."""
        if self._storage.store is None:
            return 0
        # Kept for the creation, which follows before the run changes anything: the record's
        # JSON (the whole response) is serialised once per request, not twice.
        self._record = self._new_record()
        return self._record.size

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
            async with aclosing(self.loop.events()) as batches:
                async for batch in batches:
                    if self.ledger.closed:
                        self._terminal = batch
                        break
                    await self._publish(batch)
                    if self._store_error is not None:
                        # The store refused the response: generating more of it is wasted work.
                        self.ledger.fail(_unstorable(self._store_error))
                        self._terminal = self.ledger.drain()
                        break
            await self._end()
        except asyncio.CancelledError:
            await asyncio.shield(self._end_cancelled())
            raise
        except Exception:  # one broken run must not take the task group down
            _log.exception("response %s failed unexpectedly", self.id)
            await asyncio.shield(self._end_cancelled())
        finally:
            if not self._created.done():  # owned here: never left running past the run
                self._created.cancel()
            await asyncio.wait({self._created, self._flushing})
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
        keepalive_timer = Keepalive(keepalive) if keepalive is not None else None
        try:
            while True:
                idle = False
                while next_seq >= self._first_seq + len(self._log) and not self.finished.is_set():
                    waiter = self._waiters.future()
                    if keepalive_timer is not None:
                        keepalive_timer.watch(waiter)
                    if not await waiter:  # the keep-alive period passed without an event
                        self._waiters.discard(waiter)
                        idle = True
                        break
                if next_seq < self._first_seq:
                    # The follower fell behind the bounded log: say so rather than skip events.
                    raise StreamLimitError(
                        "live event log", limit=self._max_live, size=self._first_seq
                    )
                batch = self._log[next_seq - self._first_seq :]
                if batch or idle:
                    yield batch
                    if keepalive_timer is not None:
                        keepalive_timer.touch()
                next_seq += len(batch)
                if self.finished.is_set() and next_seq >= self._first_seq + len(self._log):
                    return
        finally:
            if keepalive_timer is not None:
                keepalive_timer.close()

    def final_response(self) -> Response:
        """The response as it stands (final once :attr:`finished` is set).

        A stored run's final status shows only once it is stored and announced: until then the
        response still reads ``in_progress``.
        """
        if self._final is not None:
            return self._final
        response = self.ledger.response
        if self.ledger.closed and not self._announced and self._storage.store is not None:
            return response.model_copy(update={"status": "in_progress", "completed_at": None})
        return response

    async def _publish(self, batch: list[ResponseStreamEvent]) -> None:
        self._append(batch)
        if len(self._pending) < self._storage.flush_every:
            return
        if not self._created.done():
            # The first write needs the record. Waiting for its creation here costs nothing
            # with a real upstream (its first tokens take longer), and a refusal then stops
            # the response before more of it is generated.
            await asyncio.wait({self._created})
        self._check_created()
        if self._store_error is None and self._flushing.done():
            # In the background: the stream never waits for an append. One write at a time;
            # what arrives meanwhile goes with the next one (or with the end).
            self._flushing = asyncio.create_task(self._flush())

    def _check_created(self) -> None:
        created = self._created
        if not created.done() or created.cancelled() or self._store_error is not None:
            return
        if isinstance(error := created.exception(), StoreError):
            self._store_error = error  # refused: stop before generating more

    async def _flushed(self) -> None:
        """Wait for the background write in flight, if any (it goes on if this is cancelled)."""
        if not self._flushing.done():
            await asyncio.shield(self._flushing)

    def _append(self, batch: list[ResponseStreamEvent], *, stored: bool = False) -> None:
        """Log the batch for followers (and, unless ``stored``, the store); wake followers."""
        if not batch:
            return
        for event in batch:
            data = dump_json(event)
            self._log.append((event.type, data))
            if not stored:
                self._pending.append(StoredEvent(event.sequence_number, data))
        excess = len(self._log) - self._max_live
        if excess > self._max_live // 4:  # trim in steps: amortised O(1) per event
            del self._log[:excess]
            self._first_seq += excess
        self._wake()

    def _wake(self) -> None:
        self._waiters.wake()

    async def _flush(self) -> None:
        """Write the pending events; a store failure is kept in ``_store_error``, not raised."""
        store = self._storage.store
        if store is None or self._store_error is not None:
            self._pending.clear()
            return
        try:
            # The record first; a failure to write it surfaces here. Shielded: a cancelled run
            # must not cancel the creation (the store may already have the record).
            await asyncio.shield(self._created)
            # What arrived during a write goes with the next one, now: a quiet upstream must
            # not hold events back (other workers' followers read them from the store).
            while pending := tuple(self._pending):
                # Pending until the store took them: a cancelled call is retried whole.
                await store.append_events(self.id, pending)
                del self._pending[: len(pending)]
                if len(self._pending) < self._storage.flush_every:
                    break
        except StoreError as exc:
            self._store_error = exc
            self._pending.clear()
        except Exception as exc:  # a broken store: the response ends failed, not the server
            _log.exception("the store failed to append the events of response %s", self.id)
            self._store_error = StoreError(f"the store failed: {exc!r}")
            self._pending.clear()

    def _new_record(self) -> NewResponse:
        response = self.ledger.response
        return NewResponse(
            id=self.id,
            created_at=float(response.created_at),
            model=response.model,
            response_json=dump_json(response),
            input_items=self._storage.input_items,
            previous_response_id=self._storage.previous_response_id,
            background=self._storage.background,
            status="queued" if response.status == "queued" else "in_progress",
        )

    async def _create_record(self) -> None:
        store = self._storage.store
        if store is None:
            return
        record, self._record = self._record or self._new_record(), None
        await store.create(record)

    async def _end(self) -> None:
        """Store how the response ended, then announce it (see the module docstring)."""
        terminal = self._terminal or []
        store = self._storage.store
        stored = False
        if store is not None and not self._outcome_stored:
            await self._flushed()  # its events come before the end's
            if self._store_error is None:
                stored = await self._store_end(store, terminal)
            if self._store_error is not None:
                terminal = await self._refused(store, terminal, self._store_error)
            self._outcome_stored = True
            self._terminal = terminal
        if not self._announced:
            self._announced = True
            self._append(terminal, stored=stored)
        await self._flushed()
        await self._flush()

    async def _store_end(self, store: ResponseStore, terminal: list[ResponseStreamEvent]) -> bool:
        """Commit the outcome with every unstored event, the terminal ones included."""
        events = (
            *self._pending,
            *(StoredEvent(event.sequence_number, dump_json(event)) for event in terminal),
        )
        try:
            await asyncio.shield(self._created)
            await store.finish(self.id, self._outcome(), events=events)
        except StoreStateError as exc:
            # An earlier attempt, interrupted by a cancellation, may have got there first.
            try:
                if not (await store.get(self.id)).finished:
                    self._store_error = exc
                    return False
            except StoreError:
                self._store_error = exc
                return False
        except StoreError as exc:
            self._store_error = exc
            return False
        self._pending.clear()
        return True

    def _outcome(self) -> ResponseOutcome:
        final = self.ledger.response
        outputs = tuple(StoredItem(item.id, dump_json(item.item)) for item in self.ledger.items)
        return ResponseOutcome(
            status=final.status or "completed",
            response_json=dump_json(final),
            output_items=outputs,
            raw_turns=tuple(self.loop.record.raw_turns),
        )

    async def _refused(
        self, store: ResponseStore, terminal: list[ResponseStreamEvent], error: StoreError
    ) -> list[ResponseStreamEvent]:
        """The terminal batch with a ``response.failed`` in place of its end; stores that.

        Logged once, at error level: the response failed because of the store, not its client.
        """
        event = self._failed_end(terminal, error)
        failed, sequence = event.response, event.sequence_number
        created = self._created
        record_exists = created.done() and not created.cancelled() and created.exception() is None
        kept = "the store keeps no record of it"
        if record_exists:
            kept = "stored as failed"
            try:
                # With its terminal event when the log can take it, so replays end too.
                outcome = ResponseOutcome("failed", dump_json(failed))
                stored_event = StoredEvent(sequence, dump_json(event))
                try:
                    await store.finish(self.id, outcome, events=(stored_event,))
                except StoreStateError:  # a gap: the refused events are not in the log
                    await store.finish(self.id, outcome)
            except StoreError as again:
                kept = f"storing its failure failed too ({again}); the server fails it later"
        _log.error("response %s could not be stored: %s; %s", self.id, error, kept)
        self._pending.clear()
        return [*terminal[:-1], event]

    def _failed_end(
        self, terminal: list[ResponseStreamEvent], error: StoreError
    ) -> ResponseFailedEvent:
        """The ``response.failed`` that replaces the end of ``terminal`` (unstored: ``error``)."""
        # Without its output: the output is what made it too large, and nothing of it is kept.
        failed = self.ledger.response.model_copy(
            update={"status": "failed", "output": [], "error": _unstorable(error)}
        )
        self._final = failed
        sequence = terminal[-1].sequence_number if terminal else self.ledger.events_emitted
        return ResponseFailedEvent(
            type="response.failed", response=failed, sequence_number=sequence
        )

    async def _end_cancelled(self) -> None:
        try:
            async with asyncio.timeout(_STORE_WRITE_TIMEOUT):
                if not self.ledger.closed and self.ledger.status is not None:
                    self.ledger.cancel()
                    self._terminal = self.ledger.drain()
                await self._end()
        except Exception as exc:  # the store did not take the end in time
            _log.exception("could not store the end of response %s", self.id)
            if not self._announced:  # followers still hear how it ended
                self._announced = True
                terminal = self._terminal or []
                if self._storage.store is not None and not self._outcome_stored:
                    # Not stored: it must not be announced as it ended (completed, say).
                    error = StoreError(f"the store did not take the end: {exc!r}")
                    terminal = [*terminal[:-1], self._failed_end(terminal, error)]
                self._append(terminal, stored=True)


def _unstorable(error: StoreError) -> ResponseError:
    if isinstance(error, StoreLimitError):
        message = f"The response could not be stored: it passed the store's limit of {error.limit}."
    else:
        message = "The response could not be stored."
    return ResponseError(code="server_error", message=message)
