"""Nothing says a response completed before the store has its end.

A store whose ``finish`` is held open shows the window between a run's last event and its
stored end: during it, no follower has the terminal event and ``GET`` does not say
``completed``; once the store took the end, its event log holds the terminal event too.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from antiphon.engines import ScriptedEngine, ScriptedTurn
from antiphon.engines.scripted import Script
from antiphon.responses import run as run_module
from antiphon.responses.catalog import FixedModels
from antiphon.responses.request import parse_create_body
from antiphon.responses.service import ResponsesService
from antiphon.store import MemoryStore
from antiphon.store.base import ResponseOutcome, StoredEvent, StoredResponse
from tests.responses.support import message

_TIMEOUT = 10.0
_TERMINAL = {"response.completed", "response.failed", "response.incomplete"}


class HeldStore(MemoryStore):
    """A memory store whose ``finish`` waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def finish(
        self, response_id: str, outcome: ResponseOutcome, *, events: tuple[StoredEvent, ...] = ()
    ) -> StoredResponse:
        self.entered.set()
        await self.release.wait()
        return await super().finish(response_id, outcome, events=events)


def _service(store: MemoryStore) -> ResponsesService:
    script = Script(turns=(ScriptedTurn(items=(message("Done."),), repeat=True),))
    return ResponsesService(FixedModels({"m": ScriptedEngine(script)}), store)


async def test_the_end_is_stored_before_anyone_hears_of_it() -> None:
    store = HeldStore()
    async with asyncio.timeout(_TIMEOUT), _service(store) as service:
        run = await service.create(
            parse_create_body({"model": "m", "input": "Hi", "background": True, "stream": True})
        )
        seen: list[str] = []
        follower = run.follow(keepalive=0.05)
        await store.entered.wait()
        # Drain what was published; an idle keepalive ([]) says the follower caught up.
        async for batch in follower:
            if not batch:
                break
            seen += [kind for kind, _ in batch]
        assert not _TERMINAL & set(seen)
        assert json.loads(await service.get(run.id))["status"] == "in_progress"
        assert not run.finished.is_set()
        store.release.set()
        async for batch in follower:
            seen += [kind for kind, _ in batch]
        assert seen[-1] == "response.completed"
        assert json.loads(await service.get(run.id))["status"] == "completed"
        replay = await store.events(run.id)
        assert json.loads(replay.events[-1].data)["type"] == "response.completed"


async def test_a_synchronous_answer_waits_for_the_stored_end() -> None:
    store = HeldStore()
    async with asyncio.timeout(_TIMEOUT), _service(store) as service:
        run = await service.create(parse_create_body({"model": "m", "input": "Hi"}))
        await store.entered.wait()
        assert not run.finished.is_set()  # the JSON answer waits on this
        assert run.final_response().status == "in_progress"
        store.release.set()
        await run.finished.wait()
        assert run.final_response().status == "completed"
        assert (await store.get(run.id)).status == "completed"


async def test_an_end_the_store_never_took_is_not_announced_as_completed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The store hangs on the end; the run is then cancelled (its client left) and its end
    # write gives up: followers hear it failed, not the completion nobody stored.
    monkeypatch.setattr(run_module, "_STORE_WRITE_TIMEOUT", 0.05)
    store = HeldStore()
    async with asyncio.timeout(_TIMEOUT), _service(store) as service:
        run = await service.create(parse_create_body({"model": "m", "input": "Hi", "stream": True}))
        follower = run.follow()
        await store.entered.wait()
        run.cancel()
        kinds = [kind async for batch in follower for kind, _ in batch]
        assert kinds[-1] == "response.failed"
        assert "response.completed" not in kinds
        assert run.final_response().status == "failed"
        store.release.set()
