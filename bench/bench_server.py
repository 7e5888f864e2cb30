"""What ``antiphon serve`` adds on loopback: first-token latency and server CPU per event.

Run: ``python bench/bench_server.py [--requests 200] [--events 20000]``.

1. Time to first token: the stand-in upstream plays the same short chat turn many times, read
   directly (``/v1/chat/completions``, time to the first content chunk) and through antiphon
   (``/v1/responses`` with ``stream: true``, time to the first ``response.output_text.delta``).
   The difference of the medians is what antiphon adds. Target: <= 2 ms at p50.
2. Server CPU per streamed event: one long turn of ``--events`` content chunks streamed through
   antiphon; the server process's user+system CPU time (``/proc/PID/stat``, before and after)
   divided by the events the client received. Target: <= 30 microseconds per event.

Both use a SQLite store in a temporary directory, as a default install does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from antiphon.testing.upstream import UpstreamControl, chat_chunks, turn
from antiphon.wire.sse import SSEDecoder

READY = "antiphon listening on "
# uvicorn re-raises SIGTERM after its graceful shutdown, so the stats are written just before.
_PROFILED = """
import cProfile, signal
from antiphon.cli import app
profile = cProfile.Profile()
raise_signal = signal.raise_signal
def dump_then_raise(number):
    profile.disable()
    profile.dump_stats({path!r})
    raise_signal(number)
signal.raise_signal = dump_then_raise
profile.enable()
app()
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


_UPSTREAM = """
import socket, uvicorn
from antiphon.testing.upstream._app import build_app
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
sock.listen(128)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(build_app(), log_level="warning", lifespan="off")).run(sockets=[sock])
"""


@contextmanager
def standin_upstream() -> Generator[str]:
    """The stand-in upstream app on a TCP_NODELAY socket; its URL.

    ``python -m antiphon.testing.upstream`` binds with proto 0, so asyncio never sets
    TCP_NODELAY and every keep-alive answer waits ~40 ms for a delayed ACK: that would be
    measured as the upstream's own latency.
    """
    process = subprocess.Popen([sys.executable, "-c", _UPSTREAM], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            line = process.stdout.readline() if selector.select(30) else ""
        if not line.strip().isdigit():
            raise SystemExit(f"the stand-in upstream did not start: {line!r}")
        yield f"http://127.0.0.1:{line.strip()}"
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def antiphon_server(
    upstream_url: str,
    directory: Path,
    store: str,
    profile: str = "",
    route: str = "",
    flags: Sequence[str] = (),
    *,
    models: str = "",
) -> Generator[tuple[str, int]]:
    """``antiphon serve`` routing model ``bench`` to the stand-in; yields (URL, pid).

    ``route`` is more TOML for the model's ``[[models]]`` table (``max_connections = 256``);
    ``flags`` are more ``serve`` options; ``models``, when given, is the whole config file
    instead (another engine, such as the scripted one; ``upstream_url`` is then unused).
    The server is stopped on any exit: terminated, then killed if it does not exit in 60 s.
    """
    config = directory / "bench.toml"
    config.write_text(
        models
        or f'[[models]]\nname = "bench"\nupstream_api = "chat"\nupstream_url = "{upstream_url}"\n'
        + (f"{route}\n" if route else ""),
        encoding="utf-8",
    )
    profiler = ["-c", _PROFILED.format(path=profile)] if profile else ["-m", "antiphon"]
    command = [sys.executable, *profiler, "serve", "--port", "0"]
    command += ["--config", str(config)]
    command += ["--store", store or str(directory / "bench.sqlite3"), *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            line = process.stdout.readline() if selector.select(30) else ""
        if not line.startswith(READY):
            raise SystemExit(f"antiphon serve did not start: {line!r}")
        yield line[len(READY) :].strip(), process.pid
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from ``/proc/PID/stat`` (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def first_content(http: httpx.AsyncClient, path: str, body: dict[str, object]) -> float:
    """Seconds from sending ``body`` to the first event that carries text; the rest is read."""
    decoder = SSEDecoder()
    started = time.perf_counter()
    first: float | None = None
    async with http.stream("POST", path, json=body) as response:
        async for chunk in response.aiter_bytes():
            messages = decoder.feed(chunk) if first is None else []
            if any(_has_text(message.event, message.data) for message in messages):
                first = time.perf_counter() - started
    assert first is not None, f"no text came from {path}"
    return first


def _has_text(event: str, data: str) -> bool:
    # A Responses text delta, or a chat chunk whose delta has non-empty content.
    return event == "response.output_text.delta" or (
        '"content":"' in data and '"content":""' not in data
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p90 in milliseconds."""
    cuts = statistics.quantiles(samples, n=10)
    return statistics.median(samples) * 1e3, cuts[8] * 1e3


async def latency(
    control: UpstreamControl, upstream: str, server: str, requests: int
) -> tuple[list[float], list[float]]:
    frames = chat_chunks(content=["Hello", " there", "!"])
    await control.script("bench", [turn(frames)] * (2 * requests + 20))
    direct: list[float] = []
    through: list[float] = []
    chat_body: dict[str, object] = {
        "model": "bench",
        "stream": True,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    responses_body: dict[str, object] = {"model": "bench", "input": "Hi", "stream": True}
    async with (
        httpx.AsyncClient(base_url=upstream, timeout=30) as up,
        httpx.AsyncClient(base_url=server, timeout=30) as ap,
    ):
        for _ in range(10):  # warm both paths (imports, connections, SQLite pages)
            await first_content(up, "/v1/chat/completions", chat_body)
            await first_content(ap, "/v1/responses", responses_body)
        for _ in range(requests):  # interleaved, so drift in machine load hits both alike
            direct.append(await first_content(up, "/v1/chat/completions", chat_body))
            through.append(await first_content(ap, "/v1/responses", responses_body))
    return direct, through


async def cpu_per_event(control: UpstreamControl, server: str, pid: int, events: int) -> float:
    pieces = [f"w{i} " for i in range(events)]
    await control.script("bench", [turn(chat_chunks(content=pieces))])
    body: dict[str, object] = {"model": "bench", "input": "Go", "stream": True}
    received = 0
    decoder = SSEDecoder()
    async with httpx.AsyncClient(base_url=server, timeout=120) as http:
        before = cpu_seconds(pid)
        async with http.stream("POST", "/v1/responses", json=body) as response:
            async for chunk in response.aiter_bytes():
                received += len(decoder.feed(chunk))
        after = cpu_seconds(pid)
    return (after - before) / received


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--store", default="", help="memory, or a path (default: a temp file)")
    parser.add_argument("--profile", default="", help="write the server's cProfile stats here")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as directory,
        standin_upstream() as upstream,
        antiphon_server(f"{upstream}/v1", Path(directory), args.store, args.profile) as (
            server,
            pid,
        ),
    ):
        async with UpstreamControl(upstream) as control:
            direct, through = await latency(control, upstream, server, args.requests)
            per_event = min(
                [await cpu_per_event(control, server, pid, args.events) for _ in range(3)]
            )
    d50, d90 = percentiles(direct)
    t50, t90 = percentiles(through)
    print(f"time to first text, {args.requests} requests on loopback:")
    print(f"  upstream direct   p50 {d50:6.2f} ms   p90 {d90:6.2f} ms")
    print(f"  through antiphon  p50 {t50:6.2f} ms   p90 {t90:6.2f} ms")
    print(
        f"  added by antiphon p50 {t50 - d50:6.2f} ms   p90 {t90 - d90:6.2f} ms"
        "  (target <= 2 ms p50)"
    )
    print(
        f"server CPU per streamed event: {per_event * 1e6:.1f} us"
        f"  (target <= 30 us; best of 3 x {args.events})"
    )


if __name__ == "__main__":
    asyncio.run(main())
