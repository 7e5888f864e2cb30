"""The SQL of ``SqliteStore.list_responses``: a keyset page over ``(created_at, id)``.

Blocking, run on the store's reader thread. The cursor is a response id; its ``(created_at,
id)`` is read first, and the page compares row values against it, so pages stay stable while new
responses arrive (they sort before the first page, never into a later one). The index
``responses_by_created`` (created when a file is opened) keeps each page a range scan.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from antiphon.exceptions import ResponseNotFound, StoreError
from antiphon.store import _rules
from antiphon.store.base import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    ResponsePage,
    ResponseQuery,
    ResponseSummary,
)

#: Created if missing whenever a file is opened: harmless to an older antiphon reading the file.
CREATED_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS responses_by_created ON responses (created_at, id)"
)
_COLUMNS: Final = "id, created_at, status, model, previous_response_id, background"


def list_responses(conn: sqlite3.Connection, query: ResponseQuery, now: float) -> ResponsePage:
    """A page of live responses; see ``ResponseStore.list_responses``."""
    descending = query.order == "desc"
    direction, compare = ("DESC", "<") if descending else ("ASC", ">")
    where, params = "expires_at>?", [now]
    if query.after is not None:
        cursor = conn.execute(
            "SELECT created_at, id FROM responses WHERE id=? AND expires_at>?",
            (query.after, now),
        ).fetchone()
        if cursor is None:
            raise ResponseNotFound(query.after)
        where += f" AND (created_at, id) {compare} (?, ?)"
        params += [float(cursor[0]), str(cursor[1])]
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM responses WHERE {where}"  # fixed fragments only
        f" ORDER BY created_at {direction}, id {direction} LIMIT ?",
        (*params, query.limit + 1),
    ).fetchall()
    return _rules.page_responses([_summary(row) for row in rows], query)


def _summary(row: tuple[object, ...]) -> ResponseSummary:
    response_id, created_at, status, model, previous, background = row
    for known in ACTIVE_STATUSES | TERMINAL_STATUSES:
        if status == known:
            return ResponseSummary(
                id=str(response_id),
                created_at=float(str(created_at)),
                status=known,
                model=str(model),
                previous_response_id=None if previous is None else str(previous),
                background=bool(background),
            )
    raise StoreError(f"a stored response has an unknown status {status!r}")
