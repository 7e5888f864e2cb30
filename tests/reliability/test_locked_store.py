"""A database locked past its busy timeout fails the response, says so once, and is repaired.

Another process holding SQLite's write lock is not a client leaving: the response ends
``failed`` with an error saying it could not be stored (never ``cancelled``, never
``completed``), one error is logged for it, and a record the store could not finish is failed
by the service's maintenance once the lock is gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from antiphon.engines import ScriptedEngine, ScriptedTurn
from antiphon.engines.scripted import Script
from antiphon.responses.catalog import FixedModels
from antiphon.responses.request import parse_create_body
from antiphon.responses.service import ResponsesService
from antiphon.store import SqliteStore
from antiphon.store.base import NewResponse, StoredResponse
from tests.responses.support import message

_TIMEOUT = 10.0
_BUSY = 0.1


class LockedAfterCreate(SqliteStore):
    """Another process takes the write lock right after a response's record is written."""

    blocker: sqlite3.Connection

    async def create(self, new: NewResponse) -> StoredResponse:
        record = await super().create(new)
        self.blocker.execute("BEGIN IMMEDIATE")
        return record


def _service(store: SqliteStore) -> ResponsesService:
    script = Script(turns=(ScriptedTurn(items=(message("Never stored."),), repeat=True),))
    return ResponsesService(FixedModels({"m": ScriptedEngine(script)}), store)


async def _stream(service: ResponsesService) -> tuple[str, list[str], str]:
    run = await service.create(parse_create_body({"model": "m", "input": "Hi", "stream": True}))
    events = [event async for batch in run.follow() for event in batch]
    final = json.loads(events[-1][1])["response"]
    assert final["status"] == "failed"
    return run.id, [kind for kind, _ in events], str(final["error"]["message"])


def _logged(caplog: pytest.LogCaptureFixture, response_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if response_id in r.getMessage()]


async def test_a_locked_database_fails_the_response_and_logs_it_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "responses.sqlite3"
    store = await SqliteStore.open(path, busy_timeout=_BUSY)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        async with asyncio.timeout(_TIMEOUT), _service(store) as service:
            blocker.execute("BEGIN IMMEDIATE")
            with caplog.at_level(logging.WARNING, logger="antiphon"):
                response_id, kinds, error = await _stream(service)
            assert kinds[-1] == "response.failed"
            assert "could not be stored" in error
            [record] = _logged(caplog, response_id)
            assert record.levelno == logging.ERROR
            assert "locked" in record.getMessage()
            blocker.execute("ROLLBACK")
    finally:
        blocker.close()
        await store.close()


async def test_a_record_left_active_by_a_lock_is_failed_once_the_lock_is_gone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "responses.sqlite3"
    store = await LockedAfterCreate.open(path, busy_timeout=_BUSY)
    assert isinstance(store, LockedAfterCreate)
    store.blocker = sqlite3.connect(path, isolation_level=None)
    try:
        async with asyncio.timeout(_TIMEOUT), _service(store) as service:
            with caplog.at_level(logging.WARNING, logger="antiphon"):
                response_id, kinds, error = await _stream(service)
            assert kinds[-1] == "response.failed"
            assert "could not be stored" in error
            assert len(_logged(caplog, response_id)) == 1
            store.blocker.execute("ROLLBACK")
            assert (await store.get(response_id)).status == "in_progress"  # nobody could finish it
            assert await service.maintain() == (0, 1)
            stored = json.loads(await service.get(response_id))
            assert stored["status"] == "failed"
            replay = [kind async for batch in service.follow(response_id, -1) for kind, _ in batch]
            assert replay[-1] == "response.failed"
    finally:
        store.blocker.close()
        await store.close()
