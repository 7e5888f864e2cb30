"""Readiness and the wiring of shared stores (server/cluster.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from antiphon.server.cluster import open_shared, readiness
from antiphon.store import MemoryStore, SqliteStore


async def test_ready_only_once_started_and_while_the_store_answers(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "r.db")
    starting = await readiness(SimpleNamespace(ready=False, store=store))
    assert starting.status_code == 503
    ready = await readiness(SimpleNamespace(ready=True, store=store))
    assert (ready.status_code, json.loads(bytes(ready.body))) == (200, {"status": "ready"})
    await store.close()  # a store that fails: not ready, and says why
    broken = await readiness(SimpleNamespace(ready=True, store=store))
    assert broken.status_code == 503
    assert "store" in json.loads(bytes(broken.body))["reason"]


async def test_stores_other_than_postgresql_are_one_process_alone() -> None:
    store = MemoryStore()
    for url in (None, "memory", "/tmp/file.db"):
        shared = await open_shared(url, store)
        assert (shared.store, shared.signals, shared.takeover_interval) == (store, None, None)
        assert shared.drain_seconds == 0
