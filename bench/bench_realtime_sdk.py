"""SDK CPU per received server event: antiphon's RealtimeSession next to the OpenAI Agents SDK's.

Both SDKs connect over a real local WebSocket to the same scripted server (a child process, so
its CPU is not counted) and receive the same GA event stream: voice turns (audio deltas with
transcript deltas) and, every fifth turn, a function call their tool answers. The figure is the
client process's CPU time (``time.process_time``) from the user message to the last
``agent_end``, divided by the number of server events received; each SDK runs with its defaults
and the application just drains the events. The best of ``--repeat`` runs is reported. Also
printed: the floor (a bare ``websockets`` client reading the same frames), the cost above it,
and antiphon with ``raw_model_events`` on (openai-agents always emits raw events; antiphon makes
them opt-in).

Run::

    python bench/bench_realtime_sdk.py [--turns 40] [--deltas 50] [--repeat 3]

The comparison needs the OpenAI Agents SDK, a benchmark-only dependency this script never
installs: ``pip install openai-agents`` (into a separate virtualenv, e.g.
``python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install -e . openai-agents``). When it
is missing, only antiphon is measured and the comparison is skipped with a message.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from openai.types.realtime import RealtimeServerEvent
from pydantic import Field, TypeAdapter

Frame = dict[str, Any]  # JSON objects of the scripted stream (a boundary type)
CHUNK = base64.b64encode(bytes(960)).decode()  # 20 ms of PCM16 24 kHz audio


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n}"


def event(ids: Ids, type_: str, **fields: object) -> Frame:
    return {"type": type_, "event_id": ids("evt"), **fields}


def response(rid: str, status: str, output: list[Frame]) -> Frame:
    return {"id": rid, "object": "realtime.response", "status": status, "output": output}


def tool_turn(ids: Ids, rid: str) -> list[Frame]:
    item_id, call_id = ids("item"), ids("call")
    base = {"id": item_id, "object": "realtime.item", "type": "function_call", "call_id": call_id}
    opening = {**base, "name": "lookup", "arguments": "", "status": "in_progress"}
    done = {**base, "name": "lookup", "arguments": '{"key": "k"}', "status": "completed"}
    where = {"response_id": rid, "item_id": item_id, "output_index": 0, "call_id": call_id}
    return [
        event(ids, "response.output_item.added", response_id=rid, output_index=0, item=opening),
        event(ids, "conversation.item.added", item=opening),
        *[
            event(ids, "response.function_call_arguments.delta", delta=part, **where)
            for part in ('{"key"', ': "k"}')
        ],
        event(
            ids,
            "response.function_call_arguments.done",
            arguments='{"key": "k"}',
            name="lookup",
            **where,
        ),
        event(ids, "conversation.item.done", item=done),
        event(ids, "response.output_item.done", response_id=rid, output_index=0, item=done),
        event(ids, "response.done", response=response(rid, "completed", [done])),
    ]


def voice_turn(ids: Ids, rid: str, deltas: int) -> list[Frame]:
    item_id = ids("item")
    transcript = "word " * deltas
    base = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant"}
    opening: Frame = {**base, "status": "in_progress", "content": []}
    content = [{"type": "output_audio", "transcript": transcript}]
    done = {**base, "status": "completed", "content": content}
    where = {"response_id": rid, "item_id": item_id, "output_index": 0, "content_index": 0}
    frames = [
        event(ids, "response.output_item.added", response_id=rid, output_index=0, item=opening),
        event(ids, "conversation.item.added", item=opening),
        event(
            ids, "response.content_part.added", part={"type": "audio", "transcript": ""}, **where
        ),
    ]
    for _ in range(deltas):
        frames.append(event(ids, "response.output_audio.delta", delta=CHUNK, **where))
        frames.append(event(ids, "response.output_audio_transcript.delta", delta="word ", **where))
    frames += [
        event(ids, "response.output_audio.done", **where),
        event(ids, "response.output_audio_transcript.done", transcript=transcript, **where),
        event(
            ids,
            "response.content_part.done",
            part={"type": "audio", "transcript": transcript},
            **where,
        ),
        event(ids, "conversation.item.done", item=done),
        event(ids, "response.output_item.done", response_id=rid, output_index=0, item=done),
        event(ids, "response.done", response=response(rid, "completed", [done])),
    ]
    return frames


def script(turns: int, deltas: int) -> list[str]:
    """The whole stream, validated once against the official GA server union."""
    ids = Ids()
    frames: list[Frame] = []
    for turn in range(turns):
        rid = ids("resp")
        frames.append(event(ids, "response.created", response=response(rid, "in_progress", [])))
        frames += tool_turn(ids, rid) if turn % 5 == 4 else voice_turn(ids, rid, deltas)
    adapter: TypeAdapter[RealtimeServerEvent] = TypeAdapter(
        Annotated[RealtimeServerEvent, Field(discriminator="type")]
    )
    for frame in frames:
        adapter.validate_python(frame)
    return [json.dumps(frame) for frame in frames]


async def serve(turns: int, deltas: int) -> None:
    """Child process: stream the script after the client's first ``conversation.item.create``."""
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as ws_serve

    frames = script(turns, deltas)

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            if '"conversation.item.create"' in str(message):
                break
        for frame in frames:
            await ws.send(frame)
        async for _ in ws:  # drain tool outputs and response.create until the client leaves
            pass

    # No permessage-deflate, so both clients receive identical bytes whatever they would negotiate.
    async with ws_serve(handler, "127.0.0.1", 0, max_size=2**24, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().create_future()


Runner = Callable[[str, int], Coroutine[Any, Any, float]]


async def run_floor(url: str, turns: int) -> float:
    """The shared floor: a bare ``websockets`` client receiving the same frames, no SDK."""
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, max_size=2**24) as ws:
        start = time.process_time()
        await ws.send('{"type": "conversation.item.create"}')
        ends = 0
        while ends < turns:
            frame = await ws.recv()
            ends += b'"response.done"' in (frame if isinstance(frame, bytes) else frame.encode())
        return time.process_time() - start


async def run_antiphon(url: str, turns: int, *, raw: bool = False) -> float:
    from antiphon.realtime.agent import RealtimeAgent
    from antiphon.realtime.runner import RealtimeRunner
    from antiphon.realtime.tools import function_tool

    @function_tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return key.upper()

    agent = RealtimeAgent(name="bench", instructions="Talk.", tools=[lookup])
    runner = RealtimeRunner(agent, config={"raw_model_events": raw})
    session = await runner.run(model_config={"url": url, "api_key": "sk-bench"})
    async with session:
        start = time.process_time()
        await session.send_message("go")
        ends = 0
        async for item in session:
            if item.type == "agent_end":
                ends += 1
                if ends == turns:
                    break
        return time.process_time() - start


async def run_agents(url: str, turns: int) -> float:
    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    @function_tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return key.upper()

    agent = RealtimeAgent(name="bench", instructions="Talk.", tools=[lookup])
    runner = RealtimeRunner(agent, config={"tracing_disabled": True})
    session = await runner.run(model_config={"url": url, "api_key": "sk-bench"})
    async with session:
        start = time.process_time()
        await session.send_message("go")
        ends = 0
        async for item in session:
            if item.type == "agent_end":
                ends += 1
                if ends == turns:
                    break
        return time.process_time() - start


def agents_available() -> bool:
    try:
        import agents.realtime  # noqa: F401  # pyright: ignore[reportMissingImports, reportUnusedImport]
    except ImportError:
        return False
    return True


def once(name: str, args: argparse.Namespace, events: int) -> float:
    """CPU microseconds per server event of one run, on a fresh server."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", f"--turns={args.turns}", f"--deltas={args.deltas}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        url = f"ws://127.0.0.1:{port}/v1/realtime?model=bench"
        # The client in a process of its own: one SDK's imports and garbage never weigh on
        # another's run.
        measured = subprocess.run(
            [sys.executable, __file__, f"--client={name}", f"--url={url}", f"--turns={args.turns}"],
            capture_output=True,
            text=True,
            check=True,
        )
        cpu = float(measured.stdout)
    finally:
        child.kill()
        child.wait()
    return cpu / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--deltas", type=int, default=50, help="audio deltas per voice turn")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", default="", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    runners: dict[str, Runner] = {
        "floor": run_floor,
        "antiphon": run_antiphon,
        "raw": functools.partial(run_antiphon, raw=True),
    }
    if agents_available():
        runners["agents"] = run_agents
    if args.serve:
        asyncio.run(serve(args.turns, args.deltas))
        return
    if args.client:
        print(asyncio.run(runners[args.client](args.url, args.turns)))
        return
    events = len(script(args.turns, args.deltas))
    # Rounds of one run each, so that drift in the machine's speed hits every client alike.
    results: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeat):
        for name in runners:
            results[name].append(once(name, args, events))
    floor, ours, raw = (min(results[name]) for name in ("floor", "antiphon", "raw"))
    print(f"stream: {args.turns} turns, {events} server events, best of {args.repeat} rounds")
    print("us of client CPU per server event (total, and above the bare-websockets floor)")
    print(f"  bare websockets reader (floor)  {floor:7.1f}")
    print(f"  antiphon RealtimeSession        {ours:7.1f}   above floor {ours - floor:7.1f}")
    print(f"  antiphon, raw_model_events on   {raw:7.1f}   above floor {raw - floor:7.1f}")
    if "agents" not in results:
        print("openai-agents is not installed: comparison skipped (pip install openai-agents)")
        return
    theirs = min(results["agents"])
    print(f"  openai-agents RealtimeSession   {theirs:7.1f}   above floor {theirs - floor:7.1f}")
    print(f"ratio antiphon / openai-agents: total {ours / theirs:.2f}, ", end="")
    print(
        f"SDK cost above the floor {(ours - floor) / (theirs - floor):.2f} (target: at most 0.33)"
    )


if __name__ == "__main__":
    main()
