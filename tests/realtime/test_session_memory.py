"""A long session keeps steady memory: 1,000 turns over a real socket, measured with tracemalloc."""

from __future__ import annotations

import gc
import json
import tracemalloc

from pydantic import TypeAdapter

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.session import RealtimeSession
from antiphon.realtime.testing import InMemoryRealtimeServer
from antiphon.realtime.tools import function_tool
from tests.realtime.session_support import checked_server, open_session, read_until

TURNS = 1000
BASELINE_TURN = 100
# Generous on purpose. Measured: about 190 KiB between turns 100 and 1000, nearly all of it the
# fake server's own bookkeeping (its conversation keeps every item id), which runs in this
# process. A leak of 40 bytes per server event (about 15 events a turn) would exceed the bound.
ALLOWED_GROWTH_BYTES = 512 * 1024


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


AGENT = RealtimeAgent(name="long", instructions="Keep talking.", tools=[lookup])


def fill_the_json_string_cache() -> None:
    """Bring pydantic-core's JSON string cache to its steady state before the baseline.

    pydantic-core keeps up to 16,384 short strings parsed by ``validate_json`` (about 1 MiB once
    full); every event id would otherwise look like growth until that cache is full.
    """
    adapter = TypeAdapter(list[str])
    for start in range(0, 40_000, 1_000):
        adapter.validate_json(json.dumps([f"warm_{n}" for n in range(start, start + 1_000)]))


def traced_memory() -> int:
    """Bytes allocated since tracing started and still alive (one frame: fast enough)."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def one_turn(server: InMemoryRealtimeServer, session: RealtimeSession, turn: int) -> None:
    if turn % 10 == 0:
        server.respond_with_tool_call("lookup", {"key": f"k{turn}"})
        server.respond_with_text(f"looked up {turn}", chunks=3)
        ends = 2
    else:
        server.respond_with_text(f"answer number {turn}", chunks=3)
        ends = 1
    await session.send_message(f"question {turn}")
    seen = 0

    def stop(event: object) -> bool:
        nonlocal seen
        seen += getattr(event, "type", None) == "agent_end"
        return seen >= ends

    await read_until(session, stop)
    # The fake server keeps a transcript of everything; forget it so only the SDK is measured.
    server.log.events.clear()
    server.log.raw.clear()
    server.sent.clear()


async def test_a_thousand_turns_keep_memory_steady() -> None:
    tracemalloc.start(1)
    try:
        async with checked_server() as server, open_session(server, AGENT) as session:
            baseline = 0
            for turn in range(1, TURNS + 1):
                await one_turn(server, session, turn)
                if turn == BASELINE_TURN:
                    fill_the_json_string_cache()
                    baseline = traced_memory()
            final = traced_memory()
            history = len(session.history)
    finally:
        tracemalloc.stop()
    assert history <= 256
    assert final - baseline < ALLOWED_GROWTH_BYTES, (baseline, final)
