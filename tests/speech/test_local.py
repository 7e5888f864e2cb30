"""The local engines, real ones: eSpeak NG speaks, PocketSphinx listens, WebRTC's VAD detects."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from antiphon.exceptions import SpeechError
from antiphon.speech import SpeechRequest, TranscriptionRequest, VadRequest
from antiphon.speech.factory import local_available

from .contract import DetectorContract, SynthesizerContract, TranscriberContract, spoken

if not local_available():  # pragma: no cover - the dev extra installs the speech extra
    pytest.skip("the speech extra is not installed", allow_module_level=True)

from antiphon.speech.local import EspeakSynthesizer, PocketSphinxTranscriber, WebRtcVad
from antiphon.speech.local._workers import Workers
from antiphon.speech.local.espeak import words_per_minute
from antiphon.speech.local.webrtc import aggressiveness

# Digits are what PocketSphinx's general model hears best in eSpeak's voice, and coral's variant
# (en-us+f2) best of all: it recovered all ten in every trial here, ash's five or six, the plain
# voice's zero to four. eSpeak varies its output a little from call to call (it draws on rand()).
COUNTING = "one two three four five six seven eight nine ten."
NUMBERS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
CLEAREST = "coral"


async def speak(text: str, rate: int, voice: str = CLEAREST) -> bytes:
    request = SpeechRequest(text, voice=voice, sample_rate=rate)
    return b"".join(await spoken(EspeakSynthesizer(), request))


@pytest.fixture(scope="module")
def shared_transcriber() -> Iterator[PocketSphinxTranscriber]:
    # One for the module: each worker process loads a decoder (~0.5 s) on first use.
    transcriber = PocketSphinxTranscriber()
    yield transcriber
    transcriber.close()


class TestPocketSphinx(TranscriberContract):
    @pytest.fixture
    def transcriber(self, shared_transcriber: PocketSphinxTranscriber) -> PocketSphinxTranscriber:
        return shared_transcriber

    @pytest.fixture
    async def utterance(self) -> tuple[TranscriptionRequest, set[str]]:
        return TranscriptionRequest(await speak(COUNTING, 24000), 24000), {"three", "four", "five"}

    @pytest.fixture
    def failing(
        self, shared_transcriber: PocketSphinxTranscriber
    ) -> tuple[PocketSphinxTranscriber, TranscriptionRequest]:
        return shared_transcriber, TranscriptionRequest(bytes(3200), 16000, language="fr")

    @pytest.fixture
    async def stalling(self) -> AsyncIterator[tuple[PocketSphinxTranscriber, TranscriptionRequest]]:
        # No answer can come in 0 s.
        transcriber = PocketSphinxTranscriber(timeout=0)
        yield transcriber, TranscriptionRequest(await speak(COUNTING, 16000), 16000)
        transcriber.close()


class TestEspeak(SynthesizerContract):
    @pytest.fixture
    def synthesizer(self) -> EspeakSynthesizer:
        return EspeakSynthesizer()

    @pytest.fixture
    def failing(self) -> tuple[EspeakSynthesizer, SpeechRequest]:
        return EspeakSynthesizer(voices={"alloy": "no-such-voice"}), SpeechRequest("Hello.")

    @pytest.fixture
    def stalling(self) -> tuple[EspeakSynthesizer, SpeechRequest]:
        return EspeakSynthesizer(timeout=0), SpeechRequest(" ".join(["word"] * 200))


class TestWebRtcVad(DetectorContract):
    @pytest.fixture
    def detector(self) -> WebRtcVad:
        return WebRtcVad()

    @pytest.fixture
    async def speech(self) -> bytes:
        return await speak("The quick brown fox jumps over the lazy dog.", 16000)


@pytest.mark.parametrize(("voice", "recovered"), [(CLEAREST, 8), ("ash", 3)])
async def test_what_espeak_says_pocketsphinx_hears(
    shared_transcriber: PocketSphinxTranscriber, voice: str, recovered: int
) -> None:
    audio = await speak(COUNTING, 24000, voice)
    transcript = await shared_transcriber.transcribe(TranscriptionRequest(audio, 24000))
    assert len(NUMBERS & set(transcript.text.split())) >= recovered, transcript.text


async def test_silence_transcribes_to_nothing(shared_transcriber: PocketSphinxTranscriber) -> None:
    assert (await shared_transcriber.transcribe(TranscriptionRequest(b"", 24000))).text == ""
    quiet = await shared_transcriber.transcribe(TranscriptionRequest(bytes(32000), 16000))
    assert quiet.text == ""


async def test_each_sentence_is_a_chunk() -> None:
    request = SpeechRequest("First sentence. Second one; and a clause.\nLast", sample_rate=16000)
    chunks = await spoken(EspeakSynthesizer(), request)
    assert len(chunks) >= 4  # three clauses and a line, then the resampler's tail


def test_voices_and_speed_map_onto_espeak() -> None:
    synthesizer = EspeakSynthesizer()
    assert synthesizer.voice("ash") == "en-us+m3"
    assert synthesizer.voice("unknown") == "en-us"
    assert [words_per_minute(s) for s in (0.25, 1.0, 1.5, 4.0)] == [80, 175, 262, 450]


async def test_speed_changes_the_length() -> None:
    synthesizer = EspeakSynthesizer()
    slow = b"".join(await spoken(synthesizer, SpeechRequest(COUNTING, speed=0.75)))
    fast = b"".join(await spoken(synthesizer, SpeechRequest(COUNTING, speed=1.5)))
    assert len(fast) < 0.75 * len(slow)


def test_threshold_bands_and_frame_size() -> None:
    assert [aggressiveness(t) for t in (0.0, 0.3, 0.5, 0.74, 0.75, 1.0)] == [0, 1, 2, 2, 3, 3]
    with pytest.raises(SpeechError, match="960 bytes"):
        WebRtcVad().is_speech(VadRequest(bytes(100)))
    with pytest.raises(ValueError, match="10, 20 or 30 ms"):
        WebRtcVad(frame_ms=25)
    assert not WebRtcVad(frame_ms=10).is_speech(VadRequest(bytes(320)))


async def test_workers_refuse_past_their_backlog_and_cancel_abandoned_jobs() -> None:
    workers = Workers("test", workers=1, backlog=0)
    release, saw_cancel = threading.Event(), threading.Event()

    def job(cancel: threading.Event) -> str:
        release.wait(10)
        if cancel.wait(10):
            saw_cancel.set()
        return "done"

    first = asyncio.create_task(workers.run(job, limit=None))
    await asyncio.wait([first], timeout=0)  # let it take its slot
    assert workers.in_flight == 1
    with pytest.raises(SpeechError, match="busy"):
        await workers.run(job, limit=None)
    first.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.to_thread(saw_cancel.wait, 10)  # the job learnt nobody waits
    workers.close()
    with pytest.raises(SpeechError, match="closed"):
        await workers.run(job, limit=None)


async def test_a_job_failure_is_a_speech_error() -> None:
    workers = Workers("test", workers=1, backlog=1)

    def job(cancel: threading.Event) -> None:
        raise RuntimeError("native failure")

    with pytest.raises(SpeechError, match="test: RuntimeError: native failure"):
        await workers.run(job, limit=5)
    workers.close()
