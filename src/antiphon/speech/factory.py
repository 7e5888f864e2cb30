"""A :class:`~antiphon.speech.base.SpeechPipeline` from the server's settings.

``stt`` and ``tts`` each name an engine: ``"local"`` (PocketSphinx / eSpeak NG, the ``speech``
extra), ``"memory"`` (the scripted transcriber / tone synthesizer) or an ``http(s)://`` base URL
of an OpenAI-compatible audio API (``.../v1``). ``vad`` is ``"webrtc"`` (the ``speech`` extra)
or ``"energy"`` (no dependency). Local engines are imported only when chosen, so a server
without the extra can still run memory or remote engines.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from antiphon.exceptions import SpeechError
from antiphon.speech.base import SpeechPipeline, Synthesizer, Transcriber, VoiceActivityDetector
from antiphon.speech.memory import EnergyVad, ScriptedTranscriber, ToneSynthesizer

__all__ = ["LOCAL_PACKAGES", "build_pipeline", "local_available"]

#: The modules the local engines import (from ``pip install 'antiphon[speech]'``).
LOCAL_PACKAGES = ("pocketsphinx", "espeakng_loader", "webrtcvad", "numpy")


def local_available() -> bool:
    """Whether the local engines' packages are installed (without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in LOCAL_PACKAGES)


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _transcriber(stt: str, model: str | None, api_key: str | None) -> Transcriber:
    if stt == "memory":
        return ScriptedTranscriber()
    if stt == "local":
        from antiphon.speech.local.pocketsphinx import PocketSphinxTranscriber

        return PocketSphinxTranscriber()
    if _is_url(stt):
        from antiphon.speech.remote import RemoteTranscriber

        return RemoteTranscriber(stt, model=model or "whisper-1", api_key=api_key)
    raise SpeechError(
        f"unknown speech-to-text engine {stt!r} (local, memory or an http(s) URL)",
        engine="config",
    )


def _synthesizer(tts: str, model: str | None, api_key: str | None) -> Synthesizer:
    if tts == "memory":
        return ToneSynthesizer()
    if tts == "local":
        from antiphon.speech.local.espeak import EspeakSynthesizer

        return EspeakSynthesizer()
    if _is_url(tts):
        from antiphon.speech.remote import RemoteSynthesizer

        return RemoteSynthesizer(tts, model=model or "gpt-4o-mini-tts", api_key=api_key)
    raise SpeechError(
        f"unknown text-to-speech engine {tts!r} (local, memory or an http(s) URL)",
        engine="config",
    )


def _detector(vad: str) -> Callable[[], VoiceActivityDetector]:
    if vad == "energy":
        return EnergyVad
    if vad == "webrtc":
        from antiphon.speech.local.webrtc import WebRtcVad

        return WebRtcVad
    raise SpeechError(
        f"unknown voice activity detector {vad!r} (webrtc or energy)", engine="config"
    )


def build_pipeline(
    stt: str = "local",
    tts: str = "local",
    vad: str = "webrtc",
    *,
    stt_model: str | None = None,
    tts_model: str | None = None,
    api_key: str | None = None,
) -> SpeechPipeline:
    """The pipeline the settings name.

    ``stt_model`` / ``tts_model`` are sent to remote engines (defaults ``whisper-1`` and
    ``gpt-4o-mini-tts``); ``api_key`` is their bearer key. Raises
    :class:`~antiphon.exceptions.SpeechUnavailable` when a local engine's package is missing and
    :class:`~antiphon.exceptions.SpeechError` (engine ``"config"``) for an unknown name.
    """
    return SpeechPipeline(
        transcriber=_transcriber(stt, stt_model, api_key),
        synthesizer=_synthesizer(tts, tts_model, api_key),
        detector=_detector(vad),
    )
