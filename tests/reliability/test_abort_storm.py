"""Hundreds of clients leave their streams at random points: no response is left running.

The whole app runs in this process (uvicorn on a loopback socket, a SQLite store file, a
scripted model streaming a long answer). Each client reads a random number of events, then drops
its connection, which cancels its run wherever it is: before the record is written, while a
batch of events waits in the store's queue, or while the end is being stored. Once the server
has shut down, every response the clients saw created is terminal in the store, and its event
log is gapless and ends with the terminal event of that status.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import httpx
import pytest

from antiphon.server.app import create_app
from antiphon.server.settings import ModelRoute, ServerSettings
from antiphon.store import SqliteStore
from antiphon.store.base import TERMINAL_STATUSES
from tests.server.support import serving

pytestmark = pytest.mark.e2e

_CLIENTS = 240
_CONCURRENCY = 150
_TERMINAL_EVENTS = {
    "response.completed": "completed",
    "response.failed": "failed",
    "response.incomplete": {"incomplete", "cancelled"},
}


def _settings(tmp_path: Path) -> ServerSettings:
    script = {
        "chunking": {"mode": "fixed", "size": 3},
        "turns": [{"repeat": True, "items": [{"kind": "message", "text": "lorem ipsum " * 25}]}],
    }
    path = tmp_path / "long.json"
    path.write_text(json.dumps(script), encoding="utf-8")
    return ServerSettings(
        models=(ModelRoute(name="long", api="scripted", script=path),),
        store=str(tmp_path / "responses.sqlite3"),
        code_interpreter=False,
    )


async def _client(
    client: httpx.AsyncClient, leave_after: int | None, gate: asyncio.Semaphore
) -> str | None:
    """Stream one response and leave after ``leave_after`` events; the response id seen."""
    body = {"model": "long", "input": "Go", "stream": True}
    response_id: str | None = None
    async with gate, client.stream("POST", "/v1/responses", json=body) as response:
        assert response.status_code == 200
        count = 0
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event["type"] == "response.created":
                response_id = str(event["response"]["id"])
            count += 1
            if leave_after is not None and count > leave_after:
                break  # closing the stream early drops the connection
    return response_id


def _leave_point(rng: random.Random) -> int | None:
    roll = rng.random()
    if roll < 0.4:
        return rng.randint(0, 3)  # while the record is being created
    if roll < 0.9:
        return rng.randint(4, 250)  # mid-stream, or around the end
    return None  # reads to the end


async def test_aborted_streams_leave_no_response_running(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    rng = random.Random(10)
    gate = asyncio.Semaphore(_CONCURRENCY)
    limits = httpx.Limits(max_connections=_CONCURRENCY, max_keepalive_connections=0)
    async with asyncio.timeout(60):
        async with (
            serving(create_app(settings)) as url,
            httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client,
        ):
            seen = await asyncio.gather(
                *(_client(client, _leave_point(rng), gate) for _ in range(_CLIENTS))
            )
        # The server has shut down: whatever it left in the store stays as it is.
        store = await SqliteStore.open(Path(str(settings.store)))
        try:
            assert await store.unfinished() == ()
            ids = [response_id for response_id in seen if response_id is not None]
            assert len(ids) > _CLIENTS // 2
            statuses: dict[str, int] = {}
            for response_id in ids:
                record = await store.get(response_id)
                assert record.status in TERMINAL_STATUSES
                statuses[record.status] = statuses.get(record.status, 0) + 1
                replay = await store.events(response_id, limit=10_000)
                numbers = [event.sequence_number for event in replay.events]
                assert numbers == list(range(len(numbers)))
                last = json.loads(replay.events[-1].data)
                expected = _TERMINAL_EVENTS[last["type"]]
                assert record.status in expected
                assert last["response"]["status"] == record.status
            assert statuses.get("cancelled", 0) > 0
            assert statuses.get("completed", 0) > 0
        finally:
            await store.close()
