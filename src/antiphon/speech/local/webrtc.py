"""Voice activity detection with WebRTC's detector (``webrtcvad-wheels``, the ``speech`` extra).

WebRTC's VAD is a small Gaussian-mixture model over band energies, made for telephony: it tells
speech from steady noise, which a loudness gate cannot. It takes 10, 20 or 30 ms frames at 8, 16,
32 or 48 kHz; this detector uses 30 ms at 16 kHz (the server resamples to it).

Its one knob is an aggressiveness 0..3 (3 rejects the most non-speech). The session's
``threshold`` 0..1 maps onto it in four equal bands: [0, 0.25) is 0, [0.25, 0.5) is 1,
[0.5, 0.75) is 2 (the realtime default 0.5 lands here) and [0.75, 1] is 3.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from antiphon.exceptions import SpeechError, SpeechUnavailable
from antiphon.speech.base import VadRequest

__all__ = ["WebRtcVad", "aggressiveness"]

ENGINE = "webrtcvad"


class _Vad(Protocol):
    def is_speech(self, buf: bytes, sample_rate: int) -> bool: ...


class _Module(Protocol):
    def Vad(self, mode: int) -> _Vad: ...


def _module() -> _Module:
    try:
        return cast(_Module, importlib.import_module("webrtcvad"))
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise SpeechUnavailable(
            "webrtcvad is not installed: pip install 'antiphon[speech]'", engine=ENGINE
        ) from exc


_webrtcvad = _module()


def aggressiveness(threshold: float) -> int:
    """WebRTC's aggressiveness (0..3) for a session ``threshold`` (0..1)."""
    return min(3, max(0, int(threshold * 4)))


class WebRtcVad:
    """WebRTC's voice activity detector: 30 ms frames of PCM16 mono at 16 kHz.

    Keeps one native detector per aggressiveness (each has a little state across frames), so
    make one :class:`WebRtcVad` per session, as :class:`~antiphon.speech.base.SpeechPipeline`'s
    ``detector`` factory does.
    """

    def __init__(self, *, frame_ms: int = 30) -> None:
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"WebRTC's VAD takes 10, 20 or 30 ms frames, not {frame_ms}")
        self._frame_ms = frame_ms
        self._detectors: dict[int, _Vad] = {}

    @property
    def sample_rate(self) -> int:
        """16 kHz."""
        return 16000

    @property
    def frame_ms(self) -> int:
        """30 ms unless set otherwise."""
        return self._frame_ms

    def is_speech(self, request: VadRequest) -> bool:
        """Whether the frame holds speech; SpeechError for a frame of the wrong length."""
        expected = self.sample_rate * self._frame_ms // 1000 * 2
        if len(request.frame) != expected:
            raise SpeechError(
                f"a frame must be {expected} bytes ({self._frame_ms} ms at 16 kHz), "
                f"not {len(request.frame)}",
                engine=ENGINE,
            )
        mode = aggressiveness(request.threshold)
        detector = self._detectors.get(mode)
        if detector is None:
            detector = self._detectors[mode] = _webrtcvad.Vad(mode)
        return detector.is_speech(request.frame, self.sample_rate)
