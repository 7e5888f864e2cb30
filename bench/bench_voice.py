"""What a spoken turn costs on ``antiphon serve``'s ``/v1/realtime`` with the local speech engines.

Run::

    python bench/bench_voice.py [--turns 20] [--sessions 1,4,8] [--load-turns 3] [--json]

Quick check: ``--turns 4 --sessions 1,2 --load-turns 1``.

A real ``antiphon serve`` child (memory store) runs the scripted engine with the local speech
engines (WebRTC VAD, PocketSphinx, eSpeak NG: the ``speech`` extra). The question is eSpeak NG
saying "What is the weather?" in this process (a phrase PocketSphinx hears reliably from eSpeak),
with 300 ms of silence before and 1.2 s after; it is streamed as a microphone would deliver it:
100 ms ``input_audio_buffer.append`` chunks every 100 ms. The script answers only a transcript
holding "weather" with the answer; other transcripts get a fallback answer, also spoken, so a
misheard turn still times every stage and is counted apart ("misheard").

1. Latency, one session, ``--turns`` turns, once with the default server VAD (silence 500 ms)
   and once with ``silence_duration_ms`` 200: from the end of speech (when the last non-silent
   chunk was sent) to the first ``response.output_audio.delta``, p50/p99; broken down into the
   VAD's wait (``speech_stopped`` arrival: the silence window by protocol, plus a chunk's
   granularity), transcription (to ``input_audio_transcription.completed``) and the first audio
   (the model's turn and the first sentence's synthesis). Target: first audio within 500 ms of
   the end of speech.
2. Engines alone, in this process: PocketSphinx transcribe time and eSpeak NG synthesis time per
   second of audio (real-time factor), WebRTC VAD time per 30 ms frame.
3. Server CPU per active voice session: for each count in ``--sessions``, that many sessions each
   speak ``--load-turns`` turns at once (starts spread over a turn); the server's user+system CPU
   (``/proc/PID/stat``, all its threads: the engines run on thread pools) per second of audio
   streamed, CPU seconds per wall second, and the latency under that load.

Figures only; nothing is asserted. The server is stopped on any exit (SIGTERM included).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import statistics
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from websockets.asyncio.client import ClientConnection

from antiphon.speech.audio import resample
from antiphon.speech.base import SpeechRequest, TranscriptionRequest, VadRequest, synthesize_all
from antiphon.speech.factory import local_available
from bench_realtime_server import open_session
from bench_server import antiphon_server, cpu_seconds

MODEL = "bench"
RATE = 24000
CHUNK_SECONDS = 0.1
CHUNK = int(RATE * CHUNK_SECONDS) * 2  # bytes of PCM16
QUESTION = "What is the weather?"
ANSWER = "It is sunny, the weather is fine."
VOICE, SPEED = "ash", 1.0  # eSpeak's en-us+m3: what PocketSphinx hears these phrases in best
#: Peak amplitude under which a chunk counts as silence (eSpeak's own pauses are near zero).
SILENT_PEAK = 300
TURN_TIMEOUT = 60.0
SCRIPT = {
    "turns": [
        {
            "when": {"last_text_contains": "weather"},
            "repeat": True,
            "items": [{"kind": "message", "text": ANSWER}],
        },
        {"repeat": True, "items": [{"kind": "message", "text": "Sorry, I did not catch that."}]},
    ]
}


def _pct(samples: list[float], q: int) -> float:
    """The ``q``-th percentile in milliseconds (NaN with no samples)."""
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0] * 1e3
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1e3


@dataclass
class Turns:
    """What a set of turns measured, in seconds from the end of speech."""

    stopped: list[float] = field(default_factory=list[float])
    transcribed: list[float] = field(default_factory=list[float])
    first_audio: list[float] = field(default_factory=list[float])
    audio_seconds: float = 0.0  # streamed by the clients
    failures: list[str] = field(default_factory=list[str])
    misheard: list[str] = field(default_factory=list[str])  # transcripts without "weather"

    def summary(self) -> dict[str, Any]:
        """p50/p99 of each stage (ms) and the failures."""
        stages = {
            "speech_stopped": self.stopped,
            "transcribed": self.transcribed,
            "first_audio": self.first_audio,
        }
        out: dict[str, Any] = {
            f"{name}_{q}_ms": _pct(values, n)
            for name, values in stages.items()
            for q, n in (("p50", 50), ("p99", 99))
        }
        out["turns"] = len(self.first_audio)
        out["misheard"] = len(self.misheard)
        out["misheard_as"] = sorted(set(self.misheard))
        out["failures"] = len(self.failures)
        out["first_failure"] = self.failures[0] if self.failures else None
        return out


# -- the question ------------------------------------------------------------------------------


async def synthesize(text: str) -> bytes:
    """PCM16 24 kHz of eSpeak NG saying ``text``."""
    from antiphon.speech.local.espeak import EspeakSynthesizer

    return await synthesize_all(EspeakSynthesizer(), SpeechRequest(text, VOICE, RATE, SPEED))


def chunks_of(question: bytes) -> tuple[list[bytes], int]:
    """The microphone's chunks (silence around the question) and the index of the last voiced."""
    pcm = bytes(CHUNK * 3) + question + bytes(CHUNK * 12)
    pieces = [pcm[at : at + CHUNK] for at in range(0, len(pcm), CHUNK)]
    voiced = [i for i, piece in enumerate(pieces) if max(map(abs, array("h", piece))) > SILENT_PEAK]
    return pieces, voiced[-1]


# -- one spoken turn ---------------------------------------------------------------------------


async def configure(ws: ClientConnection, silence_ms: int | None) -> None:
    """Audio out in the benchmark's voice; server VAD with ``silence_ms`` (None: the default)."""
    audio: dict[str, Any] = {"output": {"voice": VOICE, "speed": SPEED}}
    if silence_ms is not None:
        detection = {"type": "server_vad", "silence_duration_ms": silence_ms}
        audio["input"] = {"turn_detection": detection}
    session = {"type": "realtime", "output_modalities": ["audio"], "audio": audio}
    await ws.send(json.dumps({"type": "session.update", "session": session}))
    async with asyncio.timeout(TURN_TIMEOUT):
        while '"session.updated"' not in await ws.recv(decode=True):
            pass


async def speak(ws: ClientConnection, pieces: list[bytes], last_voiced: int) -> float:
    """Stream ``pieces`` at real-time pace; when the last voiced one was sent (perf_counter)."""
    started = time.perf_counter()
    end = 0.0
    for index, piece in enumerate(pieces):
        # Paced against the start, as a sound card's clock would be, so the stream does not drift.
        await asyncio.sleep(max(0.0, started + index * CHUNK_SECONDS - time.perf_counter()))
        frame = {"type": "input_audio_buffer.append", "audio": base64.b64encode(piece).decode()}
        await ws.send(json.dumps(frame))
        if index == last_voiced:
            end = time.perf_counter()
    return end


async def voice_turn(
    ws: ClientConnection, pieces: list[bytes], last_voiced: int, turns: Turns
) -> None:
    """One spoken turn; its stage times go to ``turns``."""
    at: dict[str, float] = {}
    heard = ""
    async with asyncio.timeout(TURN_TIMEOUT):
        microphone = asyncio.create_task(speak(ws, pieces, last_voiced))
        try:
            while True:
                text = await ws.recv(decode=True)
                now = time.perf_counter()
                frame: dict[str, Any] = json.loads(text)
                kind = str(frame.get("type", ""))
                if kind == "error":
                    raise RuntimeError(text[:300])
                if kind.endswith(("speech_stopped", "transcription.completed")):
                    at.setdefault(kind.rsplit(".", 1)[1], now)
                    heard = frame.get("transcript", heard)
                elif kind == "response.output_audio.delta":
                    at.setdefault("audio", now)
                elif kind == "response.done":
                    break
            end = await microphone
        finally:
            microphone.cancel()
    turns.audio_seconds += len(pieces) * CHUNK_SECONDS
    if "audio" not in at or "speech_stopped" not in at or "completed" not in at:
        turns.failures.append(f"heard {heard!r}, saw {sorted(at)}")
        return
    # A misheard turn still ran every stage (the script's fallback answer was spoken), so its
    # times count; how often the word was missed is a figure of its own.
    if "weather" not in heard:
        turns.misheard.append(heard)
    turns.stopped.append(at["speech_stopped"] - end)
    turns.transcribed.append(at["completed"] - end)
    turns.first_audio.append(at["audio"] - end)


async def latency(
    url: str, pieces: list[bytes], last: int, count: int, silence: int | None
) -> Turns:
    """``count`` turns, one after the other, on one session."""
    turns = Turns()
    ws = await open_session(url, "deflate")
    try:
        await configure(ws, silence)
        await voice_turn(ws, pieces, last, Turns())  # warm-up: first-use costs, not measured
        for _ in range(count):
            await voice_turn(ws, pieces, last, turns)
    finally:
        await ws.close()
    return turns


async def load(
    url: str, pid: int, pieces: list[bytes], last: int, sessions: int, count: int
) -> dict[str, Any]:
    """``sessions`` sessions speaking ``count`` turns each at once: server CPU and latency."""
    turns = Turns()
    opened = [await open_session(url, "deflate") for _ in range(sessions)]
    try:
        await asyncio.gather(*(configure(ws, None) for ws in opened))
        turn_seconds = len(pieces) * CHUNK_SECONDS

        async def run(index: int, ws: ClientConnection) -> None:
            await asyncio.sleep(turn_seconds * index / sessions)  # spread like real users
            for _ in range(count):
                try:
                    await voice_turn(ws, pieces, last, turns)
                except Exception as exc:  # a failure is a figure; the others go on
                    turns.failures.append(f"{type(exc).__name__}: {exc}")

        before, started = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(run(i, ws) for i, ws in enumerate(opened)))
        cpu, wall = cpu_seconds(pid) - before, time.perf_counter() - started
    finally:
        await asyncio.gather(*(ws.close() for ws in opened))
    return {
        "sessions": sessions,
        **turns.summary(),
        "audio_seconds": turns.audio_seconds,
        "cpu_seconds": cpu,
        "cpu_per_audio_second": cpu / turns.audio_seconds if turns.audio_seconds else None,
        "cpu_share": cpu / wall,  # CPU seconds per wall second; 2.0 is both cores
    }


# -- the engines alone -------------------------------------------------------------------------


async def engines(question: bytes, repeat: int) -> dict[str, Any]:
    """Real-time factors of PocketSphinx and eSpeak NG, and WebRTC VAD's cost per frame."""
    from antiphon.speech.local.pocketsphinx import PocketSphinxTranscriber
    from antiphon.speech.local.webrtc import WebRtcVad

    transcriber = PocketSphinxTranscriber()
    heard = bytes(CHUNK * 3) + question + bytes(CHUNK * 3)  # as the server commits it
    await transcriber.transcribe(TranscriptionRequest(heard, RATE))  # loads the model
    started = time.perf_counter()
    for _ in range(repeat):
        await transcriber.transcribe(TranscriptionRequest(heard, RATE))
    stt = (time.perf_counter() - started) / repeat / (len(heard) / (2 * RATE))
    await synthesize(ANSWER)
    started = time.perf_counter()
    spoken = 0
    for _ in range(repeat):
        spoken += len(await synthesize(ANSWER))
    tts = (time.perf_counter() - started) / (spoken / (2 * RATE))
    vad = WebRtcVad()
    wide = resample(heard, RATE, vad.sample_rate)
    size = vad.sample_rate * vad.frame_ms // 1000 * 2
    frames = [VadRequest(wide[at : at + size]) for at in range(0, len(wide) - size + 1, size)]
    started = time.perf_counter()
    for _ in range(repeat * 20):
        for frame in frames:
            vad.is_speech(frame)
    per_frame = (time.perf_counter() - started) / (repeat * 20 * len(frames))
    return {
        "pocketsphinx_rtf": stt,
        "espeak_rtf": tts,
        "webrtc_vad_us_per_frame": per_frame * 1e6,
        "webrtc_vad_rtf": per_frame / (vad.frame_ms / 1000),
        "question_seconds": len(question) / (2 * RATE),
    }


# -- the run -----------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, server: str, pid: int) -> dict[str, Any]:
    url = server.replace("http://", "ws://") + f"/v1/realtime?model={MODEL}"
    question = await synthesize(QUESTION)
    pieces, last = chunks_of(question)
    result: dict[str, Any] = {"engines": await engines(question, args.engine_repeat)}
    result["latency"] = {
        f"silence {silence or 500} ms": (
            await latency(url, pieces, last, args.turns, silence)
        ).summary()
        for silence in (None, 200)
    }
    result["load"] = [
        await load(url, pid, pieces, last, int(count), args.load_turns)
        for count in args.sessions.split(",")
    ]
    return result


def report(result: dict[str, Any]) -> None:
    e = result["engines"]
    print(
        f"engines alone: PocketSphinx RTF {e['pocketsphinx_rtf']:.3f}, eSpeak NG RTF "
        f"{e['espeak_rtf']:.3f}, WebRTC VAD {e['webrtc_vad_us_per_frame']:.1f} us per 30 ms frame"
        f" (RTF {e['webrtc_vad_rtf']:.5f}); question {e['question_seconds']:.2f} s"
    )
    print("from the end of speech (ms)  speech_stopped      transcribed      first audio")
    header = f"  {'':26s}" + "   p50    p99" * 3 + "  turns misheard failed"
    rows = [(name, s) for name, s in result["latency"].items()]
    rows += [(f"{row['sessions']} sessions at once", row) for row in result["load"]]
    print(header)
    for name, s in rows:
        cells = "".join(
            f" {s[f'{stage}_p50_ms']:6.0f} {s[f'{stage}_p99_ms']:6.0f}"
            for stage in ("speech_stopped", "transcribed", "first_audio")
        )
        print(f"  {name:26s}{cells}  {s['turns']:5d} {s['misheard']:8d} {s['failures']:6d}")
        if s["misheard_as"]:
            print(f"    misheard as: {', '.join(map(repr, s['misheard_as']))}")
        if s["first_failure"]:
            print(f"    first failure: {s['first_failure']}")
    print("  target: first audio <= 500 ms after the end of speech (p99)")
    print("server CPU per active voice session (2 cores = CPU share 2.0):")
    for row in result["load"]:
        print(
            f"  {row['sessions']:2d} sessions: {row['cpu_per_audio_second']:.3f} CPU s per "
            f"second of audio streamed, CPU share {row['cpu_share']:.2f}"
        )


def _stop(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)  # unwinds the context managers, which stop the server


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=20, help="turns per latency run")
    parser.add_argument("--sessions", default="1,4,8", help="concurrent sessions, comma-separated")
    parser.add_argument("--load-turns", type=int, default=3, help="turns per session under load")
    parser.add_argument("--engine-repeat", type=int, default=5, help="runs per engine figure")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not local_available():
        raise SystemExit("the local speech engines are not installed: pip install '.[speech]'")
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "voice.json"
        script.write_text(json.dumps(SCRIPT), encoding="utf-8")
        config = f'[[models]]\nname = "{MODEL}"\nupstream_api = "scripted"\nscript = "{script}"\n'
        with antiphon_server("", Path(directory), "memory", models=config) as (server, pid):
            result = asyncio.run(measure(args, server, pid))
    result["settings"] = vars(args)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        report(result)


if __name__ == "__main__":
    main()
