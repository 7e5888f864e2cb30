"""What only the SQLite store promises: WAL, durability across reopening, a versioned schema."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Generator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from antiphon.exceptions import StoreError
from antiphon.store import SqliteStore
from antiphon.store.sqlite import SCHEMA_VERSION

from .conftest import LIMITS, FakeClock, events, new_response, outcome


@contextmanager
def raw(path: Path) -> Generator[sqlite3.Connection]:
    """A second, independent connection to the store file (what another process would see)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


async def test_the_file_is_in_wal_mode_with_the_schema_version_recorded(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock())
    await store.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1


async def test_everything_survives_closing_and_reopening(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=clock)
    await store.create(new_response("resp_1", background=True))
    await store.append_events("resp_1", events(0, 5))
    final = await store.finish("resp_1", outcome("resp_1", text="kept"))
    await store.close()
    reopened = await SqliteStore.open(path, LIMITS, clock=clock)
    try:
        assert await reopened.get("resp_1") == final
        replay = await reopened.events("resp_1", starting_after=1)
        assert [e.sequence_number for e in replay.events] == [2, 3, 4]
        await reopened.append_events("resp_1", events(5, 1))
    finally:
        await reopened.close()


async def test_a_file_from_a_newer_antiphon_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with raw(path) as conn:
        conn.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="schema version 99"):
        await SqliteStore.open(path, LIMITS, clock=FakeClock())


async def test_an_unusable_path_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        await SqliteStore.open(blocker / "store.sqlite3", LIMITS)


async def test_a_database_without_wal_is_refused() -> None:
    # SQLite's own in-memory databases cannot use WAL; the store must not run without it.
    with pytest.raises(StoreError, match="refused WAL"):
        await SqliteStore.open(Path(":memory:"), LIMITS)


async def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.sqlite3", LIMITS, clock=FakeClock())
    await store.close()
    await store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        await store.get("resp_1")


async def test_database_failures_are_translated_with_the_cause_attached(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock())
    try:
        with raw(path) as conn:
            conn.execute("DROP TABLE events")
        await store.create(new_response("resp_1"))
        with pytest.raises(StoreError) as caught:
            await store.append_events("resp_1", events(0, 1))
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("status", "exploded", "unknown status"),
        ("raw_turns", "{}", "corrupt raw turns"),
        ("raw_turns", '["ok", 3]', "corrupt raw turns"),
    ],
)
async def test_corrupt_rows_raise_store_error(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock())
    try:
        await store.create(new_response("resp_1"))
        with raw(path) as conn:
            conn.execute(f"UPDATE responses SET {column}=?", (value,))
        with pytest.raises(StoreError, match=message):
            await store.get("resp_1")
    finally:
        await store.close()


@pytest.mark.parametrize(("stored", "message"), [("{not json", "not valid JSON"), ("[]", "object")])
async def test_cancelling_a_response_with_corrupt_json_raises_store_error(
    tmp_path: Path, stored: str, message: str
) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock())
    try:
        await store.create(new_response("resp_1"))
        with raw(path) as conn:
            conn.execute("UPDATE responses SET response_json=?", (stored,))
        with pytest.raises(StoreError, match=message):
            await store.mark_cancelled("resp_1")
        assert (await store.get("resp_1")).status == "in_progress"
    finally:
        await store.close()


async def test_a_write_whose_caller_is_cancelled_still_lands_in_order(tmp_path: Path) -> None:
    # Another process holds the write lock, so the writes queue up behind it; their callers
    # are cancelled (a client disconnecting) before the lock is released. Every queued write
    # must still be applied, so the next batch continues the log without a gap.
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock(), busy_timeout=10.0)
    try:
        await store.create(new_response("resp_1"))
        with raw(path) as blocker:
            blocker.execute("BEGIN IMMEDIATE")
            writes = [
                asyncio.create_task(store.append_events("resp_1", events(n, 1))) for n in range(20)
            ]
            await asyncio.sleep(0)  # one loop pass: every task starts and queues its write
            for write in writes:
                write.cancel()
            await asyncio.wait(writes)
            blocker.execute("COMMIT")
        await store.append_events("resp_1", events(20, 1))
        replay = await store.events("resp_1")
        assert [e.sequence_number for e in replay.events] == list(range(21))
    finally:
        await store.close()


async def test_a_write_that_waits_past_the_busy_timeout_fails_with_store_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock(), busy_timeout=0.05)
    try:
        await store.create(new_response("resp_1"))
        with raw(path) as blocker:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="locked"):
                await store.finish("resp_1", outcome("resp_1"))
            blocker.execute("COMMIT")
        assert (await store.get("resp_1")).status == "in_progress"
        await store.finish("resp_1", outcome("resp_1"))  # the store works again
    finally:
        await store.close()


async def test_concurrent_writes_share_commits_and_fail_alone(tmp_path: Path) -> None:
    # One group commit holds writes for many responses; a write the rules refuse (a gap)
    # fails alone, the others of its group are committed.
    store = await SqliteStore.open(tmp_path / "store.sqlite3", LIMITS, clock=FakeClock())
    try:
        ids = [f"resp_{n}" for n in range(40)]
        await asyncio.gather(*(store.create(new_response(key)) for key in ids))
        results = await asyncio.gather(
            *(store.append_events(key, events(n % 2, 3)) for n, key in enumerate(ids)),
            return_exceptions=True,
        )
        refused = [key for key, result in zip(ids, results, strict=True) if result is not None]
        assert refused == ids[1::2]
        assert all(isinstance(result, StoreError) for result in results if result is not None)
        for key in ids[::2]:
            assert (await store.events(key)).next_sequence_number == 3
    finally:
        await store.close()


def _pages(path: Path) -> int:
    with raw(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


async def test_purge_and_delete_give_the_space_back(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=clock)
    try:
        empty = _pages(path)
        for n in range(30):
            await store.create(new_response(f"resp_{n}"))
            await store.append_events(f"resp_{n}", events(0, 90))
            await store.finish(f"resp_{n}", outcome(f"resp_{n}", text="x" * 20_000))
        full = _pages(path)
        assert full > empty + 100
        for n in range(10):
            assert await store.delete(f"resp_{n}")
        clock.now += LIMITS.retention_seconds
        assert await store.purge_expired(clock.now) == 20
        assert _pages(path) <= empty + 2
    finally:
        await store.close()


async def test_an_older_file_is_converted_to_incremental_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with raw(path) as conn:
        conn.execute("CREATE TABLE placeholder (x)")
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
        conn.execute("DROP TABLE placeholder")
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock())
    await store.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL


async def test_one_server_owns_a_store_file(tmp_path: Path) -> None:
    # A second server on the file would take the first one's live responses for dead.
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, LIMITS, clock=FakeClock())
    try:
        with pytest.raises(StoreError, match="in use by another antiphon server"):
            await SqliteStore.open(path, LIMITS, clock=FakeClock())
    finally:
        await store.close()
    reopened = await SqliteStore.open(path, LIMITS, clock=FakeClock())  # given up on close
    await reopened.close()
