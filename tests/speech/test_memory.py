"""The in-memory engines against the seams' contracts, and what they promise besides."""

from __future__ import annotations

import asyncio
import math
import struct

import pytest

from antiphon.exceptions import SpeechError
from antiphon.speech import SpeechRequest, TranscriptionRequest, VadRequest
from antiphon.speech.memory import EnergyVad, Fail, ScriptedTranscriber, Stall, ToneSynthesizer

from .contract import DetectorContract, SynthesizerContract, TranscriberContract, spoken

SECOND = bytes(2 * 16000)


class TestScriptedTranscriber(TranscriberContract):
    @pytest.fixture
    def transcriber(self) -> ScriptedTranscriber:
        return ScriptedTranscriber(default="three four five")

    @pytest.fixture
    def utterance(self) -> tuple[TranscriptionRequest, set[str]]:
        return TranscriptionRequest(SECOND, 16000), {"three", "four", "five"}

    @pytest.fixture
    def failing(self) -> tuple[ScriptedTranscriber, TranscriptionRequest]:
        return ScriptedTranscriber([Fail("no")]), TranscriptionRequest(SECOND, 16000)

    @pytest.fixture
    def stalling(self) -> tuple[ScriptedTranscriber, TranscriptionRequest]:
        return ScriptedTranscriber([Stall()], timeout=0.01), TranscriptionRequest(SECOND, 16000)


async def test_the_script_answers_in_order_then_the_default() -> None:
    transcriber = ScriptedTranscriber(["first", Fail("broken")], default="again")
    transcriber.queue("last")
    request = TranscriptionRequest(SECOND, 16000, language="en")
    assert (await transcriber.transcribe(request)).text == "first"
    with pytest.raises(SpeechError, match="memory: broken"):
        await transcriber.transcribe(request)
    assert [(await transcriber.transcribe(request)).text for _ in range(2)] == ["last", "again"]
    assert transcriber.requests == [request] * 4


async def test_a_stall_without_timeout_waits_for_cancellation() -> None:
    transcriber = ScriptedTranscriber([Stall()], timeout=None)
    task = asyncio.create_task(transcriber.transcribe(TranscriptionRequest(SECOND, 16000)))
    # wait() returns the pending set: the stalled call is still waiting once the loop is idle.
    done, _ = await asyncio.wait([task], timeout=0)
    assert not done
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(transcriber.requests) == 1


class TestToneSynthesizer(SynthesizerContract):
    @pytest.fixture
    def synthesizer(self) -> ToneSynthesizer:
        return ToneSynthesizer()

    @pytest.fixture
    def failing(self) -> tuple[ToneSynthesizer, SpeechRequest]:
        return ToneSynthesizer([Fail()]), SpeechRequest("Hello there.")

    @pytest.fixture
    def stalling(self) -> tuple[ToneSynthesizer, SpeechRequest]:
        return ToneSynthesizer([Stall()], timeout=0.01), SpeechRequest("Hello there.")


async def test_durations_are_predictable() -> None:
    synthesizer = ToneSynthesizer(word_ms=100, gap_ms=20)
    request = SpeechRequest("one two three", sample_rate=16000, speed=2.0)
    chunks = await spoken(synthesizer, request)
    assert len(chunks) == 3  # a chunk per word
    assert synthesizer.duration_ms(request) == 3 * (50 + 10)
    assert sum(map(len, chunks)) == 2 * 16000 * 180 // 1000
    assert await spoken(synthesizer, request) == chunks  # deterministic


async def _until_failure(synthesizer: ToneSynthesizer, received: list[bytes]) -> None:
    async for chunk in synthesizer.synthesize(SpeechRequest("one two three")):
        received.append(chunk)


@pytest.mark.parametrize(
    ("step", "expected"), [(Fail(after_chunks=2), 2), (Fail(after_chunks=9), 3)]
)
async def test_a_failure_can_come_mid_stream(step: Fail, expected: int) -> None:
    synthesizer = ToneSynthesizer([step])
    received: list[bytes] = []
    with pytest.raises(SpeechError):
        await _until_failure(synthesizer, received)
    assert len(received) == expected
    assert await spoken(synthesizer, SpeechRequest("one")), "only one request fails"


def _tone(rate: int, amplitude: float, seconds: float = 1.0) -> bytes:
    count = int(rate * seconds)
    return struct.pack(
        f"<{count}h",
        *(round(amplitude * math.sin(2 * math.pi * 300 * i / rate)) for i in range(count)),
    )


class TestEnergyVad(DetectorContract):
    @pytest.fixture
    def detector(self) -> EnergyVad:
        return EnergyVad()

    @pytest.fixture
    async def speech(self, detector: EnergyVad) -> bytes:
        request = SpeechRequest("speech is here", sample_rate=detector.sample_rate)
        return b"".join(await spoken(ToneSynthesizer(amplitude=20000), request))


@pytest.mark.parametrize(
    ("dbfs", "threshold", "expected"),
    [(-45, 0.5, False), (-35, 0.5, True), (-35, 0.75, False), (-55, 0.0, True), (-21, 1.0, False)],
)
def test_the_threshold_maps_onto_dbfs(dbfs: float, threshold: float, expected: bool) -> None:
    # A sine's RMS is its amplitude / sqrt(2).
    amplitude = 32768 * math.sqrt(2) * 10 ** (dbfs / 20)
    frame = _tone(24000, amplitude, 0.03)
    assert EnergyVad.level_dbfs(frame) == pytest.approx(dbfs, abs=0.1)
    assert EnergyVad().is_speech(VadRequest(frame, threshold)) is expected


def test_an_empty_frame_is_silence() -> None:
    assert EnergyVad.level_dbfs(b"") == -math.inf
    assert not EnergyVad(sample_rate=16000, frame_ms=20).is_speech(VadRequest(b"", 0.0))
