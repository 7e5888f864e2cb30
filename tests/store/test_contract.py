"""The ResponseStore contract: every test runs against the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from openai.types.responses import Response

from antiphon.exceptions import (
    ItemNotFound,
    ResponseNotFound,
    StoreLimitError,
    StoreStateError,
)
from antiphon.store import ItemQuery, ResponseStore, StoredEvent

from .conftest import LIMITS, START, FakeClock, events, item, new_response, outcome


async def test_created_response_reads_back_running_with_its_inputs(store: ResponseStore) -> None:
    created = await store.create(new_response("resp_1", inputs=("a", "b"), background=True))
    got = await store.get("resp_1")
    assert got == created
    assert (got.status, got.finished, got.background) == ("in_progress", False, True)
    assert [i.id for i in got.input_items] == ["resp_1_a", "resp_1_b"]
    assert (got.output_items, got.raw_turns) == ((), ())
    assert got.expires_at == START + LIMITS.retention_seconds


async def test_finish_records_outputs_raw_turns_and_final_json(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    final = outcome("resp_1", text="the answer")
    await store.finish("resp_1", final)
    got = await store.get("resp_1")
    assert (got.status, got.finished) == ("completed", True)
    assert got.output_items == final.output_items
    assert got.raw_turns == ("<|channel|>final<|message|>the answer<|end|>",)
    assert Response.model_validate_json(got.response_json).output_text == "the answer"


async def test_finishing_twice_names_the_expected_and_actual_status(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    await store.finish("resp_1", outcome("resp_1"))
    with pytest.raises(StoreStateError) as caught:
        await store.finish("resp_1", outcome("resp_1", "failed"))
    assert (caught.value.expected, caught.value.actual) == ("queued or in_progress", "completed")
    assert (await store.get("resp_1")).status == "completed"


async def test_creating_an_existing_id_is_refused(store: ResponseStore) -> None:
    await store.create(new_response("resp_1", inputs=("a",)))
    with pytest.raises(StoreStateError, match="expected a new id"):
        await store.create(new_response("resp_1", inputs=("b",)))
    assert [i.id for i in (await store.get("resp_1")).input_items] == ["resp_1_a"]


async def test_every_operation_on_an_unknown_id_raises_response_not_found(
    store: ResponseStore,
) -> None:
    calls = [
        store.get("resp_x"),
        store.events("resp_x"),
        store.append_events("resp_x", events(0, 1)),
        store.finish("resp_x", outcome("resp_x")),
        store.mark_cancelled("resp_x"),
        store.input_items("resp_x", ItemQuery()),
        store.chain("resp_x"),
    ]
    for call in calls:
        with pytest.raises(ResponseNotFound) as caught:
            await call
        assert caught.value.response_id == "resp_x"


async def test_delete_removes_the_response_and_says_whether_it_existed(
    store: ResponseStore,
) -> None:
    await store.create(new_response("resp_1"))
    await store.append_events("resp_1", events(0, 3))
    assert await store.delete("resp_1") is True
    assert await store.delete("resp_1") is False
    with pytest.raises(ResponseNotFound):
        await store.events("resp_1")
    await store.create(new_response("resp_1"))  # the id is free again, with an empty log
    assert (await store.events("resp_1")).events == ()


async def test_events_replay_after_a_sequence_number(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    await store.append_events("resp_1", events(0, 4))
    await store.append_events("resp_1", events(4, 3))
    replay = await store.events("resp_1", starting_after=2)
    assert [e.sequence_number for e in replay.events] == [3, 4, 5, 6]
    assert replay.events[0] == events(3, 1)[0]
    assert (replay.gapless, replay.next_sequence_number) == (True, 7)
    everything = await store.events("resp_1")
    assert [e.sequence_number for e in everything.events] == list(range(7))
    assert (await store.events("resp_1", starting_after=6)).events == ()


async def test_a_batch_of_many_events_is_kept_whole_and_in_order(store: ResponseStore) -> None:
    # More than one statement's worth of rows (SQLite writes 64 per statement), and a retry
    # that repeats the first ones.
    await store.create(new_response("resp_1"))
    await store.append_events("resp_1", events(0, 70))
    await store.append_events("resp_1", events(60, 40))  # the limit: 100 events
    replay = await store.events("resp_1", limit=1000)
    assert replay.events == events(0, 100)
    assert (replay.gapless, replay.next_sequence_number) == (True, 100)


async def test_events_replay_in_pages_of_at_most_limit(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    await store.append_events("resp_1", events(0, 10))
    first = await store.events("resp_1", limit=4)
    rest = await store.events("resp_1", starting_after=first.events[-1].sequence_number, limit=100)
    assert [e.sequence_number for e in first.events + rest.events] == list(range(10))


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ((3,), 2),  # a gap before the batch
        ((1, 3), 2),  # a gap after a repeat
        ((2, 4), 3),  # a gap inside the batch
        ((2, 2), 3),  # a repeat inside the batch
    ],
)
async def test_a_batch_that_breaks_the_sequence_is_refused_whole(
    store: ResponseStore, batch: tuple[int, ...], expected: int
) -> None:
    await store.create(new_response("resp_1"))
    await store.append_events("resp_1", events(0, 2))
    with pytest.raises(StoreStateError) as caught:
        await store.append_events("resp_1", tuple(events(n, 1)[0] for n in batch))
    assert caught.value.expected == f"sequence_number {expected}"
    replay = await store.events("resp_1")
    assert [e.sequence_number for e in replay.events] == [0, 1]
    assert replay.next_sequence_number == 2


async def test_a_retried_batch_skips_the_events_already_stored(store: ResponseStore) -> None:
    # A write whose caller was cancelled may have landed: retrying it must neither fail nor
    # store an event twice.
    await store.create(new_response("resp_1"))
    await store.append_events("resp_1", events(0, 2))
    await store.append_events("resp_1", events(0, 2))
    await store.append_events("resp_1", events(0, 4))
    replay = await store.events("resp_1")
    assert [e.sequence_number for e in replay.events] == [0, 1, 2, 3]
    assert replay.next_sequence_number == 4


async def test_finish_stores_the_last_events_with_the_outcome(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    await store.append_events("resp_1", events(0, 2))
    await store.finish("resp_1", outcome("resp_1"), events=events(1, 3))
    replay = await store.events("resp_1")
    assert [e.sequence_number for e in replay.events] == [0, 1, 2, 3]
    assert (await store.get("resp_1")).status == "completed"


async def test_finish_with_events_out_of_order_writes_nothing(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    with pytest.raises(StoreStateError):
        await store.finish("resp_1", outcome("resp_1"), events=events(1, 2))
    assert (await store.get("resp_1")).status == "in_progress"
    assert (await store.events("resp_1")).next_sequence_number == 0


async def test_unfinished_lists_the_responses_still_running(
    store: ResponseStore, clock: FakeClock
) -> None:
    assert await store.unfinished() == ()
    await store.create(new_response("resp_1"))
    await store.create(new_response("resp_2"))
    await store.create(new_response("resp_3"))
    await store.finish("resp_2", outcome("resp_2"))
    await store.mark_cancelled("resp_3")
    assert await store.unfinished() == ("resp_1",)
    clock.now += LIMITS.retention_seconds
    assert await store.unfinished() == ()


async def test_a_full_event_log_keeps_the_newest_and_reports_what_it_dropped(
    store: ResponseStore,
) -> None:
    bound = LIMITS.max_events_per_response
    await store.create(new_response("resp_1"))
    for start in range(0, bound + 30, 20):
        await store.append_events("resp_1", events(start, 20))
    total = bound + 40
    replay = await store.events("resp_1", limit=total)
    assert (replay.dropped, replay.gapless) == (40, False)
    assert [e.sequence_number for e in replay.events] == list(range(40, total))
    later = await store.events("resp_1", starting_after=9, limit=1)
    assert (later.dropped, later.events[0].sequence_number) == (30, 40)
    assert (await store.events("resp_1", starting_after=39)).gapless


async def test_an_event_larger_than_the_size_limit_is_refused(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    huge = StoredEvent(0, "x" * (LIMITS.max_response_bytes + 1))
    with pytest.raises(StoreLimitError) as caught:
        await store.append_events("resp_1", (huge,))
    assert caught.value.limit == LIMITS.max_response_bytes
    assert (await store.events("resp_1")).next_sequence_number == 0


@pytest.mark.parametrize(
    ("query", "expected", "has_more"),
    [
        (ItemQuery(), ["i5", "i4", "i3", "i2", "i1"], False),
        (ItemQuery(order="asc", limit=2), ["i1", "i2"], True),
        (ItemQuery(order="asc", limit=2, after="i2"), ["i3", "i4"], True),
        (ItemQuery(order="asc", limit=2, after="i4"), ["i5"], False),
        (ItemQuery(order="desc", limit=3, after="i4"), ["i3", "i2", "i1"], False),
        (ItemQuery(order="desc", limit=2, after="i5"), ["i4", "i3"], True),
        (ItemQuery(order="asc", after="i5"), [], False),
    ],
)
async def test_input_items_paginate_like_openai(
    store: ResponseStore, query: ItemQuery, expected: list[str], has_more: bool
) -> None:
    names = ("i1", "i2", "i3", "i4", "i5")
    await store.create(
        replace(new_response("resp_1"), input_items=tuple(item(name) for name in names))
    )
    page = await store.input_items("resp_1", query)
    assert ([i.id for i in page.items], page.has_more) == (expected, has_more)


async def test_an_unknown_item_cursor_raises_item_not_found(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    with pytest.raises(ItemNotFound) as caught:
        await store.input_items("resp_1", ItemQuery(after="nope"))
    assert (caught.value.item_id, caught.value.response_id) == ("nope", "resp_1")


async def _conversation(store: ResponseStore, length: int) -> None:
    previous: str | None = None
    for turn in range(length):
        rid = f"resp_{turn}"
        await store.create(new_response(rid, previous=previous))
        await store.finish(rid, outcome(rid, text=f"answer {turn}"))
        previous = rid


async def test_chain_returns_each_turn_oldest_first_with_its_exact_text(
    store: ResponseStore,
) -> None:
    await _conversation(store, 3)
    chain = await store.chain("resp_2")
    assert [s.response_id for s in chain] == ["resp_0", "resp_1", "resp_2"]
    assert [s.input_items[0].id for s in chain] == ["resp_0_in_1", "resp_1_in_1", "resp_2_in_1"]
    assert [s.output_items[0].id for s in chain] == ["msg_resp_0", "msg_resp_1", "msg_resp_2"]
    assert chain[1].raw_turns == ("<|channel|>final<|message|>answer 1<|end|>",)
    assert [s.response_id for s in await store.chain("resp_0")] == ["resp_0"]


async def test_a_chain_deeper_than_the_limit_is_refused(store: ResponseStore) -> None:
    await _conversation(store, LIMITS.max_chain_depth + 1)
    assert len(await store.chain(f"resp_{LIMITS.max_chain_depth - 1}")) == LIMITS.max_chain_depth
    with pytest.raises(StoreLimitError) as caught:
        await store.chain(f"resp_{LIMITS.max_chain_depth}")
    assert caught.value.limit == LIMITS.max_chain_depth


async def test_a_missing_link_names_the_response_that_referenced_it(
    store: ResponseStore,
) -> None:
    await _conversation(store, 3)
    await store.delete("resp_1")
    with pytest.raises(ResponseNotFound, match="previous_response_id of resp_2") as caught:
        await store.chain("resp_2")
    assert caught.value.response_id == "resp_1"


async def test_a_chain_through_a_running_response_is_refused(store: ResponseStore) -> None:
    await _conversation(store, 1)
    await store.create(new_response("resp_1", previous="resp_0"))
    with pytest.raises(StoreStateError) as caught:
        await store.chain("resp_1")
    assert (caught.value.expected, caught.value.actual) == ("a finished response", "in_progress")


async def test_expired_responses_are_invisible_then_purged(
    store: ResponseStore, clock: FakeClock
) -> None:
    await store.create(new_response("resp_old"))
    await store.append_events("resp_old", events(0, 5))
    await store.create(new_response("resp_new", created_at=START + 100))
    clock.now = START + LIMITS.retention_seconds
    with pytest.raises(ResponseNotFound):
        await store.get("resp_old")
    assert await store.delete("resp_old") is False
    assert await store.purge_expired(clock.now) == 1
    assert (await store.get("resp_new")).id == "resp_new"
    assert await store.purge_expired(START + LIMITS.retention_seconds + 100) == 1
    assert await store.purge_expired(START + 10 * LIMITS.retention_seconds) == 0


async def test_an_oversized_response_is_refused_before_anything_is_written(
    store: ResponseStore,
) -> None:
    big = new_response("resp_1")
    too_big = (item("big", "x" * LIMITS.max_response_bytes),)
    with pytest.raises(StoreLimitError):
        await store.create(replace(big, input_items=too_big))
    with pytest.raises(ResponseNotFound):
        await store.get("resp_1")
    await store.create(big)
    final = outcome("resp_1", text="y" * LIMITS.max_response_bytes)
    with pytest.raises(StoreLimitError):
        await store.finish("resp_1", final)
    assert (await store.get("resp_1")).status == "in_progress"


async def test_cancel_marks_a_running_response_and_its_json(store: ResponseStore) -> None:
    await store.create(new_response("resp_1", background=True))
    cancelled = await store.mark_cancelled("resp_1")
    assert cancelled.status == "cancelled"
    assert Response.model_validate_json(cancelled.response_json).status == "cancelled"
    assert await store.mark_cancelled("resp_1") == cancelled
    assert await store.get("resp_1") == cancelled
    with pytest.raises(StoreStateError):
        await store.finish("resp_1", outcome("resp_1"))


async def test_a_finished_response_cannot_be_cancelled(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    await store.finish("resp_1", outcome("resp_1", "incomplete"))
    with pytest.raises(StoreStateError) as caught:
        await store.mark_cancelled("resp_1")
    assert caught.value.actual == "incomplete"


async def test_concurrent_writers_keep_every_log_in_call_order(store: ResponseStore) -> None:
    await store.create(new_response("resp_a"))
    await store.create(new_response("resp_b"))
    reserved = {"resp_a": 0, "resp_b": 0}

    async def writer(rid: str, batches: int) -> None:
        for size in range(1, batches + 1):
            start = reserved[rid]
            reserved[rid] += size  # reserved and appended with no await in between
            await store.append_events(rid, events(start, size))

    async with asyncio.timeout(30), asyncio.TaskGroup() as group:
        for rid in ("resp_a", "resp_a", "resp_b", "resp_b"):
            group.create_task(writer(rid, 6))
    for rid in reserved:
        replay = await store.events(rid, limit=1000)
        assert [e.sequence_number for e in replay.events] == list(range(42))
        assert json.loads(replay.events[-1].data)["sequence_number"] == 41
