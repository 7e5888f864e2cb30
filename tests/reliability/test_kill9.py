"""``kill -9`` under load, several times over one SQLite file: what was announced survives.

Each round starts ``antiphon serve`` on the same store file, puts it under load (clients sending
streamed and plain requests for a long scripted answer, one after another, so responses are at
every stage, plus one background request whose upstream never answers, so at least one response
is certainly mid-way), and kills it with SIGKILL once some responses completed and the held one
reached its upstream. After the next start:
every response a client saw completed (a ``response.completed`` event, or a JSON answer) is
returned by ``GET`` exactly as the client saw it; nothing is left ``queued`` or ``in_progress``
(what was cut off ended ``failed``, its event log closed by a ``response.failed``); and
``PRAGMA integrity_check`` passes. A response cut off before its record was written (the first
events do not wait for the store) is simply not found.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from collections.abc import Generator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import ServerProcess, write_config

pytestmark = pytest.mark.e2e

_ROUNDS = 3
_CLIENTS = 12
_KILL_AFTER = 10  # completed responses seen before the kill
_ACTIVE = ("queued", "in_progress")


@contextmanager
def _raw(path: Path) -> Generator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def _config(tmp_path: Path, hung_upstream: str) -> Path:
    script = {
        "chunking": {"mode": "fixed", "size": 2},
        "turns": [{"repeat": True, "items": [{"kind": "message", "text": "lorem ipsum " * 20}]}],
    }
    (tmp_path / "long.json").write_text(json.dumps(script), encoding="utf-8")
    model = {"name": "long", "upstream_api": "scripted", "script": str(tmp_path / "long.json")}
    held = {"name": "held", "upstream_api": "chat", "upstream_url": hung_upstream}
    return write_config(tmp_path / "antiphon.toml", [model, held])


class HungUpstream:
    """A chat upstream that reads requests and never answers: a run on it stays in progress."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reached.set()
        with suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()


class Load:
    """The clients of one round and what they were told."""

    def __init__(self) -> None:
        self.completed: dict[str, dict[str, object]] = {}
        self.started: set[str] = set()
        self.held: set[str] = set()
        self.enough = asyncio.Event()

    def saw_completed(self, response: dict[str, object]) -> None:
        self.completed[str(response["id"])] = response
        if len(self.completed) >= _KILL_AFTER:
            self.enough.set()

    async def streamed(self, client: httpx.AsyncClient) -> None:
        body = {"model": "long", "input": "Go", "stream": True}
        async with client.stream("POST", "/v1/responses", json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event["type"] == "response.created":
                    self.started.add(str(event["response"]["id"]))
                if event["type"] == "response.completed":
                    self.saw_completed(event["response"])

    async def plain(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/responses", json={"model": "long", "input": "Go"})
        answer = response.json()
        if answer.get("status") == "completed":
            self.saw_completed(answer)

    async def client(self, client: httpx.AsyncClient, index: int) -> None:
        """One request after another until the server is killed under it."""
        with suppress(httpx.TransportError):
            for n in range(index, index + 1000):
                await (self.streamed(client) if n % 3 else self.plain(client))


async def _round(server: ServerProcess, load: Load, upstream: HungUpstream) -> None:
    limits = httpx.Limits(max_connections=_CLIENTS + 1)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=20) as client:
        upstream.reached.clear()
        body = {"model": "held", "input": "Go", "background": True}
        held = (await client.post("/v1/responses", json=body)).json()
        assert held["status"] == "queued"  # acknowledged: from here it must survive the kill
        load.started.add(held["id"])
        load.held.add(held["id"])
        clients = [asyncio.create_task(load.client(client, n)) for n in range(_CLIENTS)]
        try:
            await load.enough.wait()
            await upstream.reached.wait()
            os.kill(server.pid, signal.SIGKILL)
            assert await asyncio.to_thread(server.wait_exited, 10) == -signal.SIGKILL
        finally:
            await asyncio.gather(*clients)


async def _check(server: ServerProcess, store: Path, seen: Load) -> int:
    """Check the restarted server against what clients of earlier rounds saw; cut-off count."""
    with _raw(store) as conn:
        placeholders = ",".join("?" * len(_ACTIVE))
        active = conn.execute(
            f"SELECT COUNT(*) FROM responses WHERE status IN ({placeholders})", _ACTIVE
        ).fetchone()[0]
        assert active == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    cut_off = 0
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        for response_id in seen.held:
            held = (await client.get(f"/v1/responses/{response_id}")).json()
            assert held["status"] == "failed"  # it was in progress when the server died
        for response_id, announced in seen.completed.items():
            stored = (await client.get(f"/v1/responses/{response_id}")).json()
            assert stored == announced
        for response_id in seen.started - set(seen.completed):
            answer = await client.get(f"/v1/responses/{response_id}")
            if answer.status_code == 404:
                continue  # killed before its record was written
            stored = answer.json()
            assert stored["status"] in ("completed", "failed")
            replay = await client.get(f"/v1/responses/{response_id}?stream=true")
            events = [
                json.loads(line[5:])
                for line in replay.text.splitlines()
                if line.startswith("data:")
            ]
            assert events[-1]["response"] == stored
            if stored["status"] == "failed":
                assert "restarted" in stored["error"]["message"]
                assert events[-1]["type"] == "response.failed"
                cut_off += 1
    return cut_off


async def test_responses_survive_kill_9_under_load(tmp_path: Path) -> None:
    upstream = HungUpstream()
    hung = await asyncio.start_server(upstream.serve, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    config = _config(tmp_path, f"http://127.0.0.1:{port}/v1")
    store = tmp_path / "responses.sqlite3"
    args = ["--config", str(config), "--store", str(store)]
    seen = Load()
    cut_off = 0
    async with hung, asyncio.timeout(120):
        for _ in range(_ROUNDS):
            load = Load()
            with ServerProcess(args) as server:
                if seen.completed:
                    cut_off += await _check(server, store, seen)
                await _round(server, load, upstream)
            seen.completed.update(load.completed)
            seen.started |= load.started
            seen.held |= load.held
        with ServerProcess(args) as server:
            cut_off += await _check(server, store, seen)
    assert len(seen.completed) >= _ROUNDS * _KILL_AFTER
    assert cut_off >= _ROUNDS  # each kill cut off at least the held response
