"""The PostgreSQL store's operations: one coroutine per store method, on one connection.

Each runs in its own transaction; the rules (sizes, transitions, event order) are the shared ones
of :mod:`antiphon.store._rules`, so every store enforces the same contract. A response's row is
locked (``FOR UPDATE``) by every write to it, which orders concurrent writers of one response.
"""

from __future__ import annotations

import json
from typing import Any, Final

from psycopg import AsyncConnection

from antiphon.exceptions import ResponseNotFound, StoreStateError
from antiphon.store import _rules
from antiphon.store.base import (
    ConversationSegment,
    EventReplay,
    ResponseOutcome,
    StoredEvent,
    StoredItem,
    StoredResponse,
    StoreLimits,
)

_INPUT: Final = 0
_OUTPUT: Final = 1
_COLUMNS: Final = (
    "id, created_at, expires_at, status, model, response_json, previous_response_id,"
    " raw_turns, background"
)


async def insert(conn: AsyncConnection, record: StoredResponse, owner: str) -> None:
    """Insert a new response and its input items; an existing id is refused."""
    async with conn.transaction():
        cursor = await conn.execute(
            "INSERT INTO responses (id, created_at, expires_at, status, model, response_json,"
            " previous_response_id, raw_turns, background, owner)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO NOTHING RETURNING id",
            _new_row(record, owner),
        )
        if await cursor.fetchone() is None:  # fetched, not rowcount: exact in pipeline mode
            raise StoreStateError(
                f"create response {record.id}", expected="a new id", actual="an existing id"
            )
        await _insert_items(conn, record.id, _INPUT, record.input_items)


def _new_row(record: StoredResponse, owner: str) -> tuple[object, ...]:
    return (
        *(record.id, record.created_at, record.expires_at, record.status, record.model),
        *(record.response_json, record.previous_response_id, "[]", record.background, owner),
    )


async def append(
    conn: AsyncConnection,
    response_id: str,
    events: tuple[StoredEvent, ...],
    limits: StoreLimits,
    now: float,
) -> None:
    """Append a gapless batch and trim the log to its bound, in one transaction.

    Committed without waiting for the disk: a stream's events are many, and the end of the
    response (whose commit does wait) flushes every earlier commit with it. A database crash
    may cost the last events of a response still running, never a finished one.
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit TO OFF")
        await _append_events(conn, response_id, events, limits, now)


async def finish(
    conn: AsyncConnection,
    response_id: str,
    outcome: ResponseOutcome,
    events: tuple[StoredEvent, ...],
    limits: StoreLimits,
    now: float,
) -> StoredResponse:
    """Write the outcome of an active response and its last events, in one transaction."""
    async with conn.transaction():
        current = await _require(conn, response_id, now, lock=True)
        record = _rules.finished_record(current, outcome, limits)
        await conn.execute(
            "UPDATE responses SET status=%s, response_json=%s, raw_turns=%s WHERE id=%s",
            (record.status, record.response_json, json.dumps(record.raw_turns), response_id),
        )
        await _insert_items(conn, response_id, _OUTPUT, record.output_items)
        await _append_events(conn, response_id, events, limits, now)
        return record


async def unfinished(conn: AsyncConnection, owner: str, now: float) -> tuple[str, ...]:
    """Active responses this worker answers for: its own, and those of workers gone."""
    cursor = await conn.execute(
        "SELECT r.id FROM responses r LEFT JOIN workers w ON w.id = r.owner"
        " WHERE r.status IN ('queued','in_progress') AND r.expires_at > %s"
        " AND (r.owner = %s OR r.owner IS NULL OR w.id IS NULL"
        "      OR w.lease_until < extract(epoch FROM clock_timestamp()))"
        " ORDER BY r.created_at",
        (now, owner),
    )
    return tuple(str(row[0]) for row in await cursor.fetchall())


async def cancel(conn: AsyncConnection, response_id: str, now: float) -> StoredResponse:
    """Mark an active response cancelled; a cancelled one is returned unchanged."""
    async with conn.transaction():
        record = await _require(conn, response_id, now, lock=True)
        if record.status == "cancelled":
            return record
        _rules.check_active(response_id, "cancel", record.status)
        json_text = _rules.with_status(record.response_json, "cancelled")
        await conn.execute(
            "UPDATE responses SET status='cancelled', response_json=%s WHERE id=%s",
            (json_text, response_id),
        )
        return await _require(conn, response_id, now)


async def get(conn: AsyncConnection, response_id: str, now: float) -> StoredResponse:
    """The stored response, read in one snapshot."""
    async with conn.transaction():
        await _snapshot(conn)
        return await _require(conn, response_id, now)


async def replay(
    conn: AsyncConnection, response_id: str, starting_after: int, limit: int, now: float
) -> EventReplay:
    """Stored events after ``starting_after`` and how many the bounded log dropped."""
    async with conn.transaction():
        await _snapshot(conn)
        next_seq = await _next_seq(conn, response_id, now)
        first_row = await (
            await conn.execute("SELECT min(seq) FROM events WHERE response_id=%s", (response_id,))
        ).fetchone()
        first = None if first_row is None else first_row[0]
        cursor = await conn.execute(
            "SELECT seq, data FROM events WHERE response_id=%s AND seq>%s ORDER BY seq LIMIT %s",
            (response_id, starting_after, limit),
        )
        rows = await cursor.fetchall()
    return EventReplay(
        events=tuple(StoredEvent(int(seq), str(data)) for seq, data in rows),
        dropped=_rules.dropped_events(next_seq if first is None else int(first), starting_after),
        next_sequence_number=next_seq,
    )


async def chain(
    conn: AsyncConnection, response_id: str, max_depth: int, now: float
) -> tuple[ConversationSegment, ...]:
    """The conversation ending with ``response_id``: one recursive query, then the rules."""
    async with conn.transaction():
        await _snapshot(conn)
        cursor = await conn.execute(
            "WITH RECURSIVE link(id, previous, depth) AS ("
            " SELECT id, previous_response_id, 1 FROM responses WHERE id=%s AND expires_at>%s"
            " UNION ALL SELECT r.id, r.previous_response_id, link.depth + 1"
            " FROM responses r JOIN link ON r.id = link.previous"
            " WHERE r.expires_at > %s AND link.depth < %s)"
            " SELECT id FROM link",
            (response_id, now, now, max_depth),
        )
        ids = [str(row[0]) for row in await cursor.fetchall()]
        records = {record.id: record for record in await _load_many(conn, ids)}
    return _rules.walk_chain(response_id, records.get, max_depth)


async def delete(conn: AsyncConnection, response_id: str, now: float) -> bool:
    """Delete one live response (its items and events cascade)."""
    cursor = await conn.execute(
        "DELETE FROM responses WHERE id=%s AND expires_at>%s RETURNING id", (response_id, now)
    )
    return await cursor.fetchone() is not None


async def purge(conn: AsyncConnection, now: float) -> int:
    """Delete every expired response (items and events cascade); autovacuum reclaims space."""
    cursor = await conn.execute("DELETE FROM responses WHERE expires_at<=%s", (now,))
    # Workers whose lease ran out a day ago: their responses have long been failed.
    await conn.execute(
        "DELETE FROM workers WHERE lease_until < extract(epoch FROM clock_timestamp()) - 86400"
    )
    return cursor.rowcount


async def _snapshot(conn: AsyncConnection) -> None:
    # Several statements read one consistent state (a finish may commit between them).
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


async def announce(conn: AsyncConnection, channel: str, response_id: str) -> None:
    """``NOTIFY channel`` with the response id (delivered when the statement commits)."""
    await conn.execute("SELECT pg_notify(%s, %s)", (channel, response_id))


async def _append_events(
    conn: AsyncConnection,
    response_id: str,
    events: tuple[StoredEvent, ...],
    limits: StoreLimits,
    now: float,
) -> None:
    next_seq = await _next_seq(conn, response_id, now, lock=True)
    new = _rules.unstored(next_seq, events)
    if not new:
        return
    end = _rules.check_batch(response_id, next_seq, new, limits.max_response_bytes)
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO events (response_id, seq, data) VALUES (%s,%s,%s)",
            [(response_id, event.sequence_number, event.data) for event in new],
        )
    await conn.execute("UPDATE responses SET next_seq=%s WHERE id=%s", (end, response_id))
    first_kept = end - limits.max_events_per_response
    if first_kept > 0:
        await conn.execute(
            "DELETE FROM events WHERE response_id=%s AND seq<%s", (response_id, first_kept)
        )


async def _insert_items(
    conn: AsyncConnection, response_id: str, kind: int, items: tuple[StoredItem, ...]
) -> None:
    if not items:
        return
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO items (response_id, kind, position, item_id, data)"
            " VALUES (%s,%s,%s,%s,%s)",
            [(response_id, kind, i, item.id, item.data) for i, item in enumerate(items)],
        )


async def _next_seq(
    conn: AsyncConnection, response_id: str, now: float, *, lock: bool = False
) -> int:
    query = "SELECT next_seq FROM responses WHERE id=%s AND expires_at>%s"
    cursor = await conn.execute(query + (" FOR UPDATE" if lock else ""), (response_id, now))
    row = await cursor.fetchone()
    if row is None:
        raise ResponseNotFound(response_id)
    return int(row[0])


async def _require(
    conn: AsyncConnection, response_id: str, now: float, *, lock: bool = False
) -> StoredResponse:
    query = f"SELECT {_COLUMNS} FROM responses WHERE id=%s AND expires_at>%s"
    cursor = await conn.execute(query + (" FOR UPDATE" if lock else ""), (response_id, now))
    row = await cursor.fetchone()
    if row is None:
        raise ResponseNotFound(response_id)
    return (await _records(conn, [row]))[0]


async def _load_many(conn: AsyncConnection, ids: list[str]) -> list[StoredResponse]:
    if not ids:
        return []
    cursor = await conn.execute(f"SELECT {_COLUMNS} FROM responses WHERE id = ANY(%s)", (ids,))
    return await _records(conn, await cursor.fetchall())


async def _records(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> list[StoredResponse]:
    ids = [str(row[0]) for row in rows]
    cursor = await conn.execute(
        "SELECT response_id, kind, item_id, data FROM items WHERE response_id = ANY(%s)"
        " ORDER BY response_id, kind, position",
        (ids,),
    )
    items: dict[tuple[str, int], list[StoredItem]] = {}
    for owner, kind, item_id, data in await cursor.fetchall():
        items.setdefault((str(owner), int(kind)), []).append(StoredItem(str(item_id), str(data)))
    records: list[StoredResponse] = []
    for key, created, expires, status, model, text, previous, turns, background in rows:
        records.append(
            StoredResponse(
                id=str(key),
                created_at=float(created),
                expires_at=float(expires),
                status=_rules.decode_status(status),
                model=str(model),
                response_json=str(text),
                input_items=tuple(items.get((str(key), _INPUT), ())),
                output_items=tuple(items.get((str(key), _OUTPUT), ())),
                previous_response_id=None if previous is None else str(previous),
                raw_turns=_rules.decode_turns(str(turns)),
                background=bool(background),
            )
        )
    return records


async def register(conn: AsyncConnection, worker_id: str, lease_seconds: float) -> None:
    """Create or extend a worker's lease, on the database's clock."""
    await conn.execute(
        "INSERT INTO workers (id, started_at, lease_until) VALUES"
        " (%s, extract(epoch FROM clock_timestamp()), extract(epoch FROM clock_timestamp()) + %s)"
        " ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until",
        (worker_id, lease_seconds),
    )


async def unregister(conn: AsyncConnection, worker_id: str) -> None:
    """Give up a worker's lease (its active responses pass to the others at once)."""
    await conn.execute("DELETE FROM workers WHERE id=%s", (worker_id,))
