"""Several services over one store, as workers: any of them follows, cancels, deletes, continues.

The workers are ResponsesService instances in one process sharing a MemoryStore, each through
its own MemorySignals of one hub (the in-memory implementation of the seam PostgreSQL's
LISTEN/NOTIFY implements across processes: tests/e2e/test_workers.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from antiphon.engines import ScriptedFailure, ScriptedTurn, TurnRule
from antiphon.exceptions import InvalidRequestError
from antiphon.responses.catalog import FixedModels
from antiphon.responses.request import CreateResponseBody, parse_create_body
from antiphon.responses.service import ResponsesService
from antiphon.store import MemoryStore
from antiphon.store.base import ItemQuery, ResponseStore
from antiphon.store.signals import MemorySignals, SignalHub, SignallingStore
from tests.responses.support import check_json_batches, engine, message, turn

_TIMEOUT = 10.0
_STALL = turn(message("Working on it"), fail=ScriptedFailure("stall", after_events=2))
_AGAIN = ScriptedTurn(
    items=(message("You said hello."),), when=TurnRule(last_text_contains="Again")
)


def _body(**fields: object) -> CreateResponseBody:
    return parse_create_body({"model": "m", "input": "Hello", **fields})


@asynccontextmanager
async def _workers(
    count: int, *turns: ScriptedTurn, store: ResponseStore | None = None
) -> AsyncGenerator[list[ResponsesService]]:
    shared = MemoryStore() if store is None else store
    hub = SignalHub()
    async with AsyncExitStack() as stack:
        services: list[ResponsesService] = []
        for _ in range(count):
            signals = MemorySignals(hub)
            wrapped = SignallingStore(shared, signals)
            service = ResponsesService(FixedModels({"m": engine(*turns)}), wrapped, signals=signals)
            services.append(await stack.enter_async_context(service))
        yield services


async def test_a_run_is_followed_live_and_cancelled_through_another_worker() -> None:
    async with asyncio.timeout(_TIMEOUT), _workers(2, _STALL) as (owner, other):
        run = await owner.create(_body(background=True))
        follower = aiter(other.follow(run.id, -1))
        head = await anext(follower)
        # Live: the run is still going (stalled upstream) when the other worker has its events.
        assert not run.finished.is_set()
        assert head[0][0] == "response.created"
        cancelled = json.loads(await other.cancel(run.id))
        assert cancelled["status"] == "cancelled"
        await run.finished.wait()  # the owner stopped its run (the timeout bounds the wait)
        rest = [batch async for batch in follower]
        assert check_json_batches([head, *rest]).status == "cancelled"


async def test_a_synchronous_run_elsewhere_cannot_be_cancelled() -> None:
    async with asyncio.timeout(_TIMEOUT), _workers(2, _STALL) as (owner, other):
        run = await owner.create(_body())
        await anext(aiter(other.follow(run.id, -1)))  # its record exists
        with pytest.raises(InvalidRequestError, match="synchronous"):
            await other.cancel(run.id)
        assert not run.finished.is_set()
        await owner.delete(run.id)


async def test_a_running_response_is_deleted_through_another_worker() -> None:
    async with asyncio.timeout(_TIMEOUT), _workers(2, _STALL) as (owner, other):
        run = await owner.create(_body(background=True))
        await anext(aiter(other.follow(run.id, -1)))
        await other.delete(run.id)
        await run.finished.wait()
        for service in (owner, other):
            with pytest.raises(InvalidRequestError) as gone:
                await service.get(run.id)
            assert gone.value.status == 404


async def test_a_conversation_continues_and_reads_on_any_worker() -> None:
    async with (
        asyncio.timeout(_TIMEOUT),
        _workers(3, _AGAIN, turn(message("Hi!"))) as (first, second, third),
    ):
        opening = await first.create(_body())
        batches = [batch async for batch in second.follow(opening.id, -1)]
        assert check_json_batches(batches).output_text == "Hi!"
        assert opening.task is not None
        await asyncio.wait({opening.task})
        follow_up = await second.create(_body(input="Again?", previous_response_id=opening.id))
        await follow_up.finished.wait()
        assert follow_up.final_response().output_text == "You said hello."
        assert follow_up.task is not None
        await asyncio.wait({follow_up.task})
        stored = json.loads(await third.get(follow_up.id))
        assert (stored["status"], stored["previous_response_id"]) == ("completed", opening.id)
        page = await third.input_items(follow_up.id, ItemQuery())
        assert len(page.items) == 1


async def test_a_follower_elsewhere_sees_a_run_that_ended_while_it_waited() -> None:
    async with asyncio.timeout(_TIMEOUT), _workers(2, turn(message("Done"))) as (owner, other):
        run = await owner.create(_body(background=True))
        batches = [batch async for batch in other.follow(run.id, -1)]
        response = check_json_batches(batches)
        assert (response.status, response.output_text) == ("completed", "Done")
