"""The ResponseStore contract for listing, run against the memory and the SQLite store."""

from __future__ import annotations

import pytest

from antiphon.exceptions import ConfigurationError, ResponseNotFound
from antiphon.store import ResponseQuery, ResponseStore

from .conftest import LIMITS, START, FakeClock, new_response, outcome


async def _five(store: ResponseStore) -> None:
    # Two share a creation time: the id breaks the tie, so the order is total.
    for n, created in enumerate((START, START + 1, START + 1, START + 2, START + 3)):
        await store.create(new_response(f"resp_{n}", created_at=created, background=n == 4))


async def test_listing_pages_newest_first_with_a_cursor(store: ResponseStore) -> None:
    await _five(store)
    first = await store.list_responses(ResponseQuery(limit=2))
    second = await store.list_responses(ResponseQuery(after=first.responses[-1].id, limit=2))
    third = await store.list_responses(ResponseQuery(after=second.responses[-1].id, limit=2))
    assert [r.id for r in first.responses] == ["resp_4", "resp_3"]
    assert [r.id for r in second.responses] == ["resp_2", "resp_1"]
    assert [r.id for r in third.responses] == ["resp_0"]
    assert (first.has_more, second.has_more, third.has_more) == (True, True, False)


async def test_listing_ascending_and_the_summary_fields(store: ResponseStore) -> None:
    await _five(store)
    await store.finish("resp_0", outcome("resp_0"))
    page = await store.list_responses(ResponseQuery(order="asc", limit=10))
    assert [r.id for r in page.responses] == [f"resp_{n}" for n in range(5)]
    oldest, newest = page.responses[0], page.responses[-1]
    assert (oldest.status, oldest.model, oldest.created_at) == ("completed", "gpt-oss-20b", START)
    assert (newest.status, newest.background, newest.previous_response_id) == (
        "in_progress",
        True,
        None,
    )
    assert not page.has_more


async def test_listing_skips_expired_and_deleted_responses(
    store: ResponseStore, clock: FakeClock
) -> None:
    await store.create(new_response("resp_old", created_at=START))
    clock.now = START + LIMITS.retention_seconds / 2
    await store.create(new_response("resp_new", created_at=clock.now))
    await store.create(new_response("resp_gone", created_at=clock.now + 1))
    await store.delete("resp_gone")
    clock.now = START + LIMITS.retention_seconds
    page = await store.list_responses(ResponseQuery())
    assert [r.id for r in page.responses] == ["resp_new"]


async def test_an_unknown_cursor_is_response_not_found(store: ResponseStore) -> None:
    await store.create(new_response("resp_1"))
    with pytest.raises(ResponseNotFound) as caught:
        await store.list_responses(ResponseQuery(after="resp_missing"))
    assert caught.value.response_id == "resp_missing"


async def test_an_empty_store_lists_nothing(store: ResponseStore) -> None:
    page = await store.list_responses(ResponseQuery())
    assert (page.responses, page.has_more) == ((), False)


def test_a_page_needs_a_positive_limit() -> None:
    with pytest.raises(ConfigurationError, match="limit must be positive"):
        ResponseQuery(limit=0)
