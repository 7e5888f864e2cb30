"""What durable ends cost: latency added to the terminal event, and store throughput.

Run: ``python bench/bench_durable.py [--streams 200] [--events 100]``.

A stored response's terminal event reaches its followers only once the store committed the
outcome (and, with SQLite, the WAL was fsync'd: ``synchronous=FULL``). Measured in one run:

1. Terminal latency: ``--streams`` concurrent responses of a scripted model, followed in
   process through the :class:`~antiphon.responses.service.ResponsesService`; per response,
   the time between its follower receiving the last output delta and the terminal event. The
   floor is the in-memory store (no I/O at all); SQLite runs with ``synchronous=NORMAL`` (what
   a process crash cannot lose, a power cut can) and ``FULL`` (the shipped setting). Printed:
   p50/p99, the latency added above the floor, and the FULL/NORMAL ratio.
2. Store throughput: events stored per second while the same streams run, and raw
   ``append_events`` throughput (batches of 64) from 1 writer and from many concurrent ones:
   the ratio shows what group commit buys (many writers share one commit and one fsync).

Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from antiphon.engines import ScriptedEngine, ScriptedTurn
from antiphon.engines._script_model import Chunking, ScriptedItem
from antiphon.engines.scripted import Script
from antiphon.responses.catalog import FixedModels
from antiphon.responses.request import parse_create_body
from antiphon.responses.service import ResponsesService
from antiphon.store import MemoryStore, NewResponse, ResponseStore, SqliteStore, StoredEvent
from antiphon.store import _sqlite_schema as schema

EVENT = (
    '{{"type":"response.output_text.delta","content_index":0,"delta":" token",'
    '"item_id":"msg_0123456789abcdef","logprobs":[],"output_index":0,"sequence_number":{n}}}'
)
_TERMINAL = {"response.completed", "response.failed", "response.incomplete"}
_connect = schema.connect


def _synchronous(mode: str) -> None:
    """Make every store connection opened from now on use ``PRAGMA synchronous=mode``."""

    def connect(path: Path, *, busy_timeout: float = 5.0) -> sqlite3.Connection:
        conn = _connect(path, busy_timeout=busy_timeout)
        conn.execute(f"PRAGMA synchronous={mode}")
        return conn

    schema.connect = connect


def _engine(events: int) -> ScriptedEngine:
    item = ScriptedItem(kind="message", text="ab" * events)
    turn = ScriptedTurn(items=(item,), repeat=True)
    return ScriptedEngine(Script(turns=(turn,), chunking=Chunking(mode="fixed", size=2)))


async def _one(service: ResponsesService, samples: list[float]) -> int:
    run = await service.create(parse_create_body({"model": "m", "input": "Go", "stream": True}))
    last_delta = 0.0
    count = 0
    async for batch in run.follow():
        now = time.perf_counter()
        for kind, _ in batch:
            count += 1
            if kind == "response.output_text.delta":
                last_delta = now
            elif kind in _TERMINAL:
                samples.append((now - last_delta) * 1e3)
    return count


async def bench_streams(
    name: str, store: ResponseStore, streams: int, events: int
) -> tuple[float, float]:
    """``streams`` at once (one at a time, 50 in a row, when ``streams`` is 1)."""
    samples: list[float] = []
    async with ResponsesService(FixedModels({"m": _engine(events)}), store) as service:
        for _ in range(5):  # warm-up: first-use costs are not what is measured
            await _one(service, [])
        started = time.perf_counter()
        if streams == 1:
            counts = [await _one(service, samples) for _ in range(50)]
        else:
            counts = await asyncio.gather(*(_one(service, samples) for _ in range(streams)))
        elapsed = time.perf_counter() - started
    samples.sort()
    p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99)]
    rate = sum(counts) / elapsed
    print(
        f"  {name:16s} terminal p50 {p50:7.2f} ms  p99 {p99:7.2f} ms   "
        f"{rate:>9,.0f} events/s stored"
    )
    return p50, p99


async def bench_appends(name: str, store: SqliteStore, writers: int, batches: int) -> float:
    async def writer(index: int) -> None:
        response_id = f"resp_{name}_{writers}_{index}"
        await store.create(NewResponse(response_id, time.time(), "m", f'{{"id":"{response_id}"}}'))
        for start in range(0, batches * 64, 64):
            await store.append_events(
                response_id,
                tuple(StoredEvent(n, EVENT.format(n=n)) for n in range(start, start + 64)),
            )

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    rate = writers * batches * 64 / (time.perf_counter() - started)
    print(
        f"  {name:16s} append, {writers:>3d} writers x {batches} batches of 64: "
        f"{rate:>10,.0f} events/s"
    )
    return rate


async def _sqlite(directory: Path, name: str, mode: str) -> SqliteStore:
    _synchronous(mode)
    return await SqliteStore.open(directory / f"{name}.sqlite3")


async def main(streams: int, events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for concurrency in (1, streams):
            print(f"{concurrency} concurrent streams of ~{events} deltas (in process, scripted)")
            results: dict[str, tuple[float, float]] = {}
            floor = await bench_streams("memory (floor)", MemoryStore(), concurrency, events)
            for mode in ("NORMAL", "FULL"):
                name = f"sqlite {mode}"
                store = await _sqlite(directory, f"{name} {concurrency}", mode)
                try:
                    results[name] = await bench_streams(name, store, concurrency, events)
                finally:
                    await store.close()
            for name, (p50, p99) in results.items():
                print(
                    f"  added above floor, {name:13s} p50 {p50 - floor[0]:7.2f} ms  "
                    f"p99 {p99 - floor[1]:7.2f} ms"
                )
            full, normal = results["sqlite FULL"], results["sqlite NORMAL"]
            print(
                f"  ratio FULL / NORMAL: p50 {full[0] / normal[0]:.2f}, "
                f"p99 {full[1] / normal[1]:.2f}"
            )
        print("raw store appends (group commit: concurrent writers share commits)")
        for mode in ("NORMAL", "FULL"):
            store = await _sqlite(directory, f"raw {mode}", mode)
            try:
                one = await bench_appends(f"sqlite {mode}", store, 1, 400)
                many = await bench_appends(f"sqlite {mode}", store, 64, 25)
                print(f"  {'':16s} ratio 64 writers / 1 writer: {many / one:.2f}")
            finally:
                await store.close()
    schema.connect = _connect


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="What durable ends cost.")
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--events", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.streams, arguments.events))
