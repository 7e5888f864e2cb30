"""Several ``antiphon serve`` processes over one real PostgreSQL: any worker serves any response.

Each worker is its own process with its own port, as on separate machines behind a load
balancer: a response started on one is followed live, cancelled, continued, read and deleted
through the others; ``kill -9`` of the worker that owns 100 background runs leaves none of them
unfinished once its lease ran out, loses none of them, and the followers on the surviving
worker receive each one's end. ``--workers 2`` runs two workers behind one port.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import pytest

from antiphon.testing.postgres import TemporaryPostgres
from tests.e2e.conftest import STALL_SCRIPT, TEXT_SCRIPT
from tests.e2e.support import ServerProcess, write_config

pytestmark = pytest.mark.e2e

_TIMEOUT = 90.0
_LEASE = 2.0
_RUNS = 100
_ACTIVE = ("queued", "in_progress")


def _config(directory: Path) -> Path:
    for name, script in (("text.json", TEXT_SCRIPT), ("stall.json", STALL_SCRIPT)):
        (directory / name).write_text(json.dumps(script), encoding="utf-8")
    models = [
        {"name": "text", "upstream_api": "scripted", "script": "text.json"},
        {"name": "stall", "upstream_api": "scripted", "script": "stall.json"},
    ]
    server = {"code_interpreter": False, "speech": False, "keepalive_seconds": 1.0}
    path = write_config(directory / "antiphon.toml", models, server=server)
    # The short lease makes the failover of the kill test quick; the [store] table sets it.
    text = path.read_text() + f"\n[store]\nworker_lease_seconds = {_LEASE}\n"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    args = ["--config", str(_config(tmp_path)), "--store", postgres_url]
    with ExitStack() as stack:
        yield [stack.enter_context(ServerProcess(args, start_timeout=60)) for _ in range(3)]


async def _events(client: httpx.AsyncClient, path: str) -> AsyncIterator[dict[str, object]]:
    async with client.stream("GET", path) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                yield json.loads(line[5:])


async def test_a_response_is_followed_cancelled_and_continued_through_other_workers(
    workers: list[ServerProcess],
) -> None:
    first, second, third = (httpx.AsyncClient(base_url=w.url, timeout=30) for w in workers)
    async with first, second, third, asyncio.timeout(_TIMEOUT):
        body = {"model": "stall", "input": "Go", "background": True}
        started = (await first.post("/v1/responses", json=body)).json()
        assert started["status"] in _ACTIVE
        # Followed live on the second worker: events arrive while the run still goes on.
        stream = _events(second, f"/v1/responses/{started['id']}?stream=true")
        seen = [await anext(stream)]
        while seen[-1]["type"] != "response.output_text.delta":
            seen.append(await anext(stream))
        running = (await third.get(f"/v1/responses/{started['id']}")).json()
        assert running["status"] in _ACTIVE
        # Cancelled through the third: the first stops the run, the second's stream ends.
        cancelled = await third.post(f"/v1/responses/{started['id']}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        seen += [event async for event in stream]
        last = seen[-1]
        assert isinstance(last["response"], dict)
        assert last["response"]["status"] == "cancelled"  # pyright: ignore[reportUnknownMemberType]
        assert [event["sequence_number"] for event in seen] == list(range(len(seen)))

        # A conversation across the workers: answered on one, continued on another.
        opening = (await first.post("/v1/responses", json={"model": "text", "input": "Hi"})).json()
        assert opening["status"] == "completed"
        follow_up = await second.post(
            "/v1/responses",
            json={"model": "text", "input": "Again", "previous_response_id": opening["id"]},
        )
        assert follow_up.json()["status"] == "completed"
        reply = follow_up.json()["id"]
        read = (await third.get(f"/v1/responses/{reply}")).json()
        assert (read["status"], read["previous_response_id"]) == ("completed", opening["id"])
        items = (await first.get(f"/v1/responses/{reply}/input_items")).json()
        assert [item["content"][0]["text"] for item in items["data"]] == ["Again"]
        assert (await third.delete(f"/v1/responses/{reply}")).status_code == 200
        assert (await first.get(f"/v1/responses/{reply}")).status_code == 404
        for client in (first, second, third):
            ready = await client.get("/ready")
            assert (ready.status_code, ready.json()["status"]) == (200, "ready")


async def _until_end(client: httpx.AsyncClient, response_id: str) -> dict[str, object]:
    async for event in _events(client, f"/v1/responses/{response_id}?stream=true"):
        if event["type"] in ("response.completed", "response.failed", "response.incomplete"):
            return event
    raise AssertionError(f"the stream of {response_id} ended without its end")


async def test_kill_9_of_the_owner_of_100_background_runs_fails_them_on_another_worker(
    workers: list[ServerProcess], postgres_url: str
) -> None:
    owner, survivor, _ = workers
    limits = httpx.Limits(max_connections=_RUNS + 10)
    async with (
        httpx.AsyncClient(base_url=owner.url, timeout=30) as to_owner,
        httpx.AsyncClient(base_url=survivor.url, timeout=60, limits=limits) as to_survivor,
        asyncio.timeout(_TIMEOUT),
    ):
        body = {"model": "stall", "input": "Go", "background": True}
        acknowledged: list[str] = []
        for _ in range(_RUNS):
            answer = await to_owner.post("/v1/responses", json=body)
            assert answer.status_code == 200
            acknowledged.append(answer.json()["id"])
        # Every run is followed on the survivor before the owner dies.
        ends = [asyncio.create_task(_until_end(to_survivor, key)) for key in acknowledged]
        os.kill(owner.pid, signal.SIGKILL)
        assert await asyncio.to_thread(owner.wait_exited, 10) == -signal.SIGKILL
        for end in await asyncio.gather(*ends):
            assert end["type"] == "response.failed"
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute("SELECT id, status FROM responses").fetchall()
        statuses = dict(rows)
        assert set(acknowledged) <= set(statuses)  # none acknowledged is lost
        assert [key for key, status in statuses.items() if status in _ACTIVE] == []
        for key in acknowledged[:5]:
            stored = (await to_survivor.get(f"/v1/responses/{key}")).json()
            assert stored["status"] == "failed"
            assert "restarted" in stored["error"]["message"]


def test_several_workers_on_one_port_share_the_store(
    postgres_server: TemporaryPostgres, postgres_url: str, tmp_path: Path
) -> None:
    args = ["--config", str(_config(tmp_path)), "--store", postgres_url, "--workers", "2"]
    with ServerProcess(args, start_timeout=60) as server, httpx.Client(base_url=server.url) as c:
        assert len(_children(server.pid)) == 2
        ids = [
            c.post("/v1/responses", json={"model": "text", "input": "Hi"}).json()["id"]
            for _ in range(6)
        ]
        for key in ids:  # whichever worker answers finds each response
            assert c.get(f"/v1/responses/{key}").json()["status"] == "completed"
        assert c.get("/ready").status_code == 200


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # exited meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_several_workers_on_sqlite_are_refused_naming_postgresql(tmp_path: Path) -> None:
    args = ["--config", str(_config(tmp_path)), "--store", str(tmp_path / "r.db")]
    command = [sys.executable, "-m", "antiphon", "serve", "--workers", "2", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--workers 2 needs a PostgreSQL store" in done.stderr


async def test_a_worker_stopped_gracefully_hands_its_unfinished_runs_over(
    workers: list[ServerProcess], postgres_url: str, tmp_path: Path
) -> None:
    other = workers[0]
    log = tmp_path / "stopping.log"
    args = ["--config", str(_config(tmp_path)), "--store", postgres_url]
    with ServerProcess(args, start_timeout=60, stderr=log) as stopping:
        await _stop_gracefully(stopping, other)
    # Handed over by the stopping worker itself (a dead one's runs are failed by the others).
    assert "handed over 1 unfinished responses" in log.read_text()


async def _stop_gracefully(stopping: ServerProcess, other: ServerProcess) -> None:
    async with (
        httpx.AsyncClient(base_url=stopping.url, timeout=30) as to_stopping,
        httpx.AsyncClient(base_url=other.url, timeout=60) as to_other,
        asyncio.timeout(_TIMEOUT),
    ):
        body = {"model": "stall", "input": "Go", "background": True}
        stuck = (await to_stopping.post("/v1/responses", json=body)).json()["id"]
        done = await to_stopping.post("/v1/responses", json={"model": "text", "input": "Hi"})
        end = asyncio.create_task(_until_end(to_other, stuck))
        os.kill(stopping.pid, signal.SIGTERM)
        # The run never finishes by itself: after the drain it is failed, as at a restart.
        # uvicorn re-raises the signal once it has shut down: killed by it, after the drain.
        assert await asyncio.to_thread(stopping.wait_exited, 60) in (0, -signal.SIGTERM)
        event = await end
        assert event["type"] == "response.failed"
        stored = (await to_other.get(f"/v1/responses/{stuck}")).json()
        assert "restarted" in stored["error"]["message"]
        answered = (await to_other.get(f"/v1/responses/{done.json()['id']}")).json()
        assert answered["status"] == "completed"


def test_a_metrics_port_with_several_workers_is_refused(postgres_url: str, tmp_path: Path) -> None:
    args = ["--config", str(_config(tmp_path)), "--store", postgres_url, "--workers", "2"]
    command = [sys.executable, "-m", "antiphon", "serve", "--port", "0", *args]
    command += ["--metrics-port", "19091"]  # refused before anything binds it
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "--metrics-port serves one process's metrics" in done.stderr
