"""The speech seams of the realtime server: detection, transcription and synthesis.

Open models have no speech-to-speech model, so ``/v1/realtime`` runs a cascade: a
:class:`VoiceActivityDetector` finds where speech starts and stops in the input audio, a
:class:`Transcriber` turns a committed utterance into text, the engine answers in text, and a
:class:`Synthesizer` speaks the answer sentence by sentence. Each seam is a small protocol taking
one request object, with a shipped in-memory implementation (:mod:`antiphon.speech.memory`),
local offline ones (:mod:`antiphon.speech.local`: WebRTC VAD, PocketSphinx, eSpeak NG) and remote
ones over the OpenAI-compatible audio endpoints (:mod:`antiphon.speech.remote`).

Audio crosses every seam as 16-bit little-endian signed PCM, mono, at the rate the request names
(the wire's G.711 and 24 kHz are converted by :mod:`antiphon.speech.audio`). Failures are
:class:`~antiphon.exceptions.SpeechError`: the realtime server turns one into an ``error`` event
(or a failed transcription) and the session goes on.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "SpeechPipeline",
    "SpeechRequest",
    "Synthesizer",
    "Transcriber",
    "Transcript",
    "TranscriptionRequest",
    "VadRequest",
    "VoiceActivityDetector",
    "synthesize_all",
]


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    """One utterance to transcribe: PCM16 mono at ``sample_rate``.

    ``language`` and ``prompt`` are hints (``session.audio.input.transcription``).
    """

    audio: bytes
    sample_rate: int
    language: str | None = None
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said."""

    text: str


class Transcriber(Protocol):
    """Speech to text."""

    @property
    def name(self) -> str:
        """A short label for logs and the session (``"pocketsphinx"``, ``"remote"``)."""
        ...

    async def transcribe(self, request: TranscriptionRequest) -> Transcript:
        """The text of ``request.audio``; raises :class:`~antiphon.exceptions.SpeechError`."""
        ...


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """Text to speak with ``voice``, as PCM16 mono at ``sample_rate``.

    ``voice`` is a realtime voice name such as ``"alloy"``: engines map the names they know and
    fall back to their default.
    """

    text: str
    voice: str = "alloy"
    sample_rate: int = 24000
    speed: float = 1.0


class Synthesizer(Protocol):
    """Text to speech."""

    @property
    def name(self) -> str:
        """A short label for logs (``"espeak-ng"``, ``"remote"``)."""
        ...

    def synthesize(self, request: SpeechRequest) -> AsyncGenerator[bytes, None]:
        """PCM16 chunks of the spoken text, as they are made (an async generator).

        A caller that stops early (the user interrupts) closes it, ``async with
        contextlib.aclosing(...)``, so the engine stops work and frees its connection or thread
        at once rather than when the generator is collected. Raises
        :class:`~antiphon.exceptions.SpeechError`.
        """
        ...


async def synthesize_all(synthesizer: Synthesizer, request: SpeechRequest) -> bytes:
    """All of ``request``'s audio at once (for a file, a test, a prompt to stream later)."""
    pcm = bytearray()
    async with aclosing(synthesizer.synthesize(request)) as chunks:
        async for chunk in chunks:
            pcm += chunk
    return bytes(pcm)


@dataclass(frozen=True, slots=True)
class VadRequest:
    """One frame of PCM16 mono audio, the detector's ``frame_ms`` long at its rate.

    ``threshold`` is the session's (0 to 1: higher needs louder, clearer speech).
    """

    frame: bytes
    threshold: float = 0.5


class VoiceActivityDetector(Protocol):
    """Whether a frame holds speech. Synchronous and cheap: it runs for every frame."""

    @property
    def sample_rate(self) -> int:
        """The rate frames must have (the server resamples to it)."""
        ...

    @property
    def frame_ms(self) -> int:
        """The length of one frame in milliseconds."""
        ...

    def is_speech(self, request: VadRequest) -> bool:
        """Whether the frame holds speech at the request's threshold."""
        ...


@dataclass(frozen=True, slots=True)
class SpeechPipeline:
    """What a realtime session hears and speaks with; one per server, shared by sessions.

    ``detector`` makes a detector: each session has its own, as a detector may keep state.
    """

    transcriber: Transcriber
    synthesizer: Synthesizer
    detector: Callable[[], VoiceActivityDetector]
