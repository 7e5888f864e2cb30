"""What a dead run leaves behind is finished: at startup, and by the service's maintenance.

A response the store holds as ``queued`` or ``in_progress`` when the service starts belongs to a
server that died: it ends ``failed`` with a closing ``response.failed`` in its event log, so a
follower ends, a cancel answers its final state, and a follow-up turn can build on it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from antiphon.engines import ScriptedEngine, ScriptedTurn
from antiphon.engines.scripted import Script
from antiphon.exceptions import ConfigurationError
from antiphon.responses.catalog import FixedModels
from antiphon.responses.request import parse_create_body
from antiphon.responses.service import ResponsesService
from antiphon.server.settings import load_config_file
from antiphon.store import MemoryStore, SqliteStore
from antiphon.store.base import (
    NewResponse,
    ResponseOutcome,
    ResponseStore,
    StoredEvent,
    StoreLimits,
)
from tests.responses.support import check_json_batches, message
from tests.store.conftest import events, item, response_json

_TIMEOUT = 10.0


def _new(response_id: str, *, status: str = "in_progress", background: bool = False) -> NewResponse:
    return NewResponse(
        id=response_id,
        created_at=1_000.0,  # what the record's JSON says; retention counts from the clock below
        model="m",
        response_json=response_json(response_id, "in_progress"),
        input_items=(item(f"{response_id}_in", "What is the weather?"),),
        background=background,
        status="queued" if status == "queued" else "in_progress",
    )


def _engine() -> ScriptedEngine:
    return ScriptedEngine(Script(turns=(ScriptedTurn(items=(message("Sunny."),), repeat=True),)))


def _service(store: ResponseStore) -> ResponsesService:
    models = FixedModels({"m": _engine()})
    return ResponsesService(models, store, clock=lambda: 1_000.0)


async def _replay(service: ResponsesService, response_id: str) -> list[tuple[str, str]]:
    return [event async for batch in service.follow(response_id, -1) for event in batch]


@pytest.fixture
async def dead_server_file(tmp_path: Path) -> Path:
    """A store file as a killed server leaves it: two responses never finished."""
    path = tmp_path / "responses.sqlite3"
    store = await SqliteStore.open(path, clock=lambda: 1_000.0)
    await store.create(_new("resp_streaming"))
    await store.append_events("resp_streaming", events(0, 3))
    await store.create(_new("resp_queued", status="queued", background=True))
    await store.create(_new("resp_done"))
    await store.finish(
        "resp_done", ResponseOutcome("completed", response_json("resp_done", "completed", "Hi"))
    )
    await store.close()
    return path


async def test_responses_a_dead_server_left_running_end_failed_at_startup(
    dead_server_file: Path,
) -> None:
    store = await SqliteStore.open(dead_server_file, clock=lambda: 1_000.0)
    try:
        async with asyncio.timeout(_TIMEOUT), _service(store) as service:
            for response_id, last_sequence in (("resp_streaming", 3), ("resp_queued", 0)):
                stored = json.loads(await service.get(response_id))
                assert stored["status"] == "failed"
                assert stored["error"]["code"] == "server_error"
                assert "restarted" in stored["error"]["message"]
                replay = await _replay(service, response_id)
                kind, data = replay[-1]
                assert kind == "response.failed"
                assert json.loads(data)["sequence_number"] == last_sequence
                assert json.loads(data)["response"] == stored
            # A cancel answers the final state instead of hanging or reviving it.
            cancelled = json.loads(await service.cancel("resp_queued"))
            assert cancelled["status"] == "failed"
            # A finished response is left as it was.
            assert json.loads(await service.get("resp_done"))["status"] == "completed"
            assert await store.unfinished() == ()
    finally:
        await store.close()


async def test_a_failed_response_can_still_be_continued(dead_server_file: Path) -> None:
    # Its input is kept (its output never was): the follow-up carries the question on.
    store = await SqliteStore.open(dead_server_file, clock=lambda: 1_000.0)
    try:
        async with asyncio.timeout(_TIMEOUT), _service(store) as service:
            body = parse_create_body(
                {"model": "m", "input": "Again?", "previous_response_id": "resp_streaming"}
            )
            run = await service.create(body)
            final = check_json_batches([b async for b in run.follow()])
            assert final.status == "completed"
            assert final.previous_response_id == "resp_streaming"
            chain = await store.chain(run.id)
            assert [segment.response_id for segment in chain] == ["resp_streaming", run.id]
    finally:
        await store.close()


async def test_maintenance_fails_orphans_and_purges_expired_responses() -> None:
    now = [1_000.0]
    store = MemoryStore(clock=lambda: now[0])
    models = FixedModels({"m": _engine()})
    async with (
        asyncio.timeout(_TIMEOUT),
        ResponsesService(models, store, clock=lambda: now[0]) as service,
    ):
        # A record whose run is gone (its end was refused by the store): no run owns it.
        await store.create(_new("resp_orphan"))
        await store.append_events("resp_orphan", (StoredEvent(0, '{"type":"x"}'),))
        assert await service.maintain() == (0, 1)
        orphan = json.loads(await service.get("resp_orphan"))
        assert orphan["status"] == "failed"
        assert (await _replay(service, "resp_orphan"))[-1][0] == "response.failed"
        # A live run is never an orphan.
        run = await service.create(
            parse_create_body({"model": "m", "input": "Hi", "background": True})
        )
        assert await service.maintain() == (0, 0)
        await run.finished.wait()
        now[0] += 31 * 24 * 3600.0
        assert await service.maintain() == (2, 0)


async def test_a_periodic_maintenance_runs_in_the_service() -> None:
    now = [1_000.0]
    purged = asyncio.Event()

    class Watched(MemoryStore):
        async def purge_expired(self, now: float) -> int:
            count = await super().purge_expired(now)
            if count:
                purged.set()
            return count

    store = Watched(clock=lambda: now[0])
    await store.create(_new("resp_old"))
    await store.finish(
        "resp_old", ResponseOutcome("completed", response_json("resp_old", "completed"))
    )
    now[0] += 31 * 24 * 3600.0
    models = FixedModels({"m": _engine()})
    async with (
        asyncio.timeout(_TIMEOUT),
        ResponsesService(models, store, clock=lambda: now[0], purge_interval=0.01),
    ):
        await purged.wait()


def test_the_purge_interval_is_a_store_setting(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text("[store]\npurge_interval_seconds = 600\n", encoding="utf-8")
    assert load_config_file(config).store_limits.purge_interval_seconds == 600.0
    assert StoreLimits().purge_interval_seconds == 3600.0
    with pytest.raises(ConfigurationError):
        StoreLimits(purge_interval_seconds=0)
