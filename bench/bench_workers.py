"""Workers over PostgreSQL: throughput (1 and 2 workers), cross-worker follow and cancel, failover.

Run: ``python bench/bench_workers.py [--requests 400] [--clients 16]``. Starts a throwaway
PostgreSQL (durable settings: fsync on) and measures, on this machine:

1. Throughput: ``--requests`` plain requests (a short scripted answer) from ``--clients``
   concurrent clients, then as many streamed ones of a long answer (~250 events each), against
   ``antiphon serve --workers 1`` and ``--workers 2`` on PostgreSQL, and one worker on SQLite
   for reference: requests/s and events/s.
2. Cross-worker follow latency: a response streams from the stand-in upstream on worker A (one
   delta every 10 ms); a client reads it on A and follows it on worker B (``GET ...?stream=true``).
   Per live event: arrival on B minus arrival on A; p50/p99.
3. Cross-worker cancel: a background run held by its upstream on A is cancelled through B; time
   until B's answer (it answers once A stopped the run and stored it ``cancelled``); p50/p99.
4. Failover: A holds 20 background runs and is killed (SIGKILL); time from the kill until B's
   followers of those runs receive ``response.failed``, with a 2 s lease; min/p50/max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Generator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from antiphon.testing.postgres import TemporaryPostgres
from antiphon.testing.upstream import UpstreamControl, chat_chunks, turn
from bench_server import antiphon_server, standin_upstream

_LONG = "lorem ipsum " * 250
_LEASE = 2.0


def _config(directory: Path, upstream: str, lease: float = _LEASE) -> str:
    script = {
        "chunking": {"mode": "fixed", "size": 12},
        "turns": [{"repeat": True, "items": [{"kind": "message", "text": _LONG}]}],
    }
    (directory / "long.json").write_text(json.dumps(script), encoding="utf-8")
    short = {"turns": [{"repeat": True, "items": [{"kind": "message", "text": "Hello!"}]}]}
    (directory / "short.json").write_text(json.dumps(short), encoding="utf-8")
    scripted = '[[models]]\nname = "{0}"\nupstream_api = "scripted"\nscript = "{1}/{0}.json"\n\n'
    return (
        "[server]\ncode_interpreter = false\nspeech = false\n\n"
        + scripted.format("short", directory)
        + scripted.format("long", directory)
        + f'[[models]]\nname = "paced"\nupstream_api = "chat"\nupstream_url = "{upstream}/v1"\n'
        "max_connections = 256\n\n"
        f"[store]\nworker_lease_seconds = {lease}\nmax_connections = 20\n"
    )


def _database(server: TemporaryPostgres, name: str) -> str:
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    return server.url_for(name)


async def _sse(
    http: httpx.AsyncClient, method: str, path: str, body: object = None
) -> AsyncIterator[dict[str, Any]]:
    async with http.stream(method, path, json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                yield json.loads(line[5:])


async def _throughput(url: str, requests: int, clients: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        queue = asyncio.Queue[int]()

        async def plain() -> None:
            while not queue.empty():
                queue.get_nowait()
                answer = await http.post("/v1/responses", json={"model": "short", "input": "Hi"})
                assert answer.json()["status"] == "completed"

        events = 0

        async def streamed() -> None:
            nonlocal events
            while not queue.empty():
                queue.get_nowait()
                body = {"model": "long", "input": "Go", "stream": True}
                async for _ in _sse(http, "POST", "/v1/responses", body):
                    events += 1

        for worker in (plain, streamed):  # warm-up
            for n in range(clients):
                queue.put_nowait(n)
            await asyncio.gather(*(worker() for _ in range(clients)))
        events = 0
        for n in range(requests):
            queue.put_nowait(n)
        started = time.perf_counter()
        await asyncio.gather(*(plain() for _ in range(clients)))
        per_second = requests / (time.perf_counter() - started)
        for n in range(requests // 4):
            queue.put_nowait(n)
        started = time.perf_counter()
        await asyncio.gather(*(streamed() for _ in range(clients)))
        events_per_second = events / (time.perf_counter() - started)
    return per_second, events_per_second


async def _follow_latency(control: UpstreamControl, a: str, b: str, runs: int) -> list[float]:
    pieces = [f"w{i} " for i in range(100)]
    await control.script("paced", [turn(chat_chunks(content=pieces), interval=0.01)] * runs)
    gaps: list[float] = []
    async with (
        httpx.AsyncClient(base_url=a, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b, timeout=60) as on_b,
    ):
        for _ in range(runs):
            gaps += await _one_follow(on_a, on_b)
    return gaps


async def _one_follow(on_a: httpx.AsyncClient, on_b: httpx.AsyncClient) -> list[float]:
    """Per live event of one response: arrival on B minus arrival on A."""
    seen_a: dict[int, float] = {}
    seen_b: dict[int, float] = {}
    follow_started: list[float] = []

    async def follow(response_id: str) -> None:
        async for event in _sse(on_b, "GET", f"/v1/responses/{response_id}?stream=true"):
            now = time.perf_counter()
            if not follow_started:
                follow_started.append(now)
            seen_b[int(event["sequence_number"])] = now

    body = {"model": "paced", "input": "Go", "stream": True}
    follower: asyncio.Task[None] | None = None
    async for event in _sse(on_a, "POST", "/v1/responses", body):
        seen_a[int(event["sequence_number"])] = time.perf_counter()
        if follower is None:
            follower = asyncio.create_task(follow(event["response"]["id"]))
    assert follower is not None
    await follower
    # Only what was produced once B followed: the rest was a replay, not a live delivery.
    live = [n for n, t in seen_a.items() if follow_started and t > follow_started[0]]
    return [seen_b[n] - seen_a[n] for n in live if n in seen_b]


async def _cancel_latency(control: UpstreamControl, a: str, b: str, runs: int) -> list[float]:
    await control.script("paced", [turn(chat_chunks(content=["x"] * 5), stall_after=2)] * runs)
    times: list[float] = []
    async with (
        httpx.AsyncClient(base_url=a, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b, timeout=60) as on_b,
    ):
        for _ in range(runs):
            body = {"model": "paced", "input": "Go", "background": True}
            key = (await on_a.post("/v1/responses", json=body)).json()["id"]
            async for event in _sse(on_b, "GET", f"/v1/responses/{key}?stream=true"):
                if event["type"] == "response.output_text.delta":
                    break  # the run is under way on A
            started = time.perf_counter()
            answer = (await on_b.post(f"/v1/responses/{key}/cancel")).json()
            times.append(time.perf_counter() - started)
            assert answer["status"] == "cancelled", answer["status"]
    return times


async def _failover(control: UpstreamControl, a: str, pid: int, b: str) -> list[float]:
    await control.script("paced", [turn(chat_chunks(content=["x"] * 5), stall_after=2)] * 20)
    async with httpx.AsyncClient(base_url=a, timeout=60) as on_a:
        keys: list[str] = []
        for _ in range(20):
            body = {"model": "paced", "input": "Go", "background": True}
            keys.append((await on_a.post("/v1/responses", json=body)).json()["id"])
    killed: list[float] = []
    async with httpx.AsyncClient(base_url=b, timeout=60) as on_b:

        async def end(key: str) -> float:
            async for event in _sse(on_b, "GET", f"/v1/responses/{key}?stream=true"):
                if event["type"] == "response.failed":
                    return time.perf_counter() - killed[0]
            raise AssertionError(f"{key} ended without response.failed")

        ends = [asyncio.create_task(end(key)) for key in keys]
        await asyncio.sleep(0.5)  # every follower is connected (a bench, not a test)
        killed.append(time.perf_counter())
        os.kill(pid, signal.SIGKILL)
        return list(await asyncio.gather(*ends))


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


@contextmanager
def _server(
    directory: Path, config: str, store: str, workers: int = 1
) -> Generator[tuple[str, int]]:
    flags = ("--workers", str(workers)) if workers > 1 else ()
    with antiphon_server("", directory, store, models=config, flags=flags) as (url, pid):
        yield url, pid


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        TemporaryPostgres(durable=bool(int(os.environ.get("DURABLE", "1")))) as postgres,
        standin_upstream() as upstream,
    ):
        directory = Path(tmp)
        config = _config(directory, upstream)
        print(f"throughput ({args.clients} clients; plain: 'Hello!'; streamed: ~250 events)")
        runs = [("SQLite, 1 worker", str(directory / "ref.sqlite3"), 1)]
        runs += [(f"PostgreSQL, {n} worker(s)", "", n) for n in (1, 2)]
        for index, (name, store, workers) in enumerate(runs):
            store = store or _database(postgres, f"bench_{index}")
            with _server(directory, config, store, workers) as (url, _):
                plain, events = await _throughput(url, args.requests, args.clients)
            print(f"  {name:<26} {plain:8.1f} requests/s  {events:10.0f} events/s")
        shared = _database(postgres, "bench_shared")
        async with UpstreamControl(upstream) as control:
            with ExitStack() as stack:
                a, pid_a = stack.enter_context(_server(directory, config, shared))
                b, _ = stack.enter_context(_server(directory, config, shared))
                gaps = await _follow_latency(control, a, b, 10)
                print(f"cross-worker follow, {len(gaps)} live events: delivered on B after A")
                print(f"  p50 {_p(gaps, 0.5):6.2f} ms   p99 {_p(gaps, 0.99):6.2f} ms")
                cancels = await _cancel_latency(control, a, b, 30)
                print(f"cross-worker cancel, {len(cancels)} runs: POST cancel on B answered")
                print(f"  p50 {_p(cancels, 0.5):6.2f} ms   p99 {_p(cancels, 0.99):6.2f} ms")
                failovers = await _failover(control, a, pid_a, b)
                print(f"failover, 20 runs, lease {_LEASE} s: kill -9 to response.failed on B")
                print(
                    f"  min {min(failovers):5.2f} s   p50 {statistics.median(failovers):5.2f} s"
                    f"   max {max(failovers):5.2f} s"
                )


if __name__ == "__main__":
    asyncio.run(main())
