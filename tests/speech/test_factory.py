"""build_pipeline: engine names to engines."""

from __future__ import annotations

import pytest

from antiphon.exceptions import SpeechError
from antiphon.speech import SpeechPipeline
from antiphon.speech.factory import build_pipeline, local_available
from antiphon.speech.memory import EnergyVad, ScriptedTranscriber, ToneSynthesizer
from antiphon.speech.remote import RemoteSynthesizer, RemoteTranscriber


def test_memory_engines() -> None:
    pipeline = build_pipeline("memory", "memory", "energy")
    assert isinstance(pipeline, SpeechPipeline)
    assert isinstance(pipeline.transcriber, ScriptedTranscriber)
    assert isinstance(pipeline.synthesizer, ToneSynthesizer)
    first, second = pipeline.detector(), pipeline.detector()
    assert isinstance(first, EnergyVad)
    assert first is not second  # one per session


async def test_remote_engines() -> None:
    pipeline = build_pipeline(
        "http://stt.test/v1",
        "https://tts.test/v1",
        "energy",
        stt_model="whisper-large-v3",
        tts_model="kokoro",
        api_key="key",
    )
    transcriber, synthesizer = pipeline.transcriber, pipeline.synthesizer
    assert isinstance(transcriber, RemoteTranscriber)
    assert (transcriber.base_url, transcriber.model) == ("http://stt.test/v1", "whisper-large-v3")
    assert isinstance(synthesizer, RemoteSynthesizer)
    assert (synthesizer.base_url, synthesizer.model) == ("https://tts.test/v1", "kokoro")
    await transcriber.aclose()
    await synthesizer.aclose()


def test_local_engines() -> None:
    assert local_available()  # the dev extra installs the speech extra
    from antiphon.speech.local import EspeakSynthesizer, PocketSphinxTranscriber, WebRtcVad

    pipeline = build_pipeline()  # local, local, webrtc
    assert isinstance(pipeline.transcriber, PocketSphinxTranscriber)
    assert isinstance(pipeline.synthesizer, EspeakSynthesizer)
    assert isinstance(pipeline.detector(), WebRtcVad)
    pipeline.transcriber.close()


@pytest.mark.parametrize(
    ("stt", "tts", "vad", "message"),
    [
        ("whisper", "memory", "energy", "speech-to-text engine 'whisper'"),
        ("memory", "ftp://x", "energy", "text-to-speech engine 'ftp://x'"),
        ("memory", "memory", "silero", "voice activity detector 'silero'"),
    ],
)
def test_unknown_names(stt: str, tts: str, vad: str, message: str) -> None:
    with pytest.raises(SpeechError, match=message) as caught:
        build_pipeline(stt, tts, vad)
    assert caught.value.engine == "config"
