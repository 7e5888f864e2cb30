"""Fixtures every suite may use: one throwaway PostgreSQL server per test session.

The server is started on first use only (``initdb`` into a temporary directory, a Unix socket,
see :mod:`antiphon.testing.postgres`). Where PostgreSQL is not installed the tests that need it
are skipped with the reason (``-ra`` lists it); under ``python3 scripts/dev.py test``, which
installs PostgreSQL and sets ``ANTIPHON_REQUIRE_POSTGRES=1``, they fail instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from antiphon.testing.postgres import PostgresUnavailableError, TemporaryPostgres

#: ``1``: a missing PostgreSQL fails the tests instead of skipping them.
REQUIRE_POSTGRES_VARIABLE = "ANTIPHON_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    try:
        server = TemporaryPostgres().start()
    except PostgresUnavailableError as exc:
        if os.environ.get(REQUIRE_POSTGRES_VARIABLE) == "1":
            pytest.fail(f"PostgreSQL is required here but unavailable: {exc}")
        pytest.skip(f"SKIPPED LOUDLY: no PostgreSQL server for this test: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: TemporaryPostgres) -> str:
    """A URL whose tables live in a schema of their own: every test starts empty."""
    import psycopg  # here: suites that need no PostgreSQL need no driver either

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    return postgres_server.url_for("postgres", search_path=schema)
