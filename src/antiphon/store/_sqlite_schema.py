"""The SQLite store's file: schema, migrations, connection settings and transactions.

Blocking code, run on the store's worker threads. The schema version lives in
``PRAGMA user_version``: a new file gets the current schema, an older version would be migrated
here step by step, and a newer one (written by a later antiphon) is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Literal

from antiphon.exceptions import StoreError

#: Bumped by every change of the tables below; recorded in ``PRAGMA user_version``.
SCHEMA_VERSION: Final = 1
_INCREMENTAL: Final = 2  # PRAGMA auto_vacuum value

_SCHEMA_V1: Final = """
CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    status TEXT NOT NULL,
    model TEXT NOT NULL,
    response_json TEXT NOT NULL,
    previous_response_id TEXT,
    raw_turns TEXT NOT NULL,
    background INTEGER NOT NULL,
    next_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX responses_by_expiry ON responses (expires_at);
CREATE TABLE items (
    response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    kind INTEGER NOT NULL,
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (response_id, kind, position)
) WITHOUT ROWID;
CREATE TABLE events (
    response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (response_id, seq)
) WITHOUT ROWID;
"""


def connect(path: Path, *, busy_timeout: float = 5.0) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL, ``synchronous=FULL`` and a busy timeout.

    FULL, not NORMAL: in WAL mode NORMAL survives a killed process but can lose the last
    commits when the machine loses power, and a response the client was told ``completed`` must
    survive both. The writer commits writes in groups, so one fsync covers many of them.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
    if mode != "wal":
        conn.close()
        raise StoreError(f"SQLite refused WAL mode for {path} (journal_mode={mode})")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={max(0, round(busy_timeout * 1000))}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Create the tables of a new file or check the version of an existing one.

    A file is made ``auto_vacuum=INCREMENTAL`` (set before its first table; an older file is
    converted by one ``VACUUM``), so purges can hand freed pages back to the file system.
    """
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != _INCREMENTAL:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")  # an initialised file takes the new mode only through VACUUM
    with transaction(conn, "IMMEDIATE"):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            for statement in _SCHEMA_V1.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise StoreError(
                f"the store has schema version {version}; this antiphon reads {SCHEMA_VERSION}"
            )


@contextmanager
def transaction(
    conn: sqlite3.Connection, mode: Literal["DEFERRED", "IMMEDIATE"] = "DEFERRED"
) -> Generator[None]:
    """One explicit transaction, rolled back if the block raises.

    Inside a transaction already open (the writer's group commit) it is a savepoint instead:
    the block is still all or nothing, and the enclosing commit makes it durable.
    """
    if conn.in_transaction:
        with savepoint(conn):
            yield
        return
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def savepoint(conn: sqlite3.Connection) -> Generator[None]:
    """A savepoint in the open transaction, rolled back to if the block raises."""
    conn.execute("SAVEPOINT step")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # some errors (a full disk) already rolled everything back
            conn.execute("ROLLBACK TO step")
            conn.execute("RELEASE step")
        raise
    conn.execute("RELEASE step")
