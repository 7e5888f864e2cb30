"""The server's speech pipeline from its settings: off, local, or remote engines."""

from __future__ import annotations

from antiphon.server.settings import SpeechConfig
from antiphon.server.speech_setup import open_speech


def test_speech_can_be_switched_off() -> None:
    assert open_speech(SpeechConfig(enabled=False)) is None


def test_the_local_engines_are_the_default() -> None:
    pipeline = open_speech(SpeechConfig())
    assert pipeline is not None
    assert (pipeline.transcriber.name, pipeline.synthesizer.name) == ("pocketsphinx", "espeak-ng")
    assert pipeline.detector().sample_rate == 16000  # WebRTC VAD's rate


def test_urls_name_remote_engines_for_each_half() -> None:
    pipeline = open_speech(SpeechConfig(stt_url="http://stt.invalid/v1"))
    assert pipeline is not None
    assert (pipeline.transcriber.name, pipeline.synthesizer.name) == ("remote", "espeak-ng")
    both = open_speech(
        SpeechConfig(stt_url="http://stt.invalid/v1", tts_url="http://tts.invalid/v1")
    )
    assert both is not None
    assert (both.transcriber.name, both.synthesizer.name) == ("remote", "remote")
