"""Workers over a real PostgreSQL: LISTEN/NOTIFY between them, and the takeover of dead ones.

Each worker is a ResponsesService with its own PostgresStore (its own lease; each write
announces itself) and PostgresSignals (its own listening connection), as ``antiphon serve``
processes have; they share one database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager

import psycopg
from openai.types.responses import Response

from antiphon.engines import ScriptedFailure, ScriptedTurn
from antiphon.responses.catalog import FixedModels
from antiphon.responses.request import CreateResponseBody, parse_create_body
from antiphon.responses.service import ResponsesService
from antiphon.store.postgres import PostgresStore
from antiphon.store.postgres_signals import PostgresSignals
from tests.responses.support import check_json_batches, engine, message, turn

_TIMEOUT = 30.0
_STALL = turn(message("Working on it"), fail=ScriptedFailure("stall", after_events=2))


def _body(**fields: object) -> CreateResponseBody:
    return parse_create_body({"model": "m", "input": "Hello", **fields})


@asynccontextmanager
async def _workers(
    url: str, count: int, *turns: ScriptedTurn
) -> AsyncGenerator[list[ResponsesService]]:
    async with AsyncExitStack() as stack:
        services: list[ResponsesService] = []
        for _ in range(count):
            store = await PostgresStore.open(url, lease_seconds=60)
            stack.push_async_callback(store.close)
            store.announce_changes = True  # as antiphon serve does (server/cluster.py)
            signals = await PostgresSignals.open(url)
            stack.push_async_callback(signals.close)
            service = ResponsesService(FixedModels({"m": engine(*turns)}), store, signals=signals)
            services.append(await stack.enter_async_context(service))
        yield services


async def test_a_run_is_followed_and_cancelled_from_another_worker(postgres_url: str) -> None:
    async with asyncio.timeout(_TIMEOUT), _workers(postgres_url, 2, _STALL) as (owner, other):
        run = await owner.create(_body(background=True))
        follower = aiter(other.follow(run.id, -1))
        head = await anext(follower)
        assert head[0][0] == "response.created"
        assert not run.finished.is_set()
        cancelled = json.loads(await other.cancel(run.id))
        assert cancelled["status"] == "cancelled"
        await run.finished.wait()
        rest = [batch async for batch in follower]
        assert check_json_batches([head, *rest]).status == "cancelled"


async def test_a_dead_workers_run_is_failed_and_its_followers_hear_it(postgres_url: str) -> None:
    # Another worker starts a background run, then dies: its lease is gone.
    async with (
        asyncio.timeout(_TIMEOUT),
        _workers(postgres_url, 1, _STALL) as (survivor,),
        _workers(postgres_url, 1, _STALL) as (doomed,),
    ):
        run = await doomed.create(_body(background=True))
        follower = aiter(survivor.follow(run.id, -1))
        head = await anext(follower)
        inner = doomed._store  # pyright: ignore[reportPrivateUsage]
        assert isinstance(inner, PostgresStore)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DELETE FROM workers WHERE id = %s", (inner.worker_id,))
        assert await survivor.take_over() == 1
        rest = [batch async for batch in follower]
        # The stream as a restart leaves it: cut where the worker died, then the end.
        last_type, last = [event for batch in (head, *rest) for event in batch][-1]
        assert last_type == "response.failed"
        response = Response.model_validate(json.loads(last)["response"])
        assert response.status == "failed"
        assert response.error is not None
        assert "restarted" in response.error.message
        stored = Response.model_validate_json(await survivor.get(run.id))
        assert stored.status == "failed"
