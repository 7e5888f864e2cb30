"""The PostgreSQL store's schema: versioned migrations, applied once by whichever worker is first.

Each migration is one step from version ``n - 1`` to ``n``; ``antiphon_schema`` records the steps
applied. :func:`migrate` runs under a transaction-scoped advisory lock, so workers starting
together apply each step exactly once (the others wait, then find it done). A database whose
version is newer than this antiphon knows is refused rather than misread.

Times are seconds since the epoch (``double precision``), as the other stores keep them; worker
leases use the database's clock, so machines whose clocks differ still agree on who is alive.
"""

from __future__ import annotations

from typing import Final

from psycopg import AsyncConnection

from antiphon.exceptions import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "schema_version"]

#: The statements of each version, in order; never edit one that shipped, add the next.
MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE responses (
        id text PRIMARY KEY,
        created_at double precision NOT NULL,
        expires_at double precision NOT NULL,
        status text NOT NULL,
        model text NOT NULL,
        response_json text NOT NULL,
        previous_response_id text,
        raw_turns text NOT NULL,
        background boolean NOT NULL,
        next_seq integer NOT NULL DEFAULT 0,
        owner text
    );
    CREATE INDEX responses_by_expiry ON responses (expires_at);
    CREATE INDEX responses_active ON responses (owner) WHERE status IN ('queued', 'in_progress');
    CREATE TABLE items (
        response_id text NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
        kind smallint NOT NULL,
        position integer NOT NULL,
        item_id text NOT NULL,
        data text NOT NULL,
        PRIMARY KEY (response_id, kind, position)
    );
    CREATE TABLE events (
        response_id text NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        data text NOT NULL,
        PRIMARY KEY (response_id, seq)
    );
    CREATE TABLE workers (
        id text PRIMARY KEY,
        started_at double precision NOT NULL,
        lease_until double precision NOT NULL
    );
    """,
    # 2: listing the stored responses (GET /v1/responses) pages over (created_at, id).
    """
    CREATE INDEX responses_by_created ON responses (created_at, id);
    """,
)
#: The version a fully migrated database has.
SCHEMA_VERSION: Final = len(MIGRATIONS)
# Any constant unique to antiphon: the advisory lock that serialises migrations.
_LOCK: Final = 0x616E7469


async def schema_version(conn: AsyncConnection) -> int:
    """The version of the database's schema (0: none yet)."""
    exists = await (await conn.execute("SELECT to_regclass('antiphon_schema')")).fetchone()
    if exists is None or exists[0] is None:
        return 0
    row = await (await conn.execute("SELECT max(version) FROM antiphon_schema")).fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


async def migrate(conn: AsyncConnection) -> tuple[int, int]:
    """Apply the missing migrations; (version before, version after)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS antiphon_schema ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        before = await schema_version(conn)
        if before > SCHEMA_VERSION:
            raise StoreError(
                f"the database has schema version {before}; this antiphon reads up to "
                f"{SCHEMA_VERSION}: upgrade antiphon"
            )
        for version in range(before + 1, SCHEMA_VERSION + 1):
            await conn.execute(MIGRATIONS[version - 1].encode())
            await conn.execute("INSERT INTO antiphon_schema (version) VALUES (%s)", (version,))
    return before, SCHEMA_VERSION
