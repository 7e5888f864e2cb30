"""Speech engines for the realtime server: detection, transcription, synthesis.

The seams and their contracts: :mod:`antiphon.speech.base`. Engines: :mod:`.memory` (in-memory,
no dependency), :mod:`.local` (offline, ``pip install 'antiphon[speech]'``) and :mod:`.remote`
(the OpenAI audio API); :func:`build_pipeline` picks them by name. Wire-format conversions:
:mod:`.audio`.
"""

from antiphon.speech.base import (
    SpeechPipeline,
    SpeechRequest,
    Synthesizer,
    Transcriber,
    Transcript,
    TranscriptionRequest,
    VadRequest,
    VoiceActivityDetector,
)
from antiphon.speech.factory import build_pipeline, local_available
from antiphon.speech.memory import EnergyVad, Fail, ScriptedTranscriber, Stall, ToneSynthesizer

__all__ = [
    "EnergyVad",
    "Fail",
    "ScriptedTranscriber",
    "SpeechPipeline",
    "SpeechRequest",
    "Stall",
    "Synthesizer",
    "ToneSynthesizer",
    "Transcriber",
    "Transcript",
    "TranscriptionRequest",
    "VadRequest",
    "VoiceActivityDetector",
    "build_pipeline",
    "local_available",
]
