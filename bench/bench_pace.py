"""antiphon beside two floor relays at a model's pace: server CPU per event, first text, memory.

Run: ``python bench/bench_pace.py [--sweep 1,100,300,1000] [--interval 0.02] [--chunks 200]``.

One run starts a paced upstream (``_paced.py``: chunks ``--interval`` seconds apart, as a model
emits tokens). It first measures the time to first text antiphon adds over the upstream's own,
from the server's very first request on (``--requests`` more, interleaved with direct ones).
Then, for each concurrency of ``--sweep`` streams, it drives in turn the two **floors** (relays
on the same stack that write one SSE event per upstream message and do no protocol work: one
reads the upstream through antiphon's own HTTP/1.1 connection, one through httpx) and
**antiphon serve** (``/v1/responses``, ``stream: true``, the default SQLite store), all reading
the same upstream. The streams of a step arrive over one second. For each it prints:

* server CPU per event the client received (the server process's CPU time from
  ``/proc/PID/task/*/schedstat``, before and after the step), and antiphon's ratio to each floor;
* time to the first text event, p50 and p99 (the upstream sends its first token at once, so
  this is what the server adds plus the queueing of the step's own load);
* failures (a refused connection, a non-200 status, a stream that ended short), and the
  server's resident memory at the end of the step.

``--burst N`` also measures one unpaced stream of N chunks through each (events batch: this is
the per-event cost of the protocol work itself).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _paced import StreamResult, jitter, stream_once
from bench_server import antiphon_server

_HERE = Path(__file__).parent
_ROUTE = "max_connections = 4096"


@contextmanager
def child(*args: str, ready: str = "") -> Generator[tuple[str, int]]:
    """A ``_paced.py`` role in a child process; yields (its first line minus ``ready``, pid)."""
    process = subprocess.Popen(
        [sys.executable, str(_HERE / "_paced.py"), *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith(ready):
            raise SystemExit(f"{args[0]} did not start: {line!r}")
        yield line[len(ready) :], process.pid
    finally:
        process.terminate()
        process.wait(30)


def cpu_seconds(pid: int) -> float:
    """CPU time of a process's live threads, in nanoseconds from ``schedstat`` (not clock ticks:
    a step of one stream uses tens of milliseconds, which 10 ms ticks would blur)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread just ended
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Step:
    """One concurrency step against one server."""

    cpu_per_event_us: float
    events: int
    first_p50_ms: float
    first_p99_ms: float
    failures: int
    rss_mib: float
    first_error: str


async def control(port: int, chunks: int, interval: float) -> None:
    body = json.dumps({"chunks": chunks, "interval": interval}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /control HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )
    await reader.readline()
    writer.close()


async def step(
    url: str, pid: int, path: str, body: bytes, marker: bytes, streams: int, expected: int
) -> Step:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    offsets = jitter(streams, 1.0 if streams > 1 else 0.0)
    started = time.perf_counter()

    async def one(offset: float) -> StreamResult:
        await asyncio.sleep(max(0.0, started + offset - time.perf_counter()))
        return await stream_once(host, int(port), path, body, marker)

    before = cpu_seconds(pid)
    results = await asyncio.gather(*(one(offset) for offset in offsets))
    cpu = cpu_seconds(pid) - before
    events = sum(result.events for result in results)
    firsts = sorted(r.first_text for r in results if r.first_text is not None)
    bad = [r for r in results if r.error or r.events < expected or r.first_text is None]
    cuts = statistics.quantiles(firsts, n=100) if len(firsts) > 1 else firsts * 99
    return Step(
        cpu_per_event_us=cpu / max(events, 1) * 1e6,
        events=events,
        first_p50_ms=statistics.median(firsts) * 1e3 if firsts else float("nan"),
        first_p99_ms=cuts[98] * 1e3 if firsts else float("nan"),
        failures=len(bad),
        rss_mib=rss_mib(pid),
        first_error=next((r.error or f"{r.events} events" for r in bad), ""),
    )


def show(label: str, result: Step) -> None:
    print(
        f"  {label:13} {result.cpu_per_event_us:7.1f} us/event  first text p50 "
        f"{result.first_p50_ms:7.1f} ms p99 {result.first_p99_ms:8.1f} ms  "
        f"failures {result.failures}  RSS {result.rss_mib:6.1f} MiB  ({result.events} events)"
        + (f"  first failure: {result.first_error}" if result.first_error else "")
    )


@dataclass(frozen=True)
class Target:
    """A server the bench drives: its label, URL, pid and request."""

    label: str
    url: str
    pid: int
    path: str
    body: bytes
    marker: bytes  # the bytes that mark the first text in its stream


async def first_text_added(upstream: str, server: Target, requests: int) -> None:
    """Time to first text through antiphon minus directly from the upstream, first request on."""
    host, port = upstream.removeprefix("http://").rsplit(":", 1)
    direct_body = json.dumps({"model": "bench", "stream": True, "messages": []}).encode()

    async def direct() -> float:
        result = await stream_once(host, int(port), "/v1/chat/completions", direct_body, b"data:")
        assert result.first_text is not None, result.error
        return result.first_text

    async def through() -> float:
        s_host, s_port = server.url.removeprefix("http://").rsplit(":", 1)
        result = await stream_once(s_host, int(s_port), server.path, server.body, server.marker)
        assert result.first_text is not None, result.error
        return result.first_text

    first_direct = await direct()
    first = await through() - first_direct  # the server's very first request
    added: list[float] = []
    for _ in range(requests):  # interleaved, so drift in machine load hits both alike
        base = await direct()
        added.append(await through() - base)
    cuts = statistics.quantiles(added, n=100) if len(added) > 1 else [0.0] * 99
    print(f"time to first text added by antiphon ({requests} sequential requests after the first)")
    print(
        f"  first request {first * 1e3:6.2f} ms   then p50 {statistics.median(added) * 1e3:6.2f}"
        f" ms  p99 {cuts[98] * 1e3:6.2f} ms  (target <= 2 ms p50, <= 5 ms p99)"
    )


async def run(args: argparse.Namespace, upstream: str, targets: list[Target]) -> None:
    port = int(upstream.rsplit(":", 1)[1])
    antiphon = targets[-1]
    await control(port, 8, 0.0)
    await first_text_added(upstream, antiphon, args.requests)
    if args.burst:
        await control(port, args.burst, 0.0)
        print(f"burst: one unpaced stream of {args.burst} chunks (best of {args.repeat})")
        for target in targets:
            runs = [await step(*_args(target), 1, args.burst) for _ in range(args.repeat)]
            show(target.label, min(runs, key=lambda s: s.cpu_per_event_us))
        print("  (target: antiphon <= 30 us/event)")
    await control(port, args.chunks, args.interval)
    print(f"paced: {args.chunks} chunks {args.interval * 1e3:g} ms apart per stream")
    for streams in [int(n) for n in args.sweep.split(",") if n]:
        print(f"{streams} concurrent streams")
        steps = [await step(*_args(target), streams, args.chunks) for target in targets]
        for target, result in zip(targets, steps, strict=True):
            show(target.label, result)
        ours = steps[-1].cpu_per_event_us
        ratios = "   ".join(
            f"{ours / max(result.cpu_per_event_us, 1e-9):.2f}x the {target.label}"
            for target, result in zip(targets[:-1], steps, strict=False)
        )
        print(f"  antiphon CPU per event: {ratios}  (target <= 1.5x the floor)")


def _args(target: Target) -> tuple[str, int, str, bytes, bytes]:
    return target.url, target.pid, target.path, target.body, target.marker


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep", default="1,100,300,1000")
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200, help="for time to first text")
    parser.add_argument("--store", default="", help="memory, or a path (default: a temp file)")
    parser.add_argument("--profile", default="", help="write antiphon's cProfile stats here")
    args = parser.parse_args()
    ready = "floor listening on "
    with (
        tempfile.TemporaryDirectory() as directory,
        child("upstream") as (port, _),
        child("floor", f"http://127.0.0.1:{port}/v1", "lean", ready=ready) as lean,
        child("floor", f"http://127.0.0.1:{port}/v1", "httpx", ready=ready) as httpx_floor,
        antiphon_server(
            f"http://127.0.0.1:{port}/v1", Path(directory), args.store, args.profile, _ROUTE
        ) as server,
    ):
        body = json.dumps({"model": "bench", "input": "Go", "stream": True}).encode()
        targets = [
            Target("floor (lean)", *lean, "/", b"{}", b"data:"),
            Target("floor (httpx)", *httpx_floor, "/", b"{}", b"data:"),
            Target("antiphon", *server, "/v1/responses", body, b"output_text.delta"),
        ]
        await run(args, f"http://127.0.0.1:{port}", targets)


if __name__ == "__main__":
    asyncio.run(main())
