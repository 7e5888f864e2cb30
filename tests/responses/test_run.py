"""LiveRun: one response in flight, its bounded event log, its followers, its store writes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from openai.types.responses import ResponseOutputMessage

from antiphon.engines import ScriptedFailure, ScriptedTurn
from antiphon.exceptions import ResponseNotFound, StreamLimitError
from antiphon.responses.run import LiveRun, RunStorage
from antiphon.responses.turn import TurnLoop
from antiphon.store import MemoryStore
from antiphon.store.base import (
    NewResponse,
    StoredEvent,
    StoredItem,
    StoredResponse,
    StoreLimits,
)
from antiphon.wire.ledger import ResponseLedger
from tests.responses.support import check_json_batches, engine, ledger, message, request, turn

_INPUT = (StoredItem("msg_in", '{"type":"message","role":"user","content":"Hello"}'),)
_STALL = turn(message("Thinking it over"), fail=ScriptedFailure("stall", after_events=3))
_TIMEOUT = 10.0


def _run(
    store: MemoryStore | None,
    played: ScriptedTurn,
    *,
    book: ResponseLedger | None = None,
    max_live_events: int = 100_000,
) -> LiveRun:
    """A run of one scripted turn; the store is written every 2 events to exercise batching."""
    book = book or ledger()
    background = book.status == "queued"
    storage = RunStorage(store, _INPUT, None, background=background, flush_every=2)
    loop = TurnLoop(book, engine(played), request())
    return LiveRun(book, loop, storage, max_live_events=max_live_events)


async def _all(batches: AsyncIterator[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    return [batch async for batch in batches]


async def test_a_follower_from_the_start_sees_the_stream_the_store_keeps() -> None:
    store = MemoryStore()
    run = _run(store, turn(message("Hello, world, in many small pieces.")))
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        batches = await _all(run.follow())
    final = check_json_batches(batches)
    assert final.output_text == "Hello, world, in many small pieces."
    stored = await store.get(run.id)
    assert stored.status == "completed"
    assert stored.input_items == _INPUT
    assert [item.id for item in stored.output_items] == [final.output[0].id]
    replay = await store.events(run.id)
    assert [event.data for event in replay.events] == [data for b in batches for _, data in b]
    assert run.final_response().status == "completed"


class _HeldStore(MemoryStore):
    """A store whose event appends wait until released (a slow disk, a busy database)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.appending = asyncio.Event()

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        self.appending.set()
        await self.release.wait()
        await super().append_events(response_id, events)


async def test_the_stream_goes_on_while_the_store_appends() -> None:
    store = _HeldStore()
    text = "Many small pieces, each its own delta, stream past the store."
    run = _run(store, turn(message(text)))
    seen: list[str] = []
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        follower = run.follow()
        while "response.output_text.done" not in seen:
            seen += [kind for kind, _ in await anext(follower)]
        # Every text event reached the follower while the first append still waits.
        assert store.appending.is_set()
        assert not store.release.is_set()
        assert run.final_response().status == "in_progress"  # the end waits for the store
        store.release.set()
        rest = [kind for batch in [b async for b in follower] for kind, _ in batch]
    assert rest[-1] == "response.completed"
    replay = await store.events(run.id)
    assert len(replay.events) == len(seen) + len(rest)
    assert (await store.get(run.id)).status == "completed"


async def test_a_follower_from_the_middle_gets_only_the_rest() -> None:
    run = _run(MemoryStore(), turn(message("Some text to stream.")))
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        everything = [event for batch in await _all(run.follow()) for event in batch]
    rest = [event for batch in await _all(run.follow(starting_after=4)) for event in batch]
    assert rest == everything[5:]
    assert await _all(run.follow(starting_after=len(everything) - 1)) == []


async def test_an_idle_follower_gets_keepalives_until_the_run_is_cancelled() -> None:
    store = MemoryStore()
    run = _run(store, _STALL)
    batches: list[list[tuple[str, str]]] = []
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        async for batch in run.follow(keepalive=0.01):
            if not batch:  # the model is stalled: stop it
                run.cancel()
            batches.append(batch)
    assert [] in batches
    final = check_json_batches([b for b in batches if b])
    assert final.status == "cancelled"
    assert (await store.get(run.id)).status == "cancelled"
    run.cancel()  # a finished run ignores it


async def test_cancelling_mid_item_ends_cancelled_with_the_item_incomplete() -> None:
    store = MemoryStore()
    run = _run(store, _STALL)
    seen: list[list[tuple[str, str]]] = []
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        async for batch in run.follow():
            seen.append(batch)
            if any(kind == "response.output_text.delta" for kind, _ in batch):
                run.cancel()
    final = check_json_batches(seen)
    assert final.status == "cancelled"
    cut = final.output[0]
    assert isinstance(cut, ResponseOutputMessage)
    assert cut.status == "incomplete"
    stored = await store.get(run.id)
    assert stored.status == "cancelled"
    assert len(stored.output_items) == 1


async def test_a_run_cancelled_before_its_task_starts_still_ends_cancelled_and_stored() -> None:
    store = MemoryStore()
    run = _run(store, turn(message("Never played.")))
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        run.cancel()  # the task has not taken its first step yet
        final = check_json_batches(await _all(run.follow()))
    assert final.status == "cancelled"
    assert final.output == []
    assert run.task.cancelled()
    assert (await store.get(run.id)).status == "cancelled"


async def test_a_follower_that_lags_behind_the_trimmed_log_is_told() -> None:
    run = _run(None, turn(message("x" * 200)), max_live_events=8)
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        lagging = run.follow()
        first = await anext(lagging)
        assert first[0][0] == "response.created"
        await run.finished.wait()
        with pytest.raises(StreamLimitError, match="live event log"):
            await anext(lagging)
    with pytest.raises(StreamLimitError):
        await _all(run.follow())


async def test_store_false_streams_without_writing() -> None:
    run = _run(None, turn(message("Not kept.")))
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        final = check_json_batches(await _all(run.follow()))
    assert final.output_text == "Not kept."
    assert not run.background


async def test_a_background_run_is_stored_queued_then_completed() -> None:
    store = MemoryStore()
    queued = ledger(started=False)
    queued.enqueue()
    run = _run(store, turn(message("Done.")), book=queued)
    assert run.background
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        final = check_json_batches(await _all(run.follow()))
    assert final.status == "completed"
    assert (await store.get(run.id)).background


async def test_a_response_the_store_refuses_ends_failed_never_completed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore(StoreLimits(max_responses=1))
    await store.create(
        NewResponse("resp_other", time.time(), "m", "{}")
    )  # live: it cannot be evicted
    run = _run(store, turn(message("Never stored.")))
    with caplog.at_level(logging.WARNING, logger="antiphon.responses"):
        async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
            run.task = group.create_task(run.execute())
            final = check_json_batches(await _all(run.follow()))
    assert final.status == "failed"
    assert final.error is not None
    assert final.error.message.startswith("The response could not be stored")
    assert run.final_response().status == "failed"
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith(f"response {run.id} could not be stored") for m in messages)
    with pytest.raises(ResponseNotFound):
        await store.get(run.id)


class _CreationStore(MemoryStore):
    """Keeps the record each ``create`` was given."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[NewResponse] = []

    async def create(self, new: NewResponse) -> StoredResponse:
        self.created.append(new)
        return await super().create(new)


async def test_the_record_created_is_the_one_whose_size_was_checked() -> None:
    store = _CreationStore()
    run = _run(store, turn(message("Checked, then created.")))
    size = run.record_size()
    async with asyncio.timeout(_TIMEOUT), asyncio.TaskGroup() as group:
        run.task = group.create_task(run.execute())
        await run.finished.wait()
    (created,) = store.created
    assert created.size == size
    assert created.id == run.id
    assert created.status == "in_progress"
    assert (await store.get(run.id)).status == "completed"
