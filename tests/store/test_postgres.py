"""What only the PostgreSQL store does: migrations, worker leases, errors of the database."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from antiphon import cli
from antiphon.exceptions import StoreError
from antiphon.store import open_store
from antiphon.store.postgres import SCHEMA_VERSION, PostgresStore, migrate_database

from .conftest import LIMITS, FakeClock, new_response, outcome


async def test_migrations_are_recorded_and_applied_once(postgres_url: str) -> None:
    assert await migrate_database(postgres_url) == (0, SCHEMA_VERSION)
    assert await migrate_database(postgres_url) == (SCHEMA_VERSION, SCHEMA_VERSION)
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version FROM antiphon_schema ORDER BY version").fetchall()
    assert [row[0] for row in rows] == list(range(1, SCHEMA_VERSION + 1))


async def test_a_database_from_a_newer_antiphon_is_refused(postgres_url: str) -> None:
    await migrate_database(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO antiphon_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="upgrade antiphon"):
        await PostgresStore.open(postgres_url, LIMITS)


async def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    url = "postgresql://user:secret@/nowhere?host=/nonexistent-dir&connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        await PostgresStore.open(url, LIMITS, connect_timeout=2)
    assert "secret" not in str(caught.value)
    assert isinstance(caught.value.__cause__, psycopg.Error)


async def test_the_factory_opens_a_postgresql_url(postgres_url: str) -> None:
    store = await open_store(postgres_url, LIMITS)
    try:
        assert isinstance(store, PostgresStore)
    finally:
        await store.close()


async def test_each_worker_answers_for_its_own_runs_and_those_of_dead_workers(
    postgres_url: str,
) -> None:
    clock = FakeClock()
    first = await PostgresStore.open(postgres_url, LIMITS, clock=clock, lease_seconds=60)
    second = await PostgresStore.open(postgres_url, LIMITS, clock=clock, lease_seconds=60)
    try:
        await first.create(new_response("resp_a"))
        await second.create(new_response("resp_b"))
        await second.create(new_response("resp_c"))
        await second.finish("resp_c", outcome("resp_c"))
        assert await first.unfinished() == ("resp_a",)
        assert await second.unfinished() == ("resp_b",)
        # The second worker's lease runs out (as when it is killed): its run passes to the first.
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("UPDATE workers SET lease_until = 0 WHERE id = %s", (second.worker_id,))
        assert await first.unfinished() == ("resp_a", "resp_b")
        await second.renew_lease()
        assert await first.unfinished() == ("resp_a",)
    finally:
        await first.close()
    # A worker that closes gives up its lease: what it left active is handed over at once.
    third = await PostgresStore.open(postgres_url, LIMITS, clock=clock, lease_seconds=60)
    try:
        assert await third.unfinished() == ("resp_a",)
    finally:
        await second.close()
        await third.close()


async def test_a_closed_store_refuses_work(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url, LIMITS)
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get("resp_1")
    with pytest.raises(StoreError, match="closed"):
        await store.create(new_response("resp_1"))


def test_antiphon_store_migrate_applies_then_reports_up_to_date(postgres_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(cli.app, ["store", "migrate", "--store", postgres_url])
    assert (first.exit_code, first.output.strip()) == (0, f"schema version 0 -> {SCHEMA_VERSION}")
    again = runner.invoke(cli.app, ["store", "migrate"], env={"ANTIPHON_STORE": postgres_url})
    assert again.exit_code == 0
    assert again.output.strip() == f"schema version {SCHEMA_VERSION}: up to date"


def test_antiphon_store_migrate_refuses_what_is_not_postgresql() -> None:
    result = CliRunner().invoke(cli.app, ["store", "migrate", "--store", "file.db"])
    assert result.exit_code == 2
    assert "postgresql://" in result.output
