"""The SQL of ``PostgresStore.list_responses``: a keyset page over ``(created_at, id)``.

The cursor is a response id; its ``(created_at, id)`` is read first and the page compares row
values against it, so pages stay stable while new responses arrive. The index
``responses_by_created`` (schema version 2) keeps each page a range scan.
"""

from __future__ import annotations

from typing import Final

from psycopg import AsyncConnection

from antiphon.exceptions import ResponseNotFound
from antiphon.store import _rules
from antiphon.store.base import ResponsePage, ResponseQuery, ResponseSummary

_COLUMNS: Final = "id, created_at, status, model, previous_response_id, background"


async def list_responses(conn: AsyncConnection, query: ResponseQuery, now: float) -> ResponsePage:
    """A page of live responses; see ``ResponseStore.list_responses``."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        descending = query.order == "desc"
        params: list[object] = [now]
        keyset = ""
        if query.after is not None:
            cursor = await conn.execute(
                "SELECT created_at, id FROM responses WHERE id=%s AND expires_at>%s",
                (query.after, now),
            )
            row = await cursor.fetchone()
            if row is None:
                raise ResponseNotFound(query.after)
            keyset = (
                " AND (created_at, id) < (%s, %s)"
                if descending
                else " AND (created_at, id) > (%s, %s)"
            )
            params += [float(row[0]), str(row[1])]
        order = " ORDER BY created_at DESC, id DESC" if descending else " ORDER BY created_at, id"
        sql = f"SELECT {_COLUMNS} FROM responses WHERE expires_at>%s{keyset}{order} LIMIT %s"
        cursor = await conn.execute(
            sql.encode(),  # fixed fragments only; the values are parameters
            (*params, query.limit + 1),
        )
        rows = await cursor.fetchall()
    summaries = [
        ResponseSummary(
            id=str(key),
            created_at=float(created),
            status=_rules.decode_status(status),
            model=str(model),
            previous_response_id=None if previous is None else str(previous),
            background=bool(background),
        )
        for key, created, status, model, previous, background in rows
    ]
    return _rules.page_responses(summaries, query)
