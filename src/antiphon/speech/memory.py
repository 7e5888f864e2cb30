"""In-memory speech engines: deterministic, instant, dependency-free (tests, demos, CI).

- :class:`EnergyVad` is a real detector: the RMS level of a frame against a threshold in dBFS.
- :class:`ScriptedTranscriber` answers with queued texts in order, then a fixed text.
- :class:`ToneSynthesizer` speaks each word as a sine burst, so the audio's length follows the
  text (``words * (word_ms + gap_ms) / speed``) and tests can predict durations.

The scripted engines take :class:`Fail` and :class:`Stall` steps to exercise error paths: a
``Fail`` raises :class:`~antiphon.exceptions.SpeechError`, a ``Stall`` never answers, so the
engine's own ``timeout`` (a :class:`~antiphon.exceptions.SpeechError` too) or the caller's
cancellation ends it, as with a hung real engine.
"""

from __future__ import annotations

import asyncio
import math
import operator
import sys
from array import array
from collections import deque
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass

from antiphon.exceptions import SpeechError
from antiphon.speech.base import SpeechRequest, Transcript, TranscriptionRequest, VadRequest

__all__ = ["EnergyVad", "Fail", "ScriptedTranscriber", "Stall", "ToneSynthesizer"]

ENGINE = "memory"


@dataclass(frozen=True, slots=True)
class Fail:
    """Raise :class:`~antiphon.exceptions.SpeechError` after ``after_chunks`` audio chunks."""

    message: str = "scripted failure"
    after_chunks: int = 0


@dataclass(frozen=True, slots=True)
class Stall:
    """Never answer (after ``after_chunks`` audio chunks), until timed out or cancelled."""

    after_chunks: int = 0


class EnergyVad:
    """Speech where a frame's RMS level reaches a threshold: a loudness gate.

    ``threshold`` 0..1 maps linearly onto -60..-20 dBFS (0.5, the realtime default, is -40 dBFS:
    quiet speech passes, room noise does not). It needs no model and works at any rate, so it
    runs at the server's 24 kHz without resampling; it cannot tell speech from other loud sound.
    """

    def __init__(self, *, sample_rate: int = 24000, frame_ms: int = 30) -> None:
        self._sample_rate = sample_rate
        self._frame_ms = frame_ms

    @property
    def sample_rate(self) -> int:
        """The rate frames are given at."""
        return self._sample_rate

    @property
    def frame_ms(self) -> int:
        """The length of one frame in milliseconds."""
        return self._frame_ms

    @staticmethod
    def level_dbfs(frame: bytes) -> float:
        """The RMS level of PCM16 ``frame`` in dB relative to full scale (-inf for silence)."""
        samples = array("h", frame[: len(frame) - len(frame) % 2])
        if sys.byteorder == "big":  # pragma: no cover - the seams are little-endian
            samples.byteswap()
        if not samples:
            return -math.inf
        energy = sum(map(operator.mul, samples, samples)) / len(samples)
        return 10 * math.log10(energy / 32768**2) if energy else -math.inf

    def is_speech(self, request: VadRequest) -> bool:
        """Whether the frame is at least as loud as the request's threshold."""
        return self.level_dbfs(request.frame) >= -60 + 40 * min(max(request.threshold, 0.0), 1.0)


async def _stall(limit: float | None) -> None:
    """Wait forever, or raise SpeechError after ``limit`` seconds."""
    try:
        async with asyncio.timeout(limit):
            await asyncio.Event().wait()
    except TimeoutError:
        raise SpeechError(f"timed out after {limit} s", engine=ENGINE) from None


class ScriptedTranscriber:
    """Answers each call with the next step of its script, then with ``default``.

    A step is a text, a :class:`Fail` or a :class:`Stall`. ``requests`` records every call.
    """

    def __init__(
        self,
        script: Iterable[str | Fail | Stall] = (),
        *,
        default: str = "",
        timeout: float | None = 10.0,
    ) -> None:
        self._script: deque[str | Fail | Stall] = deque(script)
        self.default = default
        self.timeout = timeout
        self.requests: list[TranscriptionRequest] = []

    @property
    def name(self) -> str:
        """``"memory"``."""
        return ENGINE

    def queue(self, *steps: str | Fail | Stall) -> None:
        """Append steps to the script."""
        self._script.extend(steps)

    async def transcribe(self, request: TranscriptionRequest) -> Transcript:
        """The next scripted text (``default`` once the script is spent)."""
        self.requests.append(request)
        step = self._script.popleft() if self._script else self.default
        if isinstance(step, Fail):
            raise SpeechError(step.message, engine=ENGINE)
        if isinstance(step, Stall):
            await _stall(self.timeout)
        return Transcript(text=step if isinstance(step, str) else "")


class ToneSynthesizer:
    """Speaks each word as a sine burst and a short silence; one chunk per word.

    The pitch follows the voice and the word's length, so different texts sound (and compare)
    different. ``script`` holds :class:`Fail`/:class:`Stall` steps taken one per request; with
    none left, requests succeed. ``requests`` records every call.
    """

    def __init__(
        self,
        script: Iterable[Fail | Stall] = (),
        *,
        word_ms: int = 200,
        gap_ms: int = 50,
        amplitude: int = 8000,
        timeout: float | None = 10.0,
    ) -> None:
        self._script: deque[Fail | Stall] = deque(script)
        self.word_ms = word_ms
        self.gap_ms = gap_ms
        self.amplitude = amplitude
        self.timeout = timeout
        self.requests: list[SpeechRequest] = []

    @property
    def name(self) -> str:
        """``"memory"``."""
        return ENGINE

    def queue(self, *steps: Fail | Stall) -> None:
        """Append steps: each applies to one later request."""
        self._script.extend(steps)

    def duration_ms(self, request: SpeechRequest) -> float:
        """How long the audio for ``request`` lasts (to the sample, as it is rounded down)."""
        rate = request.sample_rate
        per_word = self._samples(self.word_ms, request) + self._samples(self.gap_ms, request)
        return len(request.text.split()) * per_word * 1000 / rate

    def _samples(self, ms: int, request: SpeechRequest) -> int:
        return int(ms * request.sample_rate / (1000 * max(request.speed, 0.01)))

    def _word(self, word: str, request: SpeechRequest) -> bytes:
        base = 150 + 10 * (sum(map(ord, request.voice)) % 16)
        frequency = base + 25 * min(len(word), 12)
        rate = request.sample_rate
        tone = array(
            "h",
            (
                round(self.amplitude * math.sin(2 * math.pi * frequency * i / rate))
                for i in range(self._samples(self.word_ms, request))
            ),
        )
        if sys.byteorder == "big":  # pragma: no cover - the seams are little-endian
            tone.byteswap()
        return tone.tobytes() + bytes(2 * self._samples(self.gap_ms, request))

    async def synthesize(self, request: SpeechRequest) -> AsyncGenerator[bytes, None]:
        """One PCM16 chunk per word of ``request.text``."""
        self.requests.append(request)
        step = self._script.popleft() if self._script else None
        words = request.text.split()
        # One pass more than there are words, so a step past the last word still happens.
        for index in range(len(words) + 1):
            if step is not None and index == min(step.after_chunks, len(words)):
                if isinstance(step, Fail):
                    raise SpeechError(step.message, engine=ENGINE)
                await _stall(self.timeout)
            if index < len(words):
                yield self._word(words[index], request)
