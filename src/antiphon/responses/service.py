"""The Responses service: create, read, follow, cancel and delete responses.

It sits between the HTTP routes and the cores. A create request is checked against the stored
conversation, turned into an engine request and a ledger, and started as a :class:`LiveRun` task
in the service's own task group (so runs outlive the HTTP request that started them when they
are ``background``, and every task still has an owner). Live runs are found in memory; finished
ones in the store.

The service owns what a dead run leaves behind. When it starts, every stored response still
``queued`` or ``in_progress`` belongs to a process that is gone (one server per store for now):
each is finished ``failed`` (``server_error``, "the server restarted"), with a closing
``response.failed`` event in its log so followers end. With ``purge_interval``, a maintenance
task in the service's group then purges expired responses (reclaiming their space) on that
period, and fails stored responses still active with no live run (a run whose end the store
refused to take).

Workers sharing a store (PostgreSQL) pass ``signals``: a response whose run is on another worker
is followed, cancelled and deleted through the store and the signals (:mod:`.remote`), a cancel
request for one of this worker's runs stops it, and with ``takeover_interval`` the runs of dead
workers (the store's :meth:`~antiphon.store.ResponseStore.unfinished` lists them once their lease
ran out) are failed with a restart error on that period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack

from openai.types.responses import Response, ResponseError, ResponseFailedEvent

from antiphon._resource import AsyncResource
from antiphon.exceptions import (
    InvalidRequestError,
    ItemNotFound,
    ResponseNotFound,
    StoreError,
    StoreLimitError,
    StoreStateError,
)
from antiphon.responses.catalog import ModelCatalog
from antiphon.responses.history import normalize_input
from antiphon.responses.observer import NoObserver, RunObserver
from antiphon.responses.plan import TurnLimits, plan_response
from antiphon.responses.remote import RECHECK_SECONDS, await_end, follow_stored
from antiphon.responses.request import CreateResponseBody
from antiphon.responses.run import LiveRun, RunStorage
from antiphon.responses.runtime import ToolRuntime
from antiphon.store.base import (
    ConversationSegment,
    ItemPage,
    ItemQuery,
    ResponseOutcome,
    ResponsePage,
    ResponseQuery,
    ResponseStore,
    StoredEvent,
    StoredResponse,
)
from antiphon.store.signals import ResponseSignals
from antiphon.wire.ids import IdFactory, random_id
from antiphon.wire.json import dump_json

__all__ = ["ResponsesService"]

_log = logging.getLogger("antiphon.responses")
_RESTARTED = "The server restarted before the response finished."
_ABANDONED = "The server could not store how the response ended."
#: How long a cancel or delete waits for another worker to end its run.
_REMOTE_END_SECONDS = 10.0


class ResponsesService(AsyncResource):
    """Owns the live runs; use as ``async with ResponsesService(...) as service``.

    ``models`` resolves the ``model`` of each request; ``max_tool_loops`` caps the model turns
    of one response (each server-side tool round is one more turn). ``max_record_bytes`` is the
    store's limit on one response record: a stored request whose record would already pass it is
    refused with a 413 before it runs, rather than answered and never stored.
    ``response_deadline_seconds`` bounds the time one response takes, all its turns and tool
    calls included (0: no bound); past it the response ends ``failed``. ``observer`` watches each
    run (the server's metrics and traces).
    """

    def __init__(
        self,
        models: ModelCatalog,
        store: ResponseStore,
        *,
        max_tool_loops: int = 16,
        tools: ToolRuntime | None = None,
        ids: IdFactory = random_id,
        clock: Callable[[], float] = time.time,
        max_record_bytes: int | None = None,
        purge_interval: float | None = None,
        response_deadline_seconds: float = 0,
        signals: ResponseSignals | None = None,
        takeover_interval: float | None = None,
        drain_seconds: float = 0.0,
        observer: RunObserver | None = None,
    ) -> None:
        self._models = models
        self._observer = observer or NoObserver()
        self._limits = TurnLimits(max_tool_loops, response_deadline_seconds)
        self._max_record_bytes = max_record_bytes
        self._store = store
        self._tools = tools or ToolRuntime()
        self._ids = ids
        self._clock = clock
        self._runs: dict[str, LiveRun] = {}
        self._group = asyncio.TaskGroup()
        self._purge_interval = purge_interval
        self._maintenance: asyncio.Task[None] | None = None
        self._signals = signals
        self._takeover_interval = takeover_interval
        self._takeover: asyncio.Task[None] | None = None
        self._drain_seconds = drain_seconds

    async def _open(self, stack: AsyncExitStack) -> None:
        await stack.enter_async_context(self._group)
        stack.push_async_callback(self._drain)  # on exit, before the group waits for the runs
        # No run of this service exists yet: whatever is still active in the store is dead.
        failed = await self._fail_abandoned(await self._store.unfinished(), _RESTARTED)
        if failed:
            _log.warning("failed %d responses a previous server left unfinished", failed)
        if self._purge_interval is not None:
            self._maintenance = self._group.create_task(
                self._maintain(self._purge_interval), name="store maintenance"
            )
        if self._signals is not None:
            self._signals.on_cancel(self._cancel_requested)
        if self._takeover_interval is not None:
            self._takeover = self._group.create_task(
                self._take_over(self._takeover_interval), name="run takeover"
            )

    async def _drain(self) -> None:
        """On exit: let the runs finish for ``drain_seconds``, hand the rest over, cancel them.

        Handing over (with signals: other workers follow them) is what a dead worker's runs get:
        failed with the restart error, which their followers anywhere receive.
        """
        tasks = {run.task for run in self._runs.values() if run.task is not None}
        if tasks and self._drain_seconds > 0:
            await asyncio.wait(tasks, timeout=self._drain_seconds)
        if self._signals is not None and self._runs:
            try:
                count = await self._fail_abandoned(list(self._runs), _RESTARTED)
                _log.warning("shutting down: handed over %d unfinished responses", count)
            except StoreError:
                _log.exception("could not hand the unfinished runs over; they end cancelled")
        self._cancel_runs()

    def _cancel_runs(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
        if self._takeover is not None:
            self._takeover.cancel()
        for run in list(self._runs.values()):
            run.cancel()

    # -- what dead runs leave behind ----------------------------------------------------------

    async def _maintain(self, interval: float) -> None:
        """Purge expired responses and fail orphaned ones, every ``interval`` seconds."""
        while True:
            await asyncio.sleep(interval)  # a period, not a synchronisation
            try:
                await self.maintain()
            except StoreError:
                _log.exception("store maintenance failed; next attempt in %g s", interval)

    async def maintain(self) -> tuple[int, int]:
        """One maintenance pass: (expired responses purged, orphaned responses failed)."""
        purged = await self._store.purge_expired(self._clock())
        # A run is registered before its record exists and leaves only once it ended: an
        # active record without a run is one whose end the store refused.
        orphans = [key for key in await self._store.unfinished() if key not in self._runs]
        failed = await self._fail_abandoned(orphans, _ABANDONED)
        if failed:
            _log.warning("failed %d responses whose run ended before its record", failed)
        return purged, failed

    async def _take_over(self, interval: float) -> None:
        """Fail the runs of dead workers, every ``interval`` seconds."""
        while True:
            await asyncio.sleep(interval)  # a period, not a synchronisation
            try:
                await self.take_over()
            except StoreError:
                _log.exception("taking over dead workers' runs failed; next in %g s", interval)

    async def take_over(self) -> int:
        """Fail the active responses no live run of this worker holds: those of dead workers."""
        orphans = [key for key in await self._store.unfinished() if key not in self._runs]
        failed = await self._fail_abandoned(orphans, _RESTARTED)
        if failed:
            _log.warning("failed %d responses of workers that stopped", failed)
        return failed

    def _cancel_requested(self, response_id: str) -> None:
        """Another worker was asked to cancel or delete one of this worker's runs."""
        run = self._runs.get(response_id)
        if run is not None:
            run.cancel()

    async def _fail_abandoned(self, response_ids: Iterable[str], message: str) -> int:
        """Finish each response ``failed`` with a closing event; how many were finished."""
        count = 0
        for response_id in response_ids:
            try:
                record = await self._store.get(response_id)
                if record.finished:
                    continue
                log = await self._store.events(response_id, limit=1)
                response = Response.model_validate_json(record.response_json)
            except ResponseNotFound:
                continue
            except ValueError:
                _log.exception("stored response %s cannot be read; left as it is", response_id)
                continue
            failed = response.model_copy(
                update={
                    "status": "failed",
                    "error": ResponseError(code="server_error", message=message),
                }
            )
            sequence = log.next_sequence_number
            event = ResponseFailedEvent(
                type="response.failed", response=failed, sequence_number=sequence
            )
            try:
                await self._store.finish(
                    response_id,
                    ResponseOutcome("failed", dump_json(failed)),
                    events=(StoredEvent(sequence, dump_json(event)),),
                )
            except (ResponseNotFound, StoreStateError):
                continue  # deleted, expired or finished meanwhile
            count += 1
        return count

    # -- create ------------------------------------------------------------------------------

    async def create(self, body: CreateResponseBody) -> LiveRun:
        """Start a response; raises :class:`InvalidRequestError` for what cannot run."""
        served = await self._models.resolve(body.model)
        if served is None:
            raise InvalidRequestError(
                f"The model '{body.model}' does not exist.",
                param="model",
                code="model_not_found",
                status=404,
            )
        chain = await self._chain(body.previous_response_id)
        new_input = normalize_input(body, self._ids)
        ledger, loop = plan_response(
            body,
            chain,
            new_input,
            served=served,
            runtime=self._tools,
            ids=self._ids,
            clock=self._clock,
            limits=self._limits,
        )
        if body.background:
            ledger.enqueue()
        else:
            ledger.start()
        storage = RunStorage(
            store=self._store if body.store else None,
            input_items=new_input,
            previous_response_id=body.previous_response_id,
            background=body.background,
            # Other workers follow through the store: each batch is written as it comes.
            flush_every=1 if self._signals is not None else 64,
        )
        run = LiveRun(ledger, loop, storage)
        if body.store and self._max_record_bytes is not None:
            size = run.record_size()
            if size > self._max_record_bytes:
                raise InvalidRequestError(
                    f"This request would be stored as {size} bytes; the store's limit for one "
                    f"response is {self._max_record_bytes}. Send less input, or store=false.",
                    param="input",
                    code="request_too_large",
                    status=413,
                )
        if body.store:
            self._runs[run.id] = run
        run.task = self._group.create_task(self._execute(run), name=f"response {run.id}")
        if body.store and self._signals is not None:
            await self._until_recorded(run)
        return run

    async def _until_recorded(self, run: LiveRun) -> None:
        """Wait until the run's record exists, so any worker finds the id it is answered with.

        Also what makes a response acknowledged to a client survive this worker's death.
        """
        assert self._signals is not None
        # Entered before the run's task first runs: the creation's signal cannot be missed.
        async with self._signals.watch(run.id) as watch:
            while not run.finished.is_set():
                try:
                    await self._store.get(run.id)
                    return
                except ResponseNotFound:
                    await watch.wait(RECHECK_SECONDS)

    async def _execute(self, run: LiveRun) -> None:
        try:
            with self._observer.running(run.id, run.ledger.response.model):
                try:
                    await run.execute()
                finally:  # inside the run's context: a trace's span takes the final status
                    self._observer.finished(run.final_response().status or "completed")
        finally:
            self._runs.pop(run.id, None)

    async def _chain(self, previous: str | None) -> tuple[ConversationSegment, ...]:
        if previous is None:
            return ()
        live = self._runs.get(previous)
        if live is not None and not live.finished.is_set():
            raise InvalidRequestError(
                f"Previous response '{previous}' is still in progress.",
                param="previous_response_id",
            )
        try:
            return await self._store.chain(previous)
        except ResponseNotFound as exc:
            raise InvalidRequestError(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
                status=404,
            ) from exc
        except StoreStateError as exc:
            raise InvalidRequestError(
                f"Previous response '{previous}' cannot be continued: {exc}",
                param="previous_response_id",
            ) from exc
        except StoreLimitError as exc:
            raise InvalidRequestError(
                f"The conversation ending at '{previous}' is longer than the store's limit of "
                f"{exc.limit} responses chained through previous_response_id.",
                param="previous_response_id",
                code="conversation_too_long",
            ) from exc

    # -- read ---------------------------------------------------------------------------------

    async def get(self, response_id: str) -> str:
        """The response's current JSON (live runs: their snapshot)."""
        live = self._runs.get(response_id)
        if live is not None:
            return dump_json(live.final_response())
        return (await self._stored(response_id)).response_json

    async def follow(
        self, response_id: str, starting_after: int, *, keepalive: float | None = None
    ) -> AsyncIterator[list[tuple[str, str]]]:
        """Replay (and, while it runs, follow) a response's events in batches; ``[]``: idle."""
        live = self._runs.get(response_id)
        if live is not None:
            async for batch in live.follow(starting_after, keepalive=keepalive):
                yield batch
            return
        await self._stored(response_id)
        # Stored, and live on another worker when there are several.
        async for batch in follow_stored(
            self._store, self._signals, response_id, starting_after, keepalive=keepalive
        ):
            yield batch

    async def input_items(self, response_id: str, query: ItemQuery) -> ItemPage:
        """A page of the response's input items."""
        await self._stored(response_id)
        try:
            return await self._store.input_items(response_id, query)
        except ItemNotFound as exc:
            raise InvalidRequestError(
                f"No input item '{query.after}' in response '{response_id}'.", param="after"
            ) from exc

    async def list_responses(self, query: ResponseQuery) -> ResponsePage:
        """A page of the stored responses (an unknown ``after`` cursor is a 400 naming it)."""
        try:
            return await self._store.list_responses(query)
        except ResponseNotFound as exc:
            raise InvalidRequestError(
                f"No stored response '{query.after}' to list after.", param="after"
            ) from exc

    # -- change -------------------------------------------------------------------------------

    async def cancel(self, response_id: str) -> str:
        """Cancel a background response; its JSON afterwards."""
        live = self._runs.get(response_id)
        if live is None:
            stored = await self._stored(response_id)
            if not stored.background:
                raise InvalidRequestError("Cannot cancel a synchronous response.", param=None)
            if not stored.finished and self._signals is not None:
                return (await self._end_elsewhere(response_id)).response_json
            return stored.response_json
        if not live.background:
            raise InvalidRequestError("Cannot cancel a synchronous response.", param=None)
        live.cancel()
        await live.finished.wait()
        return dump_json(live.final_response())

    async def delete(self, response_id: str) -> None:
        """Delete a response (a live one is cancelled first)."""
        live = self._runs.get(response_id)
        if live is not None:
            live.cancel()
            await live.finished.wait()
        elif self._signals is not None:
            try:
                if not (await self._store.get(response_id)).finished:
                    await self._end_elsewhere(response_id)
            except ResponseNotFound as exc:
                raise _not_found(response_id) from exc
        if not await self._store.delete(response_id):
            raise _not_found(response_id)

    async def _end_elsewhere(self, response_id: str) -> StoredResponse:
        """Ask the worker running ``response_id`` to cancel it; the record once it ended."""
        assert self._signals is not None
        try:
            async with self._signals.watch(response_id) as watch:
                await self._signals.request_cancel(response_id)
                return await await_end(self._store, watch, response_id, _REMOTE_END_SECONDS)
        except ResponseNotFound as exc:
            raise _not_found(response_id) from exc

    async def _stored(self, response_id: str) -> StoredResponse:
        try:
            return await self._store.get(response_id)
        except ResponseNotFound as exc:
            raise _not_found(response_id) from exc


def _not_found(response_id: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Response with id '{response_id}' not found.", param=None, code="not_found", status=404
    )
