"""The SQL of the SQLite store: one function per operation of the store.

Plain blocking functions over a ``sqlite3.Connection``; :mod:`antiphon.store.sqlite` runs them on
the worker thread that owns the connection. Connections are in autocommit mode and every operation
opens its own transaction (``BEGIN IMMEDIATE`` for writes, so a writer takes the lock before it
reads what it is about to change), which gives each call one consistent snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Final

from antiphon.exceptions import ResponseNotFound, StoreStateError
from antiphon.store import _rules
from antiphon.store._sqlite_schema import transaction
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


def insert(conn: sqlite3.Connection, record: StoredResponse) -> None:
    """Insert a new response and its input items."""
    with transaction(conn, "IMMEDIATE"):
        try:
            conn.execute(
                "INSERT INTO responses (id, created_at, expires_at, status, model, response_json,"
                " previous_response_id, raw_turns, background) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.created_at,
                    record.expires_at,
                    record.status,
                    record.model,
                    record.response_json,
                    record.previous_response_id,
                    "[]",
                    int(record.background),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise StoreStateError(
                f"create response {record.id}", expected="a new id", actual="taken"
            ) from exc
        _insert_items(conn, record.id, _INPUT, record.input_items)


def append(
    conn: sqlite3.Connection,
    response_id: str,
    events: tuple[StoredEvent, ...],
    limits: StoreLimits,
    now: float,
) -> None:
    """Append a gapless batch in one transaction and trim the log to its bound."""
    with transaction(conn, "IMMEDIATE"):
        _append_events(conn, response_id, events, limits, now)


def finish(
    conn: sqlite3.Connection,
    response_id: str,
    outcome: ResponseOutcome,
    events: tuple[StoredEvent, ...],
    limits: StoreLimits,
    now: float,
) -> StoredResponse:
    """Write the outcome of an active response and its last events, in one transaction."""
    with transaction(conn, "IMMEDIATE"):
        record = _rules.finished_record(_require(conn, response_id, now), outcome, limits)
        conn.execute(
            "UPDATE responses SET status=?, response_json=?, raw_turns=? WHERE id=?",
            (record.status, record.response_json, json.dumps(record.raw_turns), response_id),
        )
        _insert_items(conn, response_id, _OUTPUT, record.output_items)
        _append_events(conn, response_id, events, limits, now)
        return record


def unfinished(conn: sqlite3.Connection, now: float) -> tuple[str, ...]:
    """The ids of live responses still queued or in progress."""
    rows = conn.execute(
        "SELECT id FROM responses WHERE status IN ('queued','in_progress') AND expires_at>?"
        " ORDER BY created_at",
        (now,),
    ).fetchall()
    return tuple(str(row[0]) for row in rows)


def cancel(conn: sqlite3.Connection, response_id: str, now: float) -> StoredResponse:
    """Mark an active response cancelled; a cancelled one is returned unchanged."""
    with transaction(conn, "IMMEDIATE"):
        record = _require(conn, response_id, now)
        if record.status == "cancelled":
            return record
        _rules.check_active(response_id, "cancel", record.status)
        json_text = _rules.with_status(record.response_json, "cancelled")
        conn.execute(
            "UPDATE responses SET status='cancelled', response_json=? WHERE id=?",
            (json_text, response_id),
        )
        return _require(conn, response_id, now)


def get(conn: sqlite3.Connection, response_id: str, now: float) -> StoredResponse:
    """The stored response, read in one snapshot."""
    with transaction(conn):
        return _require(conn, response_id, now)


def replay(
    conn: sqlite3.Connection, response_id: str, starting_after: int, limit: int, now: float
) -> EventReplay:
    """Stored events after ``starting_after`` and how many the bounded log dropped."""
    with transaction(conn):
        next_seq = _next_seq(conn, response_id, now)
        row = conn.execute("SELECT MIN(seq) FROM events WHERE response_id=?", (response_id,))
        first = row.fetchone()[0]
        rows = conn.execute(
            "SELECT seq, data FROM events WHERE response_id=? AND seq>? ORDER BY seq LIMIT ?",
            (response_id, starting_after, limit),
        ).fetchall()
    return EventReplay(
        events=tuple(StoredEvent(int(seq), str(data)) for seq, data in rows),
        dropped=_rules.dropped_events(next_seq if first is None else int(first), starting_after),
        next_sequence_number=next_seq,
    )


def chain(
    conn: sqlite3.Connection, response_id: str, max_depth: int, now: float
) -> tuple[ConversationSegment, ...]:
    """The conversation ending with ``response_id``, read in one snapshot."""
    with transaction(conn):
        return _rules.walk_chain(response_id, lambda key: _load(conn, key, now), max_depth)


def delete(conn: sqlite3.Connection, response_id: str, now: float) -> bool:
    """Delete one live response (its items and events cascade)."""
    cursor = conn.execute("DELETE FROM responses WHERE id=? AND expires_at>?", (response_id, now))
    return cursor.rowcount > 0


def purge(conn: sqlite3.Connection, now: float) -> int:
    """Delete every expired response (items and events cascade); free the pages left empty.

    ``auto_vacuum=INCREMENTAL``: the pages this and earlier deletes freed go back to the file
    system.
    """
    deleted = conn.execute("DELETE FROM responses WHERE expires_at<=?", (now,)).rowcount
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    # sqlite3 steps a PRAGMA once, and each step of incremental_vacuum frees one page.
    for _ in range(free):
        conn.execute("PRAGMA incremental_vacuum")
    return deleted


def _append_events(
    conn: sqlite3.Connection,
    response_id: str,
    events: tuple[StoredEvent, ...],
    limits: StoreLimits,
    now: float,
) -> None:
    next_seq = _next_seq(conn, response_id, now)
    new = _rules.unstored(next_seq, events)
    if not new:
        return
    end = _rules.check_batch(response_id, next_seq, new, limits.max_response_bytes)
    # Up to 64 rows per statement rather than one step per row: sqlite3 lets go of the GIL
    # around every step, and the event loop's thread then waits to take it back once per row.
    for start in range(0, len(new), _ROWS_PER_INSERT):
        rows = new[start : start + _ROWS_PER_INSERT]
        values: list[str | int] = []
        for event in rows:
            values += (response_id, event.sequence_number, event.data)
        conn.execute(_INSERT_EVENTS + ",".join(("(?,?,?)",) * len(rows)), values)
    conn.execute("UPDATE responses SET next_seq=? WHERE id=?", (end, response_id))
    first_kept = end - limits.max_events_per_response
    if first_kept > 0:
        conn.execute("DELETE FROM events WHERE response_id=? AND seq<?", (response_id, first_kept))


_ROWS_PER_INSERT = 64  # 192 parameters: far below SQLite's oldest limit (999)
_INSERT_EVENTS = "INSERT INTO events (response_id, seq, data) VALUES "


def _insert_items(
    conn: sqlite3.Connection, response_id: str, kind: int, items: tuple[StoredItem, ...]
) -> None:
    conn.executemany(
        "INSERT INTO items (response_id, kind, position, item_id, data) VALUES (?,?,?,?,?)",
        [(response_id, kind, i, item.id, item.data) for i, item in enumerate(items)],
    )


def _next_seq(conn: sqlite3.Connection, response_id: str, now: float) -> int:
    row = conn.execute(
        "SELECT next_seq FROM responses WHERE id=? AND expires_at>?", (response_id, now)
    ).fetchone()
    if row is None:
        raise ResponseNotFound(response_id)
    return int(row[0])


def _require(conn: sqlite3.Connection, response_id: str, now: float) -> StoredResponse:
    record = _load(conn, response_id, now)
    if record is None:
        raise ResponseNotFound(response_id)
    return record


def _load(conn: sqlite3.Connection, response_id: str, now: float) -> StoredResponse | None:
    row = conn.execute(
        "SELECT created_at, expires_at, status, model, response_json, previous_response_id,"
        " raw_turns, background FROM responses WHERE id=? AND expires_at>?",
        (response_id, now),
    ).fetchone()
    if row is None:
        return None
    items = conn.execute(
        "SELECT kind, item_id, data FROM items WHERE response_id=? ORDER BY kind, position",
        (response_id,),
    ).fetchall()
    created_at, expires_at, status, model, response_json, previous, raw_turns, background = row
    return StoredResponse(
        id=response_id,
        created_at=float(created_at),
        expires_at=float(expires_at),
        status=_rules.decode_status(status),
        model=str(model),
        response_json=str(response_json),
        input_items=tuple(StoredItem(str(i), str(d)) for k, i, d in items if k == _INPUT),
        output_items=tuple(StoredItem(str(i), str(d)) for k, i, d in items if k == _OUTPUT),
        previous_response_id=None if previous is None else str(previous),
        raw_turns=_rules.decode_turns(str(raw_turns)),
        background=bool(background),
    )
