"""Speech engines for the realtime server: detection, transcription, synthesis.

The seams and their contracts: :mod:`antiphon.speech.base`.
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

__all__ = [
    "SpeechPipeline",
    "SpeechRequest",
    "Synthesizer",
    "Transcriber",
    "Transcript",
    "TranscriptionRequest",
    "VadRequest",
    "VoiceActivityDetector",
]
