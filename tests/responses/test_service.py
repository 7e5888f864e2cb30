"""ResponsesService: create, read, follow, cancel and delete, against a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from antiphon.engines import ScriptedFailure, ScriptedTurn, TurnRule
from antiphon.exceptions import InvalidRequestError
from antiphon.responses.catalog import FixedModels
from antiphon.responses.request import CreateResponseBody, parse_create_body
from antiphon.responses.run import LiveRun
from antiphon.responses.service import ResponsesService
from antiphon.store import MemoryStore, SqliteStore
from antiphon.store.base import ItemQuery, NewResponse, ResponseStore, StoreLimits
from tests.responses.support import check_json_batches, engine, message, turn

_TIMEOUT = 10.0
_STALL = turn(message("Working on it"), fail=ScriptedFailure("stall", after_events=2))


def _body(**fields: object) -> CreateResponseBody:
    return parse_create_body({"model": "m", "input": "Hello", **fields})


async def _service(store: ResponseStore, *turns: ScriptedTurn) -> ResponsesService:
    return ResponsesService(FixedModels({"m": engine(*turns)}), store)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(tmp_path / "responses.db")
    yield store
    await store.close()


async def _events(
    service: ResponsesService, response_id: str, after: int = -1
) -> list[list[tuple[str, str]]]:
    return [batch async for batch in service.follow(response_id, after)]


async def _status(run: LiveRun) -> str | None:
    await run.finished.wait()
    return run.final_response().status


async def test_a_response_is_created_read_listed_and_deleted(sqlite: SqliteStore) -> None:
    async with asyncio.timeout(_TIMEOUT), await _service(sqlite, turn(message("Hi!"))) as service:
        run = await service.create(_body(temperature=0.5, top_p=0.9, metadata={"k": "v"}))
        live = check_json_batches(await _events(service, run.id))
        assert live.output_text == "Hi!"
        await _wait_stored(service, run)
        stored = json.loads(await service.get(run.id))
        assert (stored["status"], stored["temperature"], stored["top_p"]) == ("completed", 0.5, 0.9)
        assert stored["metadata"] == {"k": "v"}
        replayed = check_json_batches(await _events(service, run.id))
        assert replayed.output_text == "Hi!"
        tail = await _events(service, run.id, after=2)
        assert tail[0][0][0] != "response.created"
        page = await service.input_items(run.id, ItemQuery())
        assert [json.loads(item.data)["content"] for item in page.items] == [
            [{"type": "input_text", "text": "Hello"}]
        ]
        with pytest.raises(InvalidRequestError) as cursor:
            await service.input_items(run.id, ItemQuery(after="msg_not_here"))
        assert (cursor.value.status, cursor.value.param) == (400, "after")
        await service.delete(run.id)
        with pytest.raises(InvalidRequestError) as gone:
            await service.get(run.id)
        assert (gone.value.status, gone.value.code) == (404, "not_found")
        with pytest.raises(InvalidRequestError):
            await service.delete(run.id)
        with pytest.raises(InvalidRequestError):
            await service.input_items(run.id, ItemQuery())
        with pytest.raises(InvalidRequestError):
            await _events(service, run.id)


async def test_a_conversation_continues_from_its_previous_response(sqlite: SqliteStore) -> None:
    second = ScriptedTurn(
        items=(message("You said hello."),), when=TurnRule(last_text_contains="Again")
    )
    async with (
        asyncio.timeout(_TIMEOUT),
        await _service(sqlite, turn(message("Hi!")), second) as service,
    ):
        first = await service.create(_body())
        assert await _status(first) == "completed"
        await _wait_stored(service, first)
        follow_up = await service.create(_body(input="Again?", previous_response_id=first.id))
        assert await _status(follow_up) == "completed"
        assert follow_up.final_response().output_text == "You said hello."
        assert follow_up.final_response().previous_response_id == first.id


async def _wait_stored(service: ResponsesService, run: LiveRun) -> None:
    # The task drops the run from the live table after storing it: wait for the task itself.
    assert run.task is not None
    await asyncio.wait({run.task})


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [("missing", 404, "previous_response_not_found"), ("unfinished", 400, "invalid_request")],
)
async def test_a_previous_response_that_cannot_continue_is_refused(
    sqlite: SqliteStore, setup: str, status: int, code: str
) -> None:
    if setup == "unfinished":
        await sqlite.create(NewResponse("resp_open", time.time(), "m", "{}"))
    async with await _service(sqlite) as service:
        with pytest.raises(InvalidRequestError) as refused:
            await service.create(
                _body(previous_response_id="resp_missing" if setup == "missing" else "resp_open")
            )
    assert (refused.value.status, refused.value.code, refused.value.param) == (
        status,
        code,
        "previous_response_id",
    )


async def test_a_previous_response_still_running_is_refused() -> None:
    async with asyncio.timeout(_TIMEOUT), await _service(MemoryStore(), _STALL) as service:
        running = await service.create(_body(background=True))
        with pytest.raises(InvalidRequestError, match="still in progress"):
            await service.create(_body(previous_response_id=running.id))
        cancelled = json.loads(await service.cancel(running.id))
        assert cancelled["status"] == "cancelled"


async def test_an_unknown_model_is_a_404() -> None:
    async with await _service(MemoryStore()) as service:
        with pytest.raises(InvalidRequestError) as refused:
            await service.create(parse_create_body({"model": "nope", "input": "x"}))
    assert (refused.value.status, refused.value.code, refused.value.param) == (
        404,
        "model_not_found",
        "model",
    )


async def test_background_responses_can_be_followed_and_cancelled() -> None:
    store = MemoryStore()
    async with (
        asyncio.timeout(_TIMEOUT),
        await _service(store, _STALL, turn(message("Quick."))) as service,
    ):
        run = await service.create(_body(background=True))
        assert json.loads(await service.get(run.id))["status"] in ("queued", "in_progress")
        events = service.follow(run.id, -1)
        head = await anext(events)
        assert head[0][0] == "response.created"
        cancelled = json.loads(await service.cancel(run.id))
        assert cancelled["status"] == "cancelled"
        rest = [batch async for batch in events]
        assert check_json_batches([head, *rest]).status == "cancelled"
        await _wait_stored(service, run)
        again = json.loads(await service.cancel(run.id))  # a stored background response
        assert again["status"] == "cancelled"
        done = await service.create(_body())
        assert await _status(done) == "completed"
        await _wait_stored(service, done)
        with pytest.raises(InvalidRequestError, match="synchronous"):
            await service.cancel(done.id)


async def test_a_live_foreground_response_cannot_be_cancelled_but_can_be_deleted() -> None:
    store = MemoryStore()
    async with asyncio.timeout(_TIMEOUT), await _service(store, _STALL) as service:
        run = await service.create(_body())
        with pytest.raises(InvalidRequestError, match="synchronous"):
            await service.cancel(run.id)
        await service.delete(run.id)
        assert run.final_response().status == "cancelled"
        with pytest.raises(InvalidRequestError):
            await service.get(run.id)


async def test_store_false_leaves_nothing_to_read() -> None:
    async with (
        asyncio.timeout(_TIMEOUT),
        await _service(MemoryStore(), turn(message("Gone."))) as service,
    ):
        run = await service.create(_body(store=False))
        assert await _status(run) == "completed"
        with pytest.raises(InvalidRequestError):
            await service.get(run.id)


async def test_a_replay_with_a_gap_is_refused() -> None:
    store = MemoryStore(StoreLimits(max_events_per_response=3))
    async with (
        asyncio.timeout(_TIMEOUT),
        await _service(store, turn(message("Many events."))) as service,
    ):
        run = await service.create(_body())
        await _wait_stored(service, run)
        with pytest.raises(InvalidRequestError, match="no longer stored") as gap:
            await _events(service, run.id)
        assert gap.value.param == "starting_after"


async def test_leaving_the_service_cancels_runs_still_going() -> None:
    store = MemoryStore()
    async with asyncio.timeout(_TIMEOUT):
        async with await _service(store, _STALL) as service:
            run = await service.create(_body(background=True))
        assert (await store.get(run.id)).status == "cancelled"
