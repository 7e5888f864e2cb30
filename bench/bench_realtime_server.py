"""What ``antiphon serve``'s ``/v1/realtime`` costs: memory per idle session, first-token latency
added under load, and server CPU per server event.

Run::

    python bench/bench_realtime_server.py [--idle 1000] [--active 200] [--turns 5]
        [--tokens 20] [--pace 0.02] [--think 0] [--repeat 2] [--compression deflate|none]
        [--json]

Quick check: ``--idle 100 --active 20 --turns 2 --repeat 1``.

A real ``antiphon serve`` child (SQLite store in a temporary directory, as a default install
does) routes model ``bench`` to the stand-in chat upstream (:mod:`antiphon.testing.upstream`, a
second child), which plays each turn as ``--tokens`` content chunks, one every ``--pace``
seconds. Clients are ``websockets`` connections from this process, offering permessage-deflate
as the OpenAI SDK and browsers do (``--compression none`` to compare). Measured in one run:

1. Idle sessions: the server's RSS (``/proc/PID/status`` VmRSS) before and after ``--idle``
   sessions are open (each has received ``session.created``), per session. Target: <= 100 KiB.
   Also printed: the RSS once they are closed, and with as many open again (a leak grows it).
2. Active sessions: ``--active`` sessions run ``--turns`` text turns each
   (``conversation.item.create`` then ``response.create``), ``--think`` seconds apart (0: back
   to back), their starts spread over one turn's length. Latency is from sending
   ``response.create`` to the first ``response.output_text.delta``. The floor is the chat
   engine itself (the server's own engine, in this process) running the same turns at the same
   concurrency against the same stand-in: time from ``stream()`` to its first ``ItemDelta``.
   Phases alternate floor / realtime / Responses ``--repeat`` times, so drift in machine load
   hits all alike. Target: <= 5 ms added at p99.
3. CPU: the server's user+system CPU (``/proc/PID/stat``) over the realtime phases divided by
   the server events the clients received; beside it the same for the Responses SSE path
   (``POST /v1/responses`` streamed, which also stores every event) at the same load, and the
   engine floor's CPU (this process's, per engine event) for what the engine alone costs.
   Per turn too (the three count different events), and CPU seconds per second of each phase:
   the server is one event loop, so near 1.0 it is saturated and every latency grows.

Keep the machine otherwise idle: the stand-in, the server and these clients share its cores,
and a starved floor says nothing about what the server adds.

Figures only; nothing is asserted. The children are stopped on any exit (SIGTERM included).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from antiphon.engines import ChatEngine, EngineRequest, HistorySegment, ItemDelta, UpstreamConfig
from antiphon.testing.upstream import UpstreamControl, UpstreamProcess, chat_chunks, turn
from antiphon.wire.sse import SSEDecoder
from bench_server import antiphon_server, cpu_seconds

MODEL = "bench"
ITEM = json.dumps(
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hi"}],
        },
    }
)
CREATE = '{"type":"response.create"}'
REQUEST = EngineRequest(
    model=MODEL, history=(HistorySegment(({"role": "user", "content": "Hi"},)),)
)
RESPONSES_BODY: dict[str, object] = {"model": MODEL, "input": "Hi", "stream": True}
TURN_TIMEOUT = 60.0  # seconds one turn may take before it counts as failed
OPEN_BATCH = 100  # sessions opened at once (well under the listen backlog)


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def raise_fd_limit(needed: int) -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` to ``needed`` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else samples[0]


@dataclass
class Phase:
    """What one kind of client measured over all its rounds."""

    name: str
    firsts: list[float] = field(default_factory=list[float])  # seconds to the first text
    events: int = 0
    turns: int = 0
    cpu: float = 0.0  # seconds: the server's, or this process's for the engine floor
    wall: float = 0.0  # seconds the rounds took
    failures: list[str] = field(default_factory=list[str])

    def p50_ms(self) -> float:
        return statistics.median(self.firsts) * 1e3 if self.firsts else float("nan")

    def p99_ms(self) -> float:
        return _p99(self.firsts) * 1e3 if self.firsts else float("nan")

    def summary(self) -> dict[str, object]:
        return {
            "first_text_p50_ms": self.p50_ms(),
            "first_text_p99_ms": self.p99_ms(),
            "turns": self.turns,
            "events": self.events,
            "cpu_us_per_event": self.cpu / self.events * 1e6 if self.events else None,
            "cpu_us_per_turn": self.cpu / self.turns * 1e6 if self.turns else None,
            "events_per_second": self.events / self.wall if self.wall else None,
            # 1.0: the process was on a core the whole time (one event loop can do no more).
            "cpu_share": self.cpu / self.wall if self.wall else None,
            "failures": len(self.failures),
            "first_failure": self.failures[0] if self.failures else None,
        }


# -- sessions ----------------------------------------------------------------------------------


async def open_session(url: str, compression: str | None) -> ClientConnection:
    """One realtime session that has received ``session.created``."""
    ws = await connect(
        url, compression=compression, proxy=None, open_timeout=60, ping_interval=None
    )
    try:
        async with asyncio.timeout(30):
            first = await ws.recv(decode=True)
    except BaseException:
        await ws.close()
        raise
    if '"session.created"' not in first:
        await ws.close()
        raise RuntimeError(f"expected session.created, got {first[:200]!r}")
    return ws


async def open_sessions(
    url: str, count: int, compression: str | None
) -> tuple[list[ClientConnection], list[str]]:
    """``count`` sessions, opened ``OPEN_BATCH`` at a time; the errors of those that failed."""
    sessions: list[ClientConnection] = []
    errors: list[str] = []
    for start in range(0, count, OPEN_BATCH):
        batch = min(OPEN_BATCH, count - start)
        results = await asyncio.gather(
            *(open_session(url, compression) for _ in range(batch)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                errors.append(f"{type(result).__name__}: {result}")
            else:
                sessions.append(result)
    return sessions, errors


async def close_sessions(sessions: list[ClientConnection]) -> None:
    for start in range(0, len(sessions), OPEN_BATCH):
        await asyncio.gather(*(ws.close() for ws in sessions[start : start + OPEN_BATCH]))


async def realtime_turn(ws: ClientConnection, phase: Phase) -> None:
    """One text turn; its first-delta latency and event count go to ``phase``."""
    events = 0
    first: float | None = None
    async with asyncio.timeout(TURN_TIMEOUT):
        await ws.send(ITEM)
        started = time.perf_counter()
        await ws.send(CREATE)
        while True:
            text = await ws.recv(decode=True)
            events += 1
            if first is None and '"response.output_text.delta"' in text:
                first = time.perf_counter() - started
            if '"response.done"' in text:
                status: Any = json.loads(text)["response"]["status"]
                break
    phase.events += events
    phase.turns += 1
    if status != "completed" or first is None:
        phase.failures.append(f"response.done with status {status!r}, text: {first is not None}")
    else:
        phase.firsts.append(first)


async def engine_turn(engine: ChatEngine, phase: Phase) -> None:
    events = 0
    first: float | None = None
    started = time.perf_counter()
    async with asyncio.timeout(TURN_TIMEOUT), aclosing(engine.stream(REQUEST)) as stream:
        async for event in stream:
            events += 1
            if first is None and isinstance(event, ItemDelta):
                first = time.perf_counter() - started
    phase.events += events
    phase.turns += 1
    if first is None:
        phase.failures.append("the engine turn had no text")
    else:
        phase.firsts.append(first)


async def responses_turn(http: httpx.AsyncClient, phase: Phase) -> None:
    events = 0
    first: float | None = None
    decoder = SSEDecoder()
    started = time.perf_counter()
    async with (
        asyncio.timeout(TURN_TIMEOUT),
        http.stream("POST", "/v1/responses", json=RESPONSES_BODY) as response,
    ):
        async for chunk in response.aiter_bytes():
            for message in decoder.feed(chunk):
                events += 1
                if first is None and message.event == "response.output_text.delta":
                    first = time.perf_counter() - started
    phase.events += events
    phase.turns += 1
    if first is None or response.status_code != 200:
        phase.failures.append(f"HTTP {response.status_code}, text: {first is not None}")
    else:
        phase.firsts.append(first)


async def run_round(
    phase: Phase,
    turn_once: Callable[[int], Awaitable[None]],
    clients: int,
    turns: int,
    spread: float,
    think: float,
    cpu: Callable[[], float],
) -> None:
    """``clients`` loops of ``turns`` turns each, ``think`` seconds apart; the loops start spread
    over ``spread`` seconds."""
    started = time.perf_counter()

    async def loop(index: int) -> None:
        await asyncio.sleep(spread * index / clients)
        for number in range(turns):
            if number and think:
                await asyncio.sleep(think)
            try:
                await turn_once(index)
            except Exception as exc:  # a failure is a figure; the others go on
                phase.turns += 1
                at = time.perf_counter() - started
                phase.failures.append(f"{type(exc).__name__} {exc} (turn {number}, at {at:.2f} s)")

    before = cpu()
    await asyncio.gather(*(loop(index) for index in range(clients)))
    phase.cpu += cpu() - before
    phase.wall += time.perf_counter() - started


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Settings:
    idle: int
    active: int
    turns: int
    tokens: int
    pace: float
    think: float
    repeat: int
    compression: str | None


async def measure(
    settings: Settings, upstream: UpstreamProcess, server: str, pid: int
) -> dict[str, Any]:
    ws_url = server.replace("http://", "ws://") + f"/v1/realtime?model={MODEL}"
    frames = chat_chunks(content=[f" w{i}" for i in range(settings.tokens)])
    scripted = turn(frames, interval=settings.pace)
    spread = settings.pace * (len(frames) - 1) + settings.think  # one turn's length
    active = settings.active
    # Kept-alive connections expire before uvicorn's 5 s keep-alive timeout closes them, so
    # none is reused just as the server closes it (a ReadError that is the client's race).
    limits = httpx.Limits(
        max_connections=active, max_keepalive_connections=active, keepalive_expiry=2.0
    )
    engine = ChatEngine(UpstreamConfig(upstream.base_url, max_connections=active))
    result: dict[str, Any] = {}
    async with (
        UpstreamControl(upstream.url) as control,
        httpx.AsyncClient(base_url=server, timeout=TURN_TIMEOUT, limits=limits) as http,
    ):
        # Warm-up: imports, first-use costs, pools; not measured.
        warm = min(10, active)
        await control.script(MODEL, [scripted] * warm * 3)
        sessions, errors = await open_sessions(ws_url, warm, settings.compression)
        if errors:
            raise SystemExit(f"could not open a realtime session: {errors[0]}")
        scratch = Phase("warm-up")
        await asyncio.gather(*(realtime_turn(ws, scratch) for ws in sessions))
        await asyncio.gather(*(engine_turn(engine, scratch) for _ in range(warm)))
        await asyncio.gather(*(responses_turn(http, scratch) for _ in range(warm)))
        await close_sessions(sessions)
        if scratch.failures:
            raise SystemExit(f"warm-up failed: {scratch.failures[0]}")
        # This process's start-up objects leave the collector's sight: its full collections
        # (~100 ms here) would otherwise stall these clients and show as server latency.
        gc.collect()
        gc.freeze()

        # 1. Idle sessions.
        await asyncio.sleep(1.0)
        before = rss_kib(pid)
        started = time.perf_counter()
        sessions, errors = await open_sessions(ws_url, settings.idle, settings.compression)
        opening = time.perf_counter() - started
        await asyncio.sleep(1.0)
        after = rss_kib(pid)
        await close_sessions(sessions)
        await asyncio.sleep(1.0)
        closed = rss_kib(pid)
        opened = len(sessions)
        # Once more: the RSS a second batch reaches tells a leak from memory kept for reuse.
        again, _ = await open_sessions(ws_url, settings.idle, settings.compression)
        await asyncio.sleep(1.0)
        reopened = rss_kib(pid)
        await close_sessions(again)
        result["idle"] = {
            "sessions": settings.idle,
            "opened": opened,
            "failed": len(errors),
            "first_error": errors[0] if errors else None,
            "open_seconds": opening,
            "rss_before_kib": before,
            "rss_open_kib": after,
            "rss_closed_kib": closed,
            "rss_reopened_kib": reopened,
            "kib_per_session": (after - before) / opened if opened else None,
        }

        # 2 and 3. Active sessions, alternating with the floor and the Responses path.
        sessions, errors = await open_sessions(ws_url, active, settings.compression)
        if errors:
            raise SystemExit(f"{len(errors)} active sessions failed to open: {errors[0]}")
        floor = Phase("engine direct (floor)")
        realtime = Phase("/v1/realtime")
        responses = Phase("/v1/responses SSE")

        def server_cpu() -> float:
            return cpu_seconds(pid)

        rounds: list[tuple[Phase, Callable[[int], Awaitable[None]], Callable[[], float]]] = [
            (floor, lambda _: engine_turn(engine, floor), time.process_time),
            (realtime, lambda index: realtime_turn(sessions[index], realtime), server_cpu),
            (responses, lambda _: responses_turn(http, responses), server_cpu),
        ]
        try:
            for _ in range(settings.repeat):
                for phase, turn_once, cpu in rounds:
                    await control.script(MODEL, [scripted] * (active * settings.turns))
                    await run_round(
                        phase, turn_once, active, settings.turns, spread, settings.think, cpu
                    )
            result["active_rss_kib"] = rss_kib(pid)
        finally:
            await close_sessions(sessions)
            await engine.aclose()
    result["phases"] = {phase.name: phase.summary() for phase in (floor, realtime, responses)}
    result["added_ms"] = {
        "p50": realtime.p50_ms() - floor.p50_ms(),
        "p99": realtime.p99_ms() - floor.p99_ms(),
    }
    return result


def report(settings: Settings, result: dict[str, Any]) -> None:
    idle = result["idle"]
    mib = 1024
    compression = settings.compression or "no compression"
    print(
        f"antiphon serve /v1/realtime; stand-in chat upstream: {settings.tokens} chunks a turn, "
        f"one every {settings.pace * 1e3:g} ms; clients offer {compression}"
    )
    per = idle["kib_per_session"]
    print(
        f"idle: {idle['opened']} of {idle['sessions']} sessions open "
        f"({idle['failed']} failed) in {idle['open_seconds']:.1f} s; server RSS "
        f"{idle['rss_before_kib'] / mib:.1f} -> {idle['rss_open_kib'] / mib:.1f} MiB, "
        f"{idle['rss_closed_kib'] / mib:.1f} MiB once closed, "
        f"{idle['rss_reopened_kib'] / mib:.1f} MiB with as many open again"
    )
    if per is not None:
        print(f"  {per:.1f} KiB per idle session  (target <= 100 KiB)")
    if idle["first_error"]:
        print(f"  first failure: {idle['first_error']}")
    print(
        f"active: {settings.active} sessions x {settings.turns} turns, x{settings.repeat} rounds"
        f"; server RSS {result['active_rss_kib'] / mib:.1f} MiB"
    )
    print(
        f"  {'':24s} {'first text p50':>14s} {'p99':>8s} {'turns':>6s} {'events':>8s} "
        f"{'CPU us/event':>12s} {'us/turn':>8s} {'events/s':>8s} {'CPU':>5s} {'failed':>6s}"
    )
    for name, phase in result["phases"].items():
        per_event, per_turn = phase["cpu_us_per_event"], phase["cpu_us_per_turn"]
        print(
            f"  {name:24s} {phase['first_text_p50_ms']:11.2f} ms {phase['first_text_p99_ms']:8.2f}"
            f" {phase['turns']:6d} {phase['events']:8d} "
            f"{per_event or 0:12.1f} {per_turn or 0:8.0f} {phase['events_per_second'] or 0:8.0f} "
            f"{phase['cpu_share'] or 0:5.2f} {phase['failures']:6d}"
        )
        if phase["first_failure"]:
            print(f"    first failure: {phase['first_failure']}")
    added = result["added_ms"]
    print(
        f"  added by /v1/realtime    p50 {added['p50']:6.2f} ms   p99 {added['p99']:6.2f} ms"
        "  (target <= 5 ms p99)"
    )
    print(
        "  CPU: the server's for /v1/realtime and /v1/responses, this process's for the floor "
        "(the engine alone); CPU column: CPU seconds per second of the phase"
    )


def _stop(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)  # unwinds the context managers, which stop the children


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000, help="idle sessions to open")
    parser.add_argument("--active", type=int, default=200, help="sessions running turns")
    parser.add_argument("--turns", type=int, default=5, help="turns per session per round")
    parser.add_argument("--tokens", type=int, default=20, help="content chunks per turn")
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between chunks")
    parser.add_argument("--think", type=float, default=0.0, help="seconds between turns")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the three phases")
    parser.add_argument("--compression", choices=("deflate", "none"), default="deflate")
    parser.add_argument("--store", default="", help="memory, or a path (default: a temp file)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    settings = Settings(
        idle=args.idle,
        active=args.active,
        turns=args.turns,
        tokens=args.tokens,
        pace=args.pace,
        think=args.think,
        repeat=args.repeat,
        compression=None if args.compression == "none" else args.compression,
    )
    # Sockets: the idle sessions (both ends, here and in the server), the active ones, and the
    # upstream connections of the server and of the floor engine; stdio and the rest on top.
    limit = raise_fd_limit(2 * settings.idle + 4 * settings.active + 256)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    # The server may hold every active session's upstream stream at once, like the floor.
    route = f"max_connections = {max(settings.active, 1)}"
    with (
        tempfile.TemporaryDirectory() as directory,
        UpstreamProcess() as upstream,
        antiphon_server(
            upstream.base_url,
            Path(directory),
            args.store,
            route=route,
            # Every session of the run open at once (the default allows 100 per process).
            flags=["--realtime-max-sessions", str(args.idle + args.active + 10)],
        ) as (
            server,
            pid,
        ),
    ):
        result = asyncio.run(measure(settings, upstream, server, pid))
    result["settings"] = {**vars(args), "fd_limit": limit}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        report(settings, result)


if __name__ == "__main__":
    main()
