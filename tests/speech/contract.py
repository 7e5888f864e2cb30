"""The behaviour every speech engine owes its seam, as base classes of test classes.

A test module subclasses a contract and provides its fixtures; pytest then runs the contract's
tests against that implementation. Audio crosses every seam as PCM16 little-endian mono.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from antiphon.exceptions import SpeechError
from antiphon.speech import (
    SpeechRequest,
    Synthesizer,
    Transcriber,
    TranscriptionRequest,
    VadRequest,
    VoiceActivityDetector,
)


async def spoken(synthesizer: Synthesizer, request: SpeechRequest) -> list[bytes]:
    async with aclosing(synthesizer.synthesize(request)) as chunks:
        return [chunk async for chunk in chunks]


def frames(detector: VoiceActivityDetector, pcm: bytes) -> list[bytes]:
    size = detector.sample_rate * detector.frame_ms // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm) - size + 1, size)]


class TranscriberContract:
    """Fixtures: ``transcriber``, ``utterance`` (a request and words it must recover),
    ``failing`` (a transcriber and a request that fails) and ``stalling`` (one that times out).
    """

    async def test_names_itself(self, transcriber: Transcriber) -> None:
        assert isinstance(transcriber.name, str)
        assert transcriber.name

    async def test_recovers_the_words(
        self, transcriber: Transcriber, utterance: tuple[TranscriptionRequest, set[str]]
    ) -> None:
        request, words = utterance
        transcript = await transcriber.transcribe(request)
        assert words <= set(transcript.text.lower().split())

    async def test_concurrent_requests_all_answer(
        self, transcriber: Transcriber, utterance: tuple[TranscriptionRequest, set[str]]
    ) -> None:
        request, words = utterance
        transcripts = await asyncio.gather(*(transcriber.transcribe(request) for _ in range(3)))
        for transcript in transcripts:
            assert words <= set(transcript.text.lower().split())

    async def test_a_failure_is_a_speech_error(
        self, failing: tuple[Transcriber, TranscriptionRequest]
    ) -> None:
        transcriber, request = failing
        with pytest.raises(SpeechError) as caught:
            await transcriber.transcribe(request)
        assert caught.value.engine == transcriber.name

    async def test_a_timeout_is_a_speech_error(
        self, stalling: tuple[Transcriber, TranscriptionRequest]
    ) -> None:
        transcriber, request = stalling
        with pytest.raises(SpeechError, match="timed out"):
            await transcriber.transcribe(request)


class SynthesizerContract:
    """Fixtures: ``synthesizer``, ``failing`` and ``stalling`` (each with its request)."""

    async def test_names_itself(self, synthesizer: Synthesizer) -> None:
        assert isinstance(synthesizer.name, str)
        assert synthesizer.name

    async def test_speaks_whole_samples(self, synthesizer: Synthesizer) -> None:
        chunks = await spoken(synthesizer, SpeechRequest("Hello there. How are you today?"))
        assert chunks
        assert all(chunk and len(chunk) % 2 == 0 for chunk in chunks)
        assert any(chunk.strip(b"\x00") for chunk in chunks)  # not silence

    async def test_length_follows_the_rate(self, synthesizer: Synthesizer) -> None:
        text = "one two three four five"
        wide = b"".join(await spoken(synthesizer, SpeechRequest(text, sample_rate=24000)))
        narrow = b"".join(await spoken(synthesizer, SpeechRequest(text, sample_rate=16000)))
        # The same speech at 2/3 of the rate: 2/3 of the samples (within a filter's edge).
        assert abs(len(narrow) / len(wide) - 2 / 3) < 0.01

    async def test_longer_text_lasts_longer(self, synthesizer: Synthesizer) -> None:
        short = b"".join(await spoken(synthesizer, SpeechRequest("Yes.")))
        long = b"".join(await spoken(synthesizer, SpeechRequest("Yes. " * 4 + "That is right.")))
        assert len(long) > 2 * len(short)

    async def test_stopping_early_leaves_it_usable(self, synthesizer: Synthesizer) -> None:
        request = SpeechRequest("First sentence here. Second sentence here. Third one.")
        async with aclosing(synthesizer.synthesize(request)) as chunks:
            async for _ in chunks:
                break
        assert await spoken(synthesizer, SpeechRequest("Still speaking."))

    async def test_a_failure_is_a_speech_error(
        self, failing: tuple[Synthesizer, SpeechRequest]
    ) -> None:
        synthesizer, request = failing
        with pytest.raises(SpeechError) as caught:
            await spoken(synthesizer, request)
        assert caught.value.engine == synthesizer.name

    async def test_a_timeout_is_a_speech_error(
        self, stalling: tuple[Synthesizer, SpeechRequest]
    ) -> None:
        synthesizer, request = stalling
        with pytest.raises(SpeechError, match="timed out"):
            await spoken(synthesizer, request)


class DetectorContract:
    """Fixtures: ``detector`` and ``speech`` (PCM16 speech at the detector's rate)."""

    def test_frames_are_whole_samples(self, detector: VoiceActivityDetector) -> None:
        assert detector.sample_rate in (8000, 16000, 24000, 32000, 48000)
        assert detector.frame_ms in (10, 20, 30)

    def test_silence_is_not_speech(self, detector: VoiceActivityDetector) -> None:
        silence = bytes(detector.sample_rate * 2)  # one second
        assert not any(
            detector.is_speech(VadRequest(frame, threshold))
            for frame in frames(detector, silence)
            for threshold in (0.0, 0.5, 1.0)
        )

    def test_finds_speech(self, detector: VoiceActivityDetector, speech: bytes) -> None:
        found = [detector.is_speech(VadRequest(frame)) for frame in frames(detector, speech)]
        # Speech has pauses between words: most frames, not all, are speech.
        assert sum(found) > len(found) / 2

    def test_a_higher_threshold_finds_no_more(
        self, detector: VoiceActivityDetector, speech: bytes
    ) -> None:
        counts = [
            sum(
                detector.is_speech(VadRequest(frame, threshold))
                for frame in frames(detector, speech)
            )
            for threshold in (0.0, 0.5, 1.0)
        ]
        assert counts == sorted(counts, reverse=True)
