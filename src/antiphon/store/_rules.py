"""Rules every store shares: size checks, status transitions, event order, paging, chains.

Pure functions over the record types of :mod:`antiphon.store.base`, so the in-memory, SQLite and
PostgreSQL stores enforce exactly the same contract (SQLite calls them on its worker thread).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import cast

from openai.types.responses import ResponseStatus

from antiphon.exceptions import (
    ItemNotFound,
    ResponseNotFound,
    StoreError,
    StoreLimitError,
    StoreStateError,
)
from antiphon.store.base import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    ConversationSegment,
    ItemPage,
    ItemQuery,
    NewResponse,
    ResponseOutcome,
    ResponsePage,
    ResponseQuery,
    ResponseSummary,
    StoredEvent,
    StoredItem,
    StoredResponse,
    StoreLimits,
)


def decode_status(value: object) -> ResponseStatus:
    """A status read back from a database; an unknown one is corruption."""
    for status in ACTIVE_STATUSES | TERMINAL_STATUSES:
        if value == status:
            return status
    raise StoreError(f"a stored response has an unknown status {value!r}")


def decode_turns(text: str) -> tuple[str, ...]:
    """The raw turns of a record, stored as a JSON array of strings."""
    turns: object = json.loads(text)
    if not isinstance(turns, list):
        raise StoreError("a stored response has corrupt raw turns")
    # JSON boundary: a decoded array holds objects; each is checked to be a string below.
    elements = cast(list[object], turns)
    values = tuple(turn for turn in elements if isinstance(turn, str))
    if len(values) != len(elements):
        raise StoreError("a stored response has corrupt raw turns")
    return values


def items_size(items: Iterable[StoredItem]) -> int:
    """Bytes the items occupy as UTF-8 (ids included)."""
    return sum(len(item.id.encode()) + len(item.data.encode()) for item in items)


def check_size(what: str, size: int, limits: StoreLimits) -> None:
    """Refuse a payload above ``max_response_bytes`` before anything is written."""
    if size > limits.max_response_bytes:
        raise StoreLimitError(f"{what} ({size} bytes)", limit=limits.max_response_bytes, size=size)


def new_record(new: NewResponse, limits: StoreLimits) -> StoredResponse:
    """The record of a just-created response, size-checked, with its expiry time."""
    check_size(f"response {new.id}", new.size, limits)
    return StoredResponse(
        id=new.id,
        created_at=new.created_at,
        expires_at=new.created_at + limits.retention_seconds,
        status=new.status,
        model=new.model,
        response_json=new.response_json,
        input_items=new.input_items,
        output_items=(),
        previous_response_id=new.previous_response_id,
        raw_turns=(),
        background=new.background,
    )


def outcome_size(outcome: ResponseOutcome) -> int:
    """Bytes the outcome adds to a record (the final JSON replaces the initial one)."""
    turns = sum(len(turn.encode()) for turn in outcome.raw_turns)
    return len(outcome.response_json.encode()) + items_size(outcome.output_items) + turns


def check_active(response_id: str, action: str, status: ResponseStatus) -> None:
    """A response can only be finished or cancelled while it runs."""
    if status not in ACTIVE_STATUSES:
        raise StoreStateError(
            f"{action} response {response_id}", expected="queued or in_progress", actual=status
        )


def finished_record(
    record: StoredResponse, outcome: ResponseOutcome, limits: StoreLimits
) -> StoredResponse:
    """The record after ``outcome``; checks the transition and the total size."""
    check_active(record.id, "finish", record.status)
    check_size(
        f"response {record.id}", outcome_size(outcome) + items_size(record.input_items), limits
    )
    return replace(
        record,
        status=outcome.status,
        response_json=outcome.response_json,
        output_items=outcome.output_items,
        raw_turns=outcome.raw_turns,
    )


def with_status(response_json: str, status: ResponseStatus) -> str:
    """The stored ``Response`` JSON with its ``status`` replaced (for a cancel)."""
    try:
        data: object = json.loads(response_json)
    except ValueError as exc:
        raise StoreError("a stored response is not valid JSON") from exc
    if not isinstance(data, dict):
        raise StoreError("a stored response is not a JSON object")
    # JSON boundary: an object decoded by json.loads has string keys.
    patched = cast(dict[str, object], data)
    patched["status"] = status
    return json.dumps(patched, separators=(",", ":"), ensure_ascii=False)


def unstored(next_sequence_number: int, events: tuple[StoredEvent, ...]) -> tuple[StoredEvent, ...]:
    """The batch without the events the log already holds (a retried write repeats them)."""
    skip = 0
    while skip < len(events) and events[skip].sequence_number < next_sequence_number:
        skip += 1
    return events[skip:]


def check_batch(
    response_id: str, next_sequence_number: int, events: tuple[StoredEvent, ...], limit: int
) -> int:
    """Check a batch continues the log with no gap; return the next expected number."""
    expected = next_sequence_number
    for event in events:
        if event.sequence_number != expected:
            raise StoreStateError(
                f"event order of response {response_id}",
                expected=f"sequence_number {expected}",
                actual=str(event.sequence_number),
            )
        size = len(event.data.encode())
        if size > limit:
            raise StoreLimitError(f"event {expected} ({size} bytes)", limit=limit, size=size)
        expected += 1
    return expected


def dropped_events(first_retained: int, starting_after: int) -> int:
    """How many events after ``starting_after`` precede the oldest one still stored."""
    return max(0, first_retained - (starting_after + 1))


def page_items(response_id: str, items: tuple[StoredItem, ...], query: ItemQuery) -> ItemPage:
    """One page of ``items`` (stored oldest first) in the query's order, after its cursor."""
    ordered = items if query.order == "asc" else items[::-1]
    start = 0
    if query.after is not None:
        position = next((i for i, item in enumerate(ordered) if item.id == query.after), None)
        if position is None:
            raise ItemNotFound(query.after, response_id=response_id)
        start = position + 1
    end = start + query.limit
    return ItemPage(items=ordered[start:end], has_more=end < len(ordered))


def walk_chain(
    response_id: str, load: Callable[[str], StoredResponse | None], max_depth: int
) -> tuple[ConversationSegment, ...]:
    """Follow ``previous_response_id`` links back from ``response_id``; oldest segment first."""
    segments: list[ConversationSegment] = []
    current: str | None = response_id
    referrer: str | None = None
    while current is not None:
        if len(segments) == max_depth:
            raise StoreLimitError(
                f"conversation ending at {response_id}: chain depth",
                limit=max_depth,
                size=max_depth + 1,
            )
        record = load(current)
        if record is None:
            context = f"previous_response_id of {referrer}" if referrer else ""
            raise ResponseNotFound(current, context=context)
        if not record.finished:
            raise StoreStateError(
                f"response {current} in a conversation",
                expected="a finished response",
                actual=record.status,
            )
        segments.append(
            ConversationSegment(
                response_id=record.id,
                input_items=record.input_items,
                output_items=record.output_items,
                raw_turns=record.raw_turns,
            )
        )
        referrer, current = current, record.previous_response_id
    return tuple(reversed(segments))


def summary(record: StoredResponse) -> ResponseSummary:
    """What a listing shows of ``record``."""
    return ResponseSummary(
        id=record.id,
        created_at=record.created_at,
        status=record.status,
        model=record.model,
        previous_response_id=record.previous_response_id,
        background=record.background,
    )


def page_responses(ordered: list[ResponseSummary], query: ResponseQuery) -> ResponsePage:
    """The page of ``ordered`` (already in ``query.order``, one more than the limit at most)."""
    return ResponsePage(tuple(ordered[: query.limit]), has_more=len(ordered) > query.limit)
