"""The input audio buffer of one realtime session, and server VAD turn detection (sans-I/O).

Audio arrives as PCM16 at 24 kHz (decoded from the session's input format by the caller). With
turn detection, every frame goes through the session's :class:`VoiceActivityDetector`:

- *silent*: the buffer keeps only the last ``prefix_padding_ms`` (so silence never grows it);
  a run of speech frames (:data:`START_FRAMES`) starts an utterance at its first frame, minus
  the padding: ``speech_started``;
- *speaking*: silence for ``silence_duration_ms`` ends it where the speech ended:
  ``speech_stopped``, and the utterance (padding included) is committed. An utterance longer
  than ``max_utterance_ms`` is cut there and committed.

Without turn detection the buffer only grows until the client commits or clears it. Either way
it holds at most ``max_buffer_ms`` (75 s: an utterance, its padding and some slack; past it an
error): every utterance is transcribed whole, and a long one holds a transcriber that long.
Times are milliseconds of audio since the session started, as OpenAI reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server.voice_settings import TurnDetection
from antiphon.speech.base import VadRequest, VoiceActivityDetector

__all__ = ["InputAudio", "Pause", "SpeechStarted", "SpeechStopped", "Utterance"]

RATE: Final = 24000
_BYTES_PER_MS: Final = RATE * 2 // 1000
#: Speech frames in a row that start an utterance (a click or a cough is one or two frames).
START_FRAMES: Final = 3
#: The least audio a manual commit takes, as OpenAI requires.
MIN_COMMIT_MS: Final = 100


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Speech began at ``audio_start_ms``; it will be the user item ``item_id``."""

    audio_start_ms: int
    item_id: str


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """Speech ended at ``audio_end_ms``."""

    audio_end_ms: int
    item_id: str


@dataclass(frozen=True, slots=True)
class Utterance:
    """Committed audio (PCM16, 24 kHz) for the user item ``item_id``."""

    item_id: str
    audio: bytes

    @property
    def duration_ms(self) -> int:
        """How long the audio plays."""
        return len(self.audio) // _BYTES_PER_MS


@dataclass(frozen=True, slots=True)
class Pause:
    """Speech paused: ``audio`` is what will be committed for ``item_id`` if the silence lasts.

    Committing waits ``silence_duration_ms`` to be sure; work on the audio (transcription) can
    start now and be kept if the commit brings the very same audio.
    """

    item_id: str
    audio: bytes


Signal = SpeechStarted | SpeechStopped | Utterance | Pause


class InputAudio:
    """The buffer and the VAD state of one session (see the module docstring).

    ``detector`` judges frames at its own rate; ``to_detector`` converts 24 kHz PCM16 to it.
    """

    def __init__(
        self,
        detector: VoiceActivityDetector | None,
        to_detector: Callable[[bytes], bytes],
        ids: Callable[[str], str],
        *,
        max_buffer_ms: int = 75_000,
        max_utterance_ms: int = 60_000,
    ) -> None:
        self._detector = detector
        self._to_detector = to_detector
        self._ids = ids
        self._max_buffer = max_buffer_ms * _BYTES_PER_MS
        self._max_utterance_ms = max_utterance_ms
        self._written = 0  # bytes of 24 kHz audio appended this session: the one clock
        self._buffer = bytearray()  # 24 kHz audio not yet committed
        self._buffer_start_ms = 0  # session time of self._buffer[0]
        self._frames = bytearray()  # detector-rate audio not yet judged
        self._judged_ms = 0  # session time up to which frames were judged
        self._run = 0  # speech frames in a row
        self._speech: SpeechStarted | None = None
        self._silence_ms = 0

    @property
    def speaking(self) -> bool:
        """Whether an utterance is open."""
        return self._speech is not None

    def append(self, pcm: bytes, turns: TurnDetection | None) -> list[Signal]:
        """Take 24 kHz audio; with ``turns``, the VAD signals it caused."""
        if len(self._buffer) + len(pcm) > self._max_buffer:
            raise InvalidRequestError(
                "The input audio buffer is full; commit or clear it.",
                param="audio",
                code="input_audio_buffer_full",
            )
        self._written += len(pcm)
        self._buffer += pcm
        if turns is None or self._detector is None:
            # Nothing judges this audio: detection, if it comes back, starts from here.
            self._frames.clear()
            self._judged_ms = self._written // _BYTES_PER_MS
            self._speech = None
            self._run = self._silence_ms = 0
            return []
        self._frames += self._to_detector(pcm)
        return self._detect(self._detector, turns)

    def commit(self) -> Utterance:
        """The whole buffer as an utterance (a manual commit)."""
        if len(self._buffer) < MIN_COMMIT_MS * _BYTES_PER_MS:
            milliseconds = len(self._buffer) // _BYTES_PER_MS
            raise InvalidRequestError(
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {milliseconds}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        item_id = self._speech.item_id if self._speech is not None else self._ids("item")
        return self._cut(len(self._buffer), item_id)

    def clear(self) -> None:
        """Drop the buffer and any open utterance; detection starts again from now."""
        self._buffer_start_ms = self._judged_ms = self._written // _BYTES_PER_MS
        self._buffer.clear()
        self._frames.clear()
        self._speech = None
        self._run = self._silence_ms = 0

    def _detect(self, detector: VoiceActivityDetector, turns: TurnDetection) -> list[Signal]:
        frame_ms = detector.frame_ms
        size = detector.sample_rate * frame_ms // 1000 * 2
        signals: list[Signal] = []
        while len(self._frames) >= size:
            frame = bytes(self._frames[:size])
            del self._frames[:size]
            start_ms = self._judged_ms
            self._judged_ms += frame_ms
            speech = detector.is_speech(VadRequest(frame, turns.threshold))
            if self._speech is None:
                signals += self._while_silent(speech, start_ms, frame_ms, turns)
            else:
                signals += self._while_speaking(speech, frame_ms, turns)
        return signals

    def _while_silent(
        self, speech: bool, start_ms: int, frame_ms: int, turns: TurnDetection
    ) -> list[Signal]:
        self._run = self._run + 1 if speech else 0
        if self._run < START_FRAMES:
            self._keep_after(self._judged_ms - turns.prefix_padding_ms - START_FRAMES * frame_ms)
            return []
        first = start_ms - (START_FRAMES - 1) * frame_ms
        begin = max(self._buffer_start_ms, first - turns.prefix_padding_ms)
        self._keep_after(begin)
        self._speech = SpeechStarted(begin, self._ids("item"))
        self._silence_ms = 0
        return [self._speech]

    def _while_speaking(self, speech: bool, frame_ms: int, turns: TurnDetection) -> list[Signal]:
        started = self._speech
        assert started is not None
        self._silence_ms = 0 if speech else self._silence_ms + frame_ms
        long = self._judged_ms - started.audio_start_ms >= self._max_utterance_ms
        if self._silence_ms < turns.silence_duration_ms and not long:
            if self._silence_ms == _pause_ms(turns, frame_ms):
                # Likely the end: what would be committed if the silence lasts, ahead of time.
                end = (self._judged_ms - self._silence_ms - self._buffer_start_ms) * _BYTES_PER_MS
                return [Pause(started.item_id, bytes(self._buffer[: max(0, end)]))]
            return []
        end_ms = self._judged_ms - self._silence_ms
        stopped = SpeechStopped(end_ms, started.item_id)
        utterance = self._cut((end_ms - self._buffer_start_ms) * _BYTES_PER_MS, started.item_id)
        self._speech = None
        self._run = self._silence_ms = 0
        return [stopped, utterance]

    def _cut(self, length: int, item_id: str) -> Utterance:
        """Commit the first ``length`` bytes of the buffer (whole milliseconds, as a Pause)."""
        length = max(0, min(length, len(self._buffer)))
        length -= length % _BYTES_PER_MS  # whole milliseconds keep the clock exact
        audio = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._buffer_start_ms += length // _BYTES_PER_MS
        self._speech = None
        return Utterance(item_id, audio)

    def _keep_after(self, session_ms: int) -> None:
        """Drop buffered audio before ``session_ms`` (silence beyond the padding)."""
        drop = (session_ms - self._buffer_start_ms) * _BYTES_PER_MS
        if drop > 0:
            drop = min(drop, len(self._buffer))
            drop -= drop % _BYTES_PER_MS
            del self._buffer[:drop]
            self._buffer_start_ms += drop // _BYTES_PER_MS


def _pause_ms(turns: TurnDetection, frame_ms: int) -> int:
    """The silence after which speech counts as paused, in whole frames, before the commit.

    150 ms: a breath between words is shorter.
    """
    frames = max(1, min(150, turns.silence_duration_ms - frame_ms) // frame_ms)
    return frames * frame_ms
