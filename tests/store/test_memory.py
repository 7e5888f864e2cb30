"""What only the in-memory store promises: a bounded count, evicting finished responses first."""

from __future__ import annotations

from dataclasses import replace

import pytest

from antiphon.exceptions import ResponseNotFound, StoreLimitError
from antiphon.store import MemoryStore

from .conftest import LIMITS, START, FakeClock, new_response, outcome

SMALL = replace(LIMITS, max_responses=3)


async def _finished(store: MemoryStore, rid: str, created_at: float = START) -> None:
    await store.create(new_response(rid, created_at=created_at))
    await store.finish(rid, outcome(rid))


async def test_a_full_store_evicts_the_least_recently_used_finished_response() -> None:
    store = MemoryStore(SMALL, clock=FakeClock())
    for rid in ("resp_1", "resp_2", "resp_3"):
        await _finished(store, rid)
    await store.get("resp_1")  # now resp_2 is the least recently used
    await _finished(store, "resp_4")
    with pytest.raises(ResponseNotFound):
        await store.get("resp_2")
    assert {(await store.get(r)).id for r in ("resp_1", "resp_3", "resp_4")} == {
        "resp_1",
        "resp_3",
        "resp_4",
    }


async def test_running_responses_are_never_evicted() -> None:
    store = MemoryStore(SMALL, clock=FakeClock())
    for rid in ("resp_1", "resp_2", "resp_3"):
        await store.create(new_response(rid))
    with pytest.raises(StoreLimitError) as caught:
        await store.create(new_response("resp_4"))
    assert caught.value.limit == 3
    assert (await store.get("resp_1")).status == "in_progress"


async def test_expired_responses_make_room_before_any_eviction(clock: FakeClock) -> None:
    store = MemoryStore(SMALL, clock=clock)
    await _finished(store, "resp_old")
    await _finished(store, "resp_2", created_at=START + 10)
    await _finished(store, "resp_3", created_at=START + 10)
    clock.now = START + SMALL.retention_seconds
    await store.get("resp_2")
    await store.create(new_response("resp_4", created_at=clock.now))
    assert (await store.get("resp_3")).id == "resp_3"


async def test_closing_keeps_nothing() -> None:
    store = MemoryStore()
    await store.create(new_response("resp_1"))
    await store.close()
    with pytest.raises(ResponseNotFound):
        await store.get("resp_1")
