"""Response store throughput: events appended per second, and ``get`` latency.

Run: ``python bench/bench_store.py``. Prints one line per measurement for the SQLite store (a real
file in a temporary directory) and the in-memory store. Figures only; nothing is asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from antiphon.store import (
    MemoryStore,
    NewResponse,
    ResponseOutcome,
    ResponseStore,
    SqliteStore,
    StoredEvent,
    StoredItem,
    StoreLimits,
)

EVENTS = 40_000
GETS = 2_000
LIMITS = StoreLimits(max_events_per_response=1_000_000)
# A typical text delta event as the server stores it (about 170 bytes).
EVENT = (
    '{{"type":"response.output_text.delta","content_index":0,"delta":" token",'
    '"item_id":"msg_0123456789abcdef","logprobs":[],"output_index":0,"sequence_number":{n}}}'
)


def _events(start: int, count: int) -> tuple[StoredEvent, ...]:
    return tuple(StoredEvent(n, EVENT.format(n=n)) for n in range(start, start + count))


def _new(response_id: str) -> NewResponse:
    items = tuple(
        StoredItem(f"msg_in_{i}", '{"type":"message","role":"user","content":"hello"}')
        for i in range(8)
    )
    return NewResponse(
        id=response_id,
        created_at=time.time(),
        model="gpt-oss-20b",
        response_json=f'{{"id":"{response_id}","object":"response","status":"in_progress"}}',
        input_items=items,
    )


async def bench_append(store: ResponseStore, name: str, batch: int) -> None:
    response_id = f"resp_append_{batch}"
    await store.create(_new(response_id))
    started = time.perf_counter()
    for start in range(0, EVENTS, batch):
        await store.append_events(response_id, _events(start, batch))
    elapsed = time.perf_counter() - started
    print(f"{name:7s} append  batch={batch:<4d} {EVENTS / elapsed:>12,.0f} events/s")


async def bench_get(store: ResponseStore, name: str, *, under_load: bool) -> None:
    await store.create(_new("resp_get"))
    output = (StoredItem("msg_out", '{"type":"message","content":"answer"}'),)
    await store.finish(
        "resp_get", ResponseOutcome("completed", '{"status":"completed"}', output, ("text",))
    )
    stop = asyncio.Event()

    async def load() -> None:
        await store.create(_new("resp_load"))
        n = 0
        while not stop.is_set():
            await store.append_events("resp_load", _events(n, 64))
            n += 64

    samples: list[float] = []
    async with asyncio.TaskGroup() as group:
        if under_load:
            group.create_task(load())
        for _ in range(GETS):
            started = time.perf_counter()
            await store.get("resp_get")
            samples.append((time.perf_counter() - started) * 1e6)
        stop.set()
    samples.sort()
    label = "get under append load" if under_load else "get"
    p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99)]
    print(f"{name:7s} {label:22s} p50 {p50:8.1f} us   p99 {p99:8.1f} us")


async def run(name: str, store: ResponseStore) -> None:
    try:
        for batch in (1, 16, 256):
            await bench_append(store, name, batch)
        await bench_get(store, name, under_load=False)
        if isinstance(store, SqliteStore):  # the memory store never yields to a writer
            await store.delete("resp_get")
            await bench_get(store, name, under_load=True)
    finally:
        await store.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        await run("sqlite", await SqliteStore.open(Path(directory) / "bench.sqlite3", LIMITS))
    await run("memory", MemoryStore(LIMITS))


if __name__ == "__main__":
    asyncio.run(main())
