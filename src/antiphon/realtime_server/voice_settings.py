"""The audio half of a realtime session: formats, turn detection, transcription hints, voice.

Read from the GA session (``session.audio.input`` / ``session.audio.output``) each time it is
updated. Formats are ``audio/pcm`` (16-bit, 24 kHz mono), ``audio/pcmu`` (G.711 μ-law) and
``audio/pcma`` (G.711 A-law), both ways. Turn detection is ``server_vad`` (the default, with the
hosted API's default timings) or ``None`` (the client commits); ``semantic_vad`` has no open
model here, so it is served as ``server_vad`` whose silence follows its ``eagerness`` (``low``
1 s, ``medium``/``auto`` 500 ms, ``high`` 250 ms), and ``session.updated`` shows what was asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from openai.types.realtime import RealtimeAudioConfigInput, RealtimeSessionCreateRequest

from antiphon.exceptions import InvalidRequestError

__all__ = ["AudioFormat", "TurnDetection", "VoiceSettings", "voice_settings"]

AudioFormat = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]
_FORMATS: Final[dict[str | None, AudioFormat]] = {
    None: "audio/pcm",
    "audio/pcm": "audio/pcm",
    "audio/pcmu": "audio/pcmu",
    "audio/pcma": "audio/pcma",
}
#: The longest prefix padding and silence a session may ask for (OpenAI's are far shorter).
MAX_PADDING_MS: Final = 10_000
MAX_SILENCE_MS: Final = 10_000
_EAGERNESS_SILENCE_MS: Final = {"low": 1000, "medium": 500, "auto": 500, "high": 250}


@dataclass(frozen=True, slots=True)
class TurnDetection:
    """Server VAD: when speech starts and stops, and what follows a stop."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """The audio settings of a session (see the module docstring)."""

    input_format: AudioFormat = "audio/pcm"
    output_format: AudioFormat = "audio/pcm"
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    voice: str = "alloy"
    speed: float = 1.0
    language: str | None = None
    prompt: str | None = None


def voice_settings(session: RealtimeSessionCreateRequest, before: VoiceSettings) -> VoiceSettings:
    """``before`` with what ``session`` (a ``session.update``) sets."""
    audio = session.audio
    if audio is None:
        return before
    new = before
    given = audio.input
    if given is not None:
        fields = given.model_fields_set
        if given.format is not None:
            new = replace(new, input_format=_FORMATS[given.format.type])
        if "turn_detection" in fields:
            new = replace(new, turn_detection=_turns(given))
        if given.transcription is not None:
            hints = given.transcription
            new = replace(new, language=hints.language, prompt=hints.prompt)
    out = audio.output
    if out is not None:
        if out.format is not None:
            new = replace(new, output_format=_FORMATS[out.format.type])
        if out.voice is not None:
            new = replace(new, voice=out.voice if isinstance(out.voice, str) else out.voice.id)
        if out.speed is not None:
            new = replace(new, speed=out.speed)
    _check(new)
    return new


def _check(settings: VoiceSettings) -> None:
    """Refuse values no engine can honour, naming the field (NaN and infinities included)."""
    _within(settings.speed, 0.25, 4.0, "session.audio.output.speed")
    turns = settings.turn_detection
    if turns is None:
        return
    where = "session.audio.input.turn_detection"
    _within(turns.threshold, 0.0, 1.0, f"{where}.threshold")
    _within(turns.prefix_padding_ms, 0, MAX_PADDING_MS, f"{where}.prefix_padding_ms")
    _within(turns.silence_duration_ms, 0, MAX_SILENCE_MS, f"{where}.silence_duration_ms")


def _within(value: float, low: float, high: float, param: str) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidRequestError(
            f"Invalid value for '{param}': {value!r} is not between {low:g} and {high:g}.",
            param=param,
            code="invalid_value",
        )


def _turns(given: RealtimeAudioConfigInput) -> TurnDetection | None:
    detection = given.turn_detection
    if detection is None:
        return None
    defaults = TurnDetection()
    if detection.type == "semantic_vad":
        silence = _EAGERNESS_SILENCE_MS[detection.eagerness or "auto"]
        return TurnDetection(
            silence_duration_ms=silence,
            create_response=_flag(detection.create_response, True),
            interrupt_response=_flag(detection.interrupt_response, True),
        )
    return TurnDetection(
        threshold=detection.threshold if detection.threshold is not None else defaults.threshold,
        prefix_padding_ms=(
            detection.prefix_padding_ms
            if detection.prefix_padding_ms is not None
            else defaults.prefix_padding_ms
        ),
        silence_duration_ms=(
            detection.silence_duration_ms
            if detection.silence_duration_ms is not None
            else defaults.silence_duration_ms
        ),
        create_response=_flag(detection.create_response, True),
        interrupt_response=_flag(detection.interrupt_response, True),
    )


def _flag(value: bool | None, default: bool) -> bool:
    return default if value is None else value
