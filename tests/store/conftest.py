"""Fixtures shared by the store tests: every contract test runs against every implementation.

PostgreSQL runs in a throwaway server (tests/conftest.py), skipped loudly where it is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openai.types.responses import Response, ResponseOutputMessage, ResponseStatus

from antiphon.store import (
    MemoryStore,
    NewResponse,
    ResponseOutcome,
    ResponseStore,
    SqliteStore,
    StoredEvent,
    StoredItem,
    StoreLimits,
)

START = 1_000_000.0
LIMITS = StoreLimits(
    max_response_bytes=64 * 1024,
    max_events_per_response=100,
    max_chain_depth=5,
    retention_seconds=3600.0,
    max_responses=50,
)


class FakeClock:
    """A clock the tests move by hand, so retention is tested without waiting."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[ResponseStore]:
    opened: ResponseStore
    if request.param == "memory":
        opened = MemoryStore(LIMITS, clock=clock)
    elif request.param == "sqlite":
        opened = await SqliteStore.open(tmp_path / "store.sqlite3", LIMITS, clock=clock)
    else:
        # Requested here, not as an argument: the memory and SQLite runs need no server.
        url: str = request.getfixturevalue("postgres_url")
        from antiphon.store.postgres import PostgresStore  # psycopg: only for this run

        opened = await PostgresStore.open(url, LIMITS, clock=clock)
    yield opened
    await opened.close()


def response_json(response_id: str, status: ResponseStatus, text: str = "") -> str:
    """The compact JSON of an official ``Response``, as the wire layer would produce it."""
    output = [
        ResponseOutputMessage.model_validate(
            {
                "id": f"msg_{response_id}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    ]
    response = Response.model_validate(
        {
            "id": response_id,
            "object": "response",
            "created_at": START,
            "model": "gpt-oss-20b",
            "status": status,
            "output": output if text else [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
    )
    return response.model_dump_json(by_alias=True, exclude_unset=True)


def item(item_id: str, text: str = "hello") -> StoredItem:
    data = f'{{"id":"{item_id}","type":"message","role":"user","content":"{text}"}}'
    return StoredItem(id=item_id, data=data)


def new_response(
    response_id: str,
    *,
    previous: str | None = None,
    inputs: tuple[str, ...] = ("in_1",),
    created_at: float = START,
    background: bool = False,
) -> NewResponse:
    return NewResponse(
        id=response_id,
        created_at=created_at,
        model="gpt-oss-20b",
        response_json=response_json(response_id, "in_progress"),
        input_items=tuple(item(f"{response_id}_{name}") for name in inputs),
        previous_response_id=previous,
        background=background,
    )


def outcome(
    response_id: str, status: ResponseStatus = "completed", text: str = "hi"
) -> ResponseOutcome:
    return ResponseOutcome(
        status=status,
        response_json=response_json(response_id, status, text),
        output_items=(item(f"msg_{response_id}", text),),
        raw_turns=(f"<|channel|>final<|message|>{text}<|end|>",),
    )


def events(start: int, count: int) -> tuple[StoredEvent, ...]:
    return tuple(
        StoredEvent(n, f'{{"type":"response.output_text.delta","sequence_number":{n}}}')
        for n in range(start, start + count)
    )
