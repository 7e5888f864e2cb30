"""``antiphon record`` and ``antiphon serve --replay`` as a user runs them: child processes.

A streamed response and a Realtime text turn go through the recording proxy to a real
``antiphon serve``; the cassette is then served by ``antiphon serve --replay`` and the official
client must read the very same bytes again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx2
import pytest
from openai import AsyncOpenAI

from antiphon.server.run import READY_PREFIX
from antiphon.testing._child import ReadyChild
from tests.e2e.support import ServerProcess, StreamRecorder
from tests.record.support import realtime_text_turn

pytestmark = pytest.mark.e2e

WITHIN = 20.0


def _antiphon(*args: str) -> ReadyChild:
    command = [sys.executable, "-m", "antiphon", *args, "--port", "0"]
    return ReadyChild(command, name=f"antiphon {args[0]}")


def _url(child: ReadyChild) -> str:
    assert child.ready_line.startswith(READY_PREFIX), child.ready_line
    return child.ready_line.removeprefix(READY_PREFIX) + "/v1"


async def _session(base_url: str) -> tuple[list[bytes], list[bytes]]:
    """The raw event stream of a streamed response and the raw frames of a realtime turn."""
    recorder = StreamRecorder()
    async with (
        httpx2.AsyncClient(transport=recorder) as http,
        AsyncOpenAI(base_url=base_url, api_key="sk-e2e", http_client=http, max_retries=0) as client,
    ):
        async with client.responses.stream(model="scripted-text", input="Hi") as stream:
            await stream.get_final_response()
        frames = await realtime_text_turn(client, "scripted-text", WITHIN)
    return [bytes(stream) for stream in recorder.streams], frames


async def test_a_cassette_recorded_by_the_cli_replays_byte_identically(
    server: ServerProcess, tmp_path: Path
) -> None:
    cassette = tmp_path / "session.jsonl"
    upstream = f"{server.url}/v1"
    with _antiphon("record", "--upstream", upstream, "--out", str(cassette)) as recorder:
        live = await _session(_url(recorder))
    assert b"Hello from the script!" in b"".join(live[0])
    assert "sk-e2e" not in cassette.read_text(encoding="utf-8")
    with _antiphon("serve", "--replay", str(cassette)) as replay:
        replayed = await _session(_url(replay))
    assert replayed == live
