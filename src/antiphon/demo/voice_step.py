"""Step 5 of ``antiphon demo``: a spoken question and a spoken answer over ``/v1/realtime``.

eSpeak NG says :data:`QUESTION` in this process; the audio is streamed into the server in 100 ms
chunks at the pace a microphone would deliver them, followed by a second of silence. The server's
WebRTC VAD finds the speech, PocketSphinx transcribes it, the scripted model answers what was
heard (its turn matches only a transcript holding :data:`KEY_WORD`), and eSpeak NG on the server
speaks the answer, which streams back as audio with its transcript. The answer's audio is written
to a WAV file and transcribed back with PocketSphinx. Everything is checked, not only shown.

Needs the ``speech`` extra on both sides (the same environment runs the server); without it the
step says so and is skipped.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.markup import escape

from antiphon.demo.voice_view import RATE, VoiceView
from antiphon.realtime import (
    AgentEndEvent,
    AudioEvent,
    ErrorEvent,
    RealtimeAgent,
    RealtimeRunConfig,
    RealtimeRunner,
    RealtimeSession,
)
from antiphon.speech.audio import wav_bytes
from antiphon.speech.base import SpeechRequest, TranscriptionRequest, synthesize_all
from antiphon.speech.factory import local_available

__all__ = ["ANSWER", "KEY_WORD", "QUESTION", "WAV_PATH", "run_voice_step"]

#: What the user says. eSpeak's robotic voice is hard on PocketSphinx's model; this phrase, in
#: the voice and speed below, is what it hears reliably (weather questions come out garbled).
QUESTION: Final = "What is the weather?"
#: The word the script's turn matches in the transcript, and that the check looks for.
KEY_WORD: Final = "weather"
#: The scripted answer (``weather.json``); it opens with the phrase PocketSphinx hears well, so
#: transcribing the answer's audio back can be checked too.
ANSWER: Final = "It is sunny, the weather is fine."
#: Where the answer's audio goes (overwritten by each run, so runs leave no litter).
WAV_PATH: Final = Path(tempfile.gettempdir()) / "antiphon-demo-answer.wav"
VOICE, SPEED = "ash", 1.0  # eSpeak's en-us+m3: what PocketSphinx hears these phrases in best
CHUNK_SECONDS: Final = 0.1
_CHUNK: Final = int(RATE * CHUNK_SECONDS) * 2  # PCM16
#: How long the whole step may take; it needs a few seconds, this only bounds a hang.
WITHIN: Final = 30.0
_CONFIG: RealtimeRunConfig = {
    "session": {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {"output": {"voice": VOICE, "speed": SPEED}},
    },
    "raw_model_events": True,  # the VAD and transcript events the view shows
}


@dataclass(slots=True)
class VoiceOutcome:
    """What the step observed, for the checks."""

    speech: list[str] = field(default_factory=list[str])
    heard: str = ""
    said: str = ""
    audio: bytearray = field(default_factory=bytearray)
    heard_back: str = ""
    errors: list[str] = field(default_factory=list[str])

    def problems(self) -> list[str]:
        """Why the step did not check out; empty when it did."""
        found = [f"error: {error}" for error in self.errors]
        if self.speech[:2] != ["started", "stopped"]:
            found.append(f"expected the server VAD to find speech start, stop; got {self.speech}")
        if KEY_WORD not in self.heard:
            found.append(f"expected the transcript to hold {KEY_WORD!r}, heard {self.heard!r}")
        if self.said != ANSWER:
            found.append(f"expected the spoken answer's transcript {ANSWER!r}, got {self.said!r}")
        if len(self.audio) < RATE:  # half a second: the answer takes ~3 s to say
            found.append(f"expected the answer's audio, got {len(self.audio) / (2 * RATE):.2f} s")
        elif KEY_WORD not in self.heard_back:
            found.append(f"expected {KEY_WORD!r} in the answer's audio, heard {self.heard_back!r}")
        return found


def run_voice_step(console: Console, base_url: str, model: str, wav_path: Path = WAV_PATH) -> bool:
    """Run the step against the server at ``base_url`` (http://...); whether it checked out.

    A missing ``speech`` extra skips the step (True), with a message saying so.
    """
    title = "5. voice: a spoken question, a spoken answer (server VAD, PocketSphinx, eSpeak NG)"
    if not local_available():
        console.print(
            f"[bold]{title}[/]\n[yellow]skipped: the speech extra is not installed "
            "(pip install 'antiphon\\[speech]', which scripts/dev.py does)[/]"
        )
        return True
    url = base_url.replace("http://", "ws://", 1) + f"/v1/realtime?model={model}"
    outcome = VoiceOutcome()
    view = VoiceView(title)
    try:
        with view.live(console):
            asyncio.run(_converse(url, outcome, view))
    except TimeoutError:
        outcome.errors.append(f"the turn did not finish within {WITHIN} s")
    except Exception as exc:  # the step reports any failure as a failed check, not a traceback
        outcome.errors.append(f"{type(exc).__name__}: {exc}")
    if outcome.audio:
        wav_path.write_bytes(wav_bytes(bytes(outcome.audio), RATE))
        seconds = len(outcome.audio) / (2 * RATE)
        # The path on a line of its own: wrapped, it could not be copied to a player.
        console.print(f"\n[bold]the answer's audio[/] ({seconds:.2f} s), to play:\n{wav_path}")
        console.print(f"PocketSphinx hears it back as: {escape(repr(outcome.heard_back))}")
    problems = outcome.problems()
    if problems:
        # Not markup: a problem quotes server text, whose brackets rich would take for tags.
        console.print("\n" + "\n".join(problems), style="red", markup=False)
    else:
        console.print(
            f"\n[bold green]heard:[/] {escape(repr(outcome.heard))}\n"
            f"[bold green]answered aloud:[/] {escape(outcome.said)}"
        )
    return not problems


async def _converse(url: str, outcome: VoiceOutcome, view: VoiceView) -> None:
    from antiphon.speech.local.pocketsphinx import PocketSphinxTranscriber

    # Lead-in and trailing silence, as a microphone that is open before and after the phrase;
    # the trailing second outlasts the VAD's 500 ms silence window, which ends the turn.
    pcm = bytes(_CHUNK * 3) + await _say(QUESTION) + bytes(_CHUNK * 10)
    agent = RealtimeAgent(name="assistant", instructions="Answer briefly, out loud.")
    session = await RealtimeRunner(agent, config=_CONFIG).run(
        model_config={"url": url, "api_key": "demo"}
    )
    async with asyncio.timeout(WITHIN), session:
        microphone = asyncio.create_task(_stream(session, pcm, view))
        try:
            await _listen(session, outcome, view)
        finally:
            microphone.cancel()
    if outcome.audio:
        request = TranscriptionRequest(bytes(outcome.audio), RATE)
        outcome.heard_back = (await PocketSphinxTranscriber().transcribe(request)).text


async def _listen(session: RealtimeSession, outcome: VoiceOutcome, view: VoiceView) -> None:
    async for event in session:
        view.add(event)
        if isinstance(event, AudioEvent):
            outcome.audio += event.audio
        elif isinstance(event, ErrorEvent):
            outcome.errors.append(str(event.error))
            return
        elif isinstance(event, AgentEndEvent):
            outcome.said = "".join(view.said)
            outcome.heard = view.heard
            return
        elif event.type == "raw_model_event":
            kind = event.event.type
            if kind.startswith("input_audio_buffer.speech_"):
                outcome.speech.append(kind.rsplit("_", 1)[1])


async def _stream(session: RealtimeSession, pcm: bytes, view: VoiceView) -> None:
    """Send ``pcm`` in chunks at real-time pace, as a microphone would deliver it."""
    started = time.monotonic()
    for index, at in enumerate(range(0, len(pcm), _CHUNK)):
        # Paced against the start, not chunk to chunk, so the stream does not drift.
        await asyncio.sleep(max(0.0, started + index * CHUNK_SECONDS - time.monotonic()))
        await session.send_audio(pcm[at : at + _CHUNK])
        view.sent(min(len(pcm), at + _CHUNK) / (2 * RATE))


async def _say(text: str) -> bytes:
    from antiphon.speech.local.espeak import EspeakSynthesizer

    return await synthesize_all(EspeakSynthesizer(), SpeechRequest(text, VOICE, RATE, SPEED))
