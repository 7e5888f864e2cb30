"""Voice over ``/v1/realtime`` with the real local speech engines, closed loop.

A question is spoken by eSpeak NG in this process, streamed in 100 ms chunks into a real
``antiphon serve``; its server VAD must find it, PocketSphinx must hear the key word, the
scripted model answers (only a transcript holding the word gets that answer), the answer comes
back as audio, and PocketSphinx here must hear the answer's key word in that audio. eSpeak's
robotic voice is hard on PocketSphinx's model: a few phrases are what it hears reliably. Then
barge-in: speech over a long answer cancels it, and a truncation keeps only what was heard.
No recording is checked in: every sound is made here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import select
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from agents.realtime import RealtimeAgent as AgentsRealtimeAgent
from agents.realtime import RealtimeRunner as AgentsRealtimeRunner
from agents.realtime.config import RealtimeSessionModelSettings
from openai.types.realtime import RealtimeServerEvent
from pydantic import Field, TypeAdapter
from websockets.asyncio.client import ClientConnection, connect

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import AudioEvent
from antiphon.realtime.runner import RealtimeRunner
from antiphon.speech.base import SpeechRequest, TranscriptionRequest, synthesize_all
from antiphon.speech.local.espeak import EspeakSynthesizer
from antiphon.speech.local.pocketsphinx import PocketSphinxTranscriber
from tests.e2e.support import ServerProcess, session_events_until, write_config

pytestmark = pytest.mark.e2e


WITHIN = 60.0
RATE = 24000
CHUNK = RATE * 2 // 10  # 100 ms of PCM16
SERVER_EVENTS: TypeAdapter[RealtimeServerEvent] = TypeAdapter(
    Annotated[RealtimeServerEvent, Field(discriminator="type")]
)
Frame = dict[str, Any]
# eSpeak's "ash" voice (en-us+m3) saying these phrases is what PocketSphinx hears reliably.
VOICE, SPEED = "ash", 1.0
LONG = " ".join(f"The weather is sunny in city number {n}." for n in range(1, 12))
SCRIPT = {
    "turns": [
        {
            "when": {"last_text_contains": "long"},
            "repeat": True,
            "items": [{"kind": "message", "text": LONG}],
        },
        # Answered only when the transcript holds the word: the engine read what was heard.
        {
            "when": {"last_text_contains": "weather"},
            "repeat": True,
            "items": [{"kind": "message", "text": "One two three."}],
        },
        {"repeat": True, "items": [{"kind": "message", "text": "Sorry, I did not catch that."}]},
    ]
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("voice")
    (directory / "voice.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    model = {"name": "voice", "upstream_api": "scripted", "script": str(directory / "voice.json")}
    config = write_config(directory / "antiphon.toml", [model])
    with ServerProcess(["--config", str(config), "--store", "memory"]) as process:
        yield process


async def _say(text: str) -> bytes:
    return await synthesize_all(EspeakSynthesizer(), SpeechRequest(text, VOICE, RATE, SPEED))


async def _hear(pcm: bytes) -> str:
    return (await PocketSphinxTranscriber().transcribe(TranscriptionRequest(pcm, RATE))).text


@pytest.fixture
async def ws(server: ServerProcess) -> AsyncIterator[ClientConnection]:
    url = server.url.replace("http://", "ws://") + "/v1/realtime?model=voice"
    async with connect(url, max_size=2**24) as connection:
        session = {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {"output": {"voice": VOICE, "speed": SPEED}},
        }
        await connection.send(json.dumps({"type": "session.update", "session": session}))
        yield connection


async def _stream(ws: ClientConnection, pcm: bytes) -> None:
    for at in range(0, len(pcm), CHUNK):
        piece = base64.b64encode(pcm[at : at + CHUNK]).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))


async def _until(ws: ClientConnection, kind: str, seen: list[Frame]) -> Frame:
    async with asyncio.timeout(WITHIN):
        while True:
            text = await ws.recv()
            assert isinstance(text, str)
            SERVER_EVENTS.validate_json(text)  # every event is a valid GA server event
            frame: Frame = json.loads(text)
            assert frame["type"] != "error", frame
            seen.append(frame)
            if frame["type"] == kind:
                return frame


def _audio(frames: list[Frame], response_id: str) -> bytes:
    return b"".join(
        base64.b64decode(frame["delta"])
        for frame in frames
        if frame["type"] == "response.output_audio.delta" and frame["response_id"] == response_id
    )


async def test_a_spoken_question_gets_a_spoken_answer(ws: ClientConnection) -> None:
    question = await _say("What is the weather?")
    await _stream(ws, bytes(CHUNK * 3) + question + bytes(CHUNK * 10))
    seen: list[Frame] = []
    done = await _until(ws, "response.done", seen)
    kinds = [frame["type"] for frame in seen]
    order = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.done",
    ]
    assert [kinds.index(kind) for kind in order] == sorted(kinds.index(kind) for kind in order)
    [heard] = [f for f in seen if f["type"].endswith("input_audio_transcription.completed")]
    assert "weather" in heard["transcript"]
    assert done["response"]["status"] == "completed"
    [said] = [f for f in seen if f["type"] == "response.output_audio_transcript.done"]
    assert said["transcript"] == "One two three."
    answer = _audio(seen, done["response"]["id"])
    assert len(answer) > RATE  # more than half a second of speech
    assert "three" in await _hear(answer)


async def test_speech_over_the_answer_interrupts_it_and_truncation_keeps_what_was_heard(
    ws: ClientConnection,
) -> None:
    seen: list[Frame] = []
    text = [{"type": "input_text", "text": "Tell me the long one."}]
    item = {"type": "message", "role": "user", "content": text}
    await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
    await ws.send(json.dumps({"type": "response.create"}))
    await _until(ws, "response.output_audio.delta", seen)
    # The user talks over the answer while it is being spoken.
    await _stream(ws, await _say("What is the weather?") + bytes(CHUNK * 10))
    done = await _until(ws, "response.done", seen)
    kinds = [frame["type"] for frame in seen]
    assert "input_audio_buffer.speech_started" in kinds
    assert done["response"]["status"] == "cancelled"
    item = done["response"]["output"][0]
    assert item["status"] == "incomplete"
    sent_ms = len(_audio(seen, done["response"]["id"])) * 1000 // (RATE * 2)
    assert sent_ms > 0
    heard_ms = min(sent_ms, 1500)
    truncate = {
        "type": "conversation.item.truncate",
        "item_id": item["id"],
        "content_index": 0,
        "audio_end_ms": heard_ms,
    }
    await ws.send(json.dumps(truncate))
    truncated = await _until(ws, "conversation.item.truncated", seen)
    assert truncated["audio_end_ms"] == heard_ms
    await ws.send(json.dumps({"type": "conversation.item.retrieve", "item_id": item["id"]}))
    retrieved = await _until(ws, "conversation.item.retrieved", seen)
    transcript = retrieved["item"]["content"][0]["transcript"]
    assert transcript
    assert LONG.startswith(transcript)
    assert len(transcript) < len(LONG) // 2


async def test_the_realtime_sdk_runs_an_audio_turn(server: ServerProcess) -> None:
    url = server.url.replace("http://", "ws://") + "/v1/realtime?model=voice"
    agent = RealtimeAgent(name="listener", instructions="Answer briefly.")
    config: RealtimeRunConfig = {
        "session": {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {"output": {"voice": VOICE, "speed": SPEED}},
        }
    }
    session = await RealtimeRunner(agent, config=config).run(model_config={"url": url})
    async with session:
        await session.send_audio(await _say("What is the weather?") + bytes(CHUNK * 10))
        events = await session_events_until(session, "agent_end", within=WITHIN)
    assert not [event for event in events if event.type == "error"]
    audio = b"".join(event.audio for event in events if isinstance(event, AudioEvent))
    assert "three" in await _hear(audio)
    said = session.history[-1]
    assert said.type == "message"
    assert said.role == "assistant"
    assert [part.transcript for part in said.content] == ["One two three."]


async def test_the_agents_sdk_runs_an_audio_turn(server: ServerProcess) -> None:
    url = server.url.replace("http://", "ws://") + "/v1/realtime?model=voice"
    agent = AgentsRealtimeAgent(name="listener", instructions="Answer briefly.")
    settings: RealtimeSessionModelSettings = {
        "modalities": ["audio"],
        "voice": VOICE,
        "speed": SPEED,
    }
    runner = AgentsRealtimeRunner(agent, config={"model_settings": settings})
    errors: list[object] = []
    audio = bytearray()
    session = await runner.run(model_config={"url": url, "api_key": "unused"})
    async with session, asyncio.timeout(WITHIN):
        await session.send_audio(await _say("What is the weather?") + bytes(CHUNK * 10))
        async for event in session:
            if event.type == "error":
                errors.append(event.error)
            if event.type == "audio":
                audio += event.audio.data
            if event.type == "agent_end":
                break
    assert errors == []
    assert "three" in await _hear(bytes(audio))


def _children(parent: int) -> list[int]:
    """The processes whose parent is ``parent``."""
    found: list[int] = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
            if fields.get("PPid", "").strip() == str(parent):
                found.append(int(status.parent.name))
    return found


def _exits_within(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` (not a child of ours) exits within ``seconds``."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # already gone
    try:
        readable, _, _ = select.select([handle], [], [], seconds)
        return bool(readable)
    finally:
        os.close(handle)


async def test_a_killed_server_leaves_no_speech_worker_behind(tmp_path: Path) -> None:
    (tmp_path / "voice.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    model = {"name": "voice", "upstream_api": "scripted", "script": str(tmp_path / "voice.json")}
    config = write_config(tmp_path / "antiphon.toml", [model])
    with ServerProcess(["--config", str(config), "--store", "memory"]) as server:
        url = server.url.replace("http://", "ws://") + "/v1/realtime?model=voice"
        async with connect(url, max_size=2**24) as ws:
            await _stream(ws, await _say("What is the weather?") + bytes(CHUNK * 10))
            await _until(ws, "conversation.item.input_audio_transcription.completed", [])
        workers = _children(server.pid)
        assert workers  # the transcriber's worker process (and multiprocessing's tracker)
        os.kill(server.pid, signal.SIGKILL)
        assert server.wait_exited(10) == -signal.SIGKILL
        assert all(_exits_within(pid, 10) for pid in workers)
