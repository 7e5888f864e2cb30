"""The remote engines against an in-process OpenAI audio API (``httpx.MockTransport``)."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import AsyncIterator
from typing import Literal

import httpx
import pytest

from antiphon.exceptions import SpeechError
from antiphon.speech import SpeechRequest, TranscriptionRequest
from antiphon.speech.audio import read_wav
from antiphon.speech.remote import RemoteSynthesizer, RemoteTranscriber

from .contract import SynthesizerContract, TranscriberContract, spoken

BASE = "http://speech.test/v1"
Mode = Literal["ok", "error", "timeout", "broken"]


def tone(rate: int, words: int) -> bytes:
    count = words * rate // 4  # a quarter second a word
    wave = (round(8000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(count))
    return struct.pack(f"<{count}h", *wave)


def streamed_wav(pcm: bytes, rate: int) -> bytes:
    # As a streaming server writes it: the sizes are unknown, so they are 0xFFFFFFFF; a LIST
    # chunk before fmt must be skipped.
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF\xff\xff\xff\xffWAVE"
        + b"LIST"
        + struct.pack("<I", 3)
        + b"abc\x00"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data\xff\xff\xff\xff"
        + pcm
    )


class AudioServer:
    """Answers /audio/transcriptions and /audio/speech; ``mode`` picks how."""

    def __init__(self, mode: Mode = "ok", wav_rate: int = 22050) -> None:
        self.mode: Mode = mode
        self.wav_rate = wav_rate
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.mode == "timeout":
            raise httpx.ReadTimeout("no answer", request=request)
        if self.mode == "error":
            return httpx.Response(500, json={"error": {"message": "model not loaded"}})
        body = await request.aread()
        if request.url.path.endswith("/audio/transcriptions"):
            assert b'name="model"' in body
            assert b"RIFF" in body
            return httpx.Response(200, json={"text": " three four five "})
        payload = json.loads(body)
        words = len(str(payload["input"]).split())
        if payload["response_format"] == "wav":
            data = streamed_wav(tone(self.wav_rate, words), self.wav_rate)
        else:
            data = tone(24000, words)
        return httpx.Response(200, content=self._pieces(data))

    async def _pieces(self, data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 1001):  # odd sizes: samples split across pieces
            if self.mode == "broken" and start > 0:
                raise httpx.ReadError("connection reset")
            yield data[start : start + 1001]


class TestRemoteTranscriber(TranscriberContract):
    @pytest.fixture
    def transcriber(self) -> RemoteTranscriber:
        return RemoteTranscriber(BASE, transport=AudioServer().transport())

    @pytest.fixture
    def utterance(self) -> tuple[TranscriptionRequest, set[str]]:
        return TranscriptionRequest(tone(16000, 2), 16000), {"three", "four", "five"}

    @pytest.fixture
    def failing(self) -> tuple[RemoteTranscriber, TranscriptionRequest]:
        transport = AudioServer("error").transport()
        return RemoteTranscriber(BASE, transport=transport), TranscriptionRequest(b"", 16000)

    @pytest.fixture
    def stalling(self) -> tuple[RemoteTranscriber, TranscriptionRequest]:
        transport = AudioServer("timeout").transport()
        return RemoteTranscriber(BASE, transport=transport), TranscriptionRequest(b"", 16000)


class TestRemotePcmSynthesizer(SynthesizerContract):
    @pytest.fixture
    def synthesizer(self) -> RemoteSynthesizer:
        return RemoteSynthesizer(BASE, transport=AudioServer().transport())

    @pytest.fixture
    def failing(self) -> tuple[RemoteSynthesizer, SpeechRequest]:
        transport = AudioServer("error").transport()
        return RemoteSynthesizer(BASE, transport=transport), SpeechRequest("Hello.")

    @pytest.fixture
    def stalling(self) -> tuple[RemoteSynthesizer, SpeechRequest]:
        transport = AudioServer("timeout").transport()
        return RemoteSynthesizer(BASE, transport=transport), SpeechRequest("Hello.")


class TestRemoteWavSynthesizer(TestRemotePcmSynthesizer):
    @pytest.fixture
    def synthesizer(self) -> RemoteSynthesizer:
        transport = AudioServer().transport()
        return RemoteSynthesizer(BASE, response_format="wav", transport=transport)


async def test_the_transcription_request_is_openai_shaped() -> None:
    server = AudioServer()
    transcriber = RemoteTranscriber(
        BASE + "/", model="whisper-large-v3", api_key="sk-test", transport=server.transport()
    )
    audio = tone(16000, 1)
    request = TranscriptionRequest(audio, 16000, language="en", prompt="numbers")
    assert (await transcriber.transcribe(request)).text == "three four five"
    await transcriber.aclose()
    sent = server.requests[0]
    assert str(sent.url) == BASE + "/audio/transcriptions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = sent.content
    for name, value in [
        ("model", b"whisper-large-v3"),
        ("language", b"en"),
        ("prompt", b"numbers"),
        ("response_format", b"json"),
    ]:
        assert f'name="{name}"\r\n\r\n'.encode() + value in body
    wav = body[body.index(b"RIFF") :]
    assert read_wav(wav[: 44 + len(audio)]) == (audio, 16000)


async def test_the_speech_request_is_openai_shaped() -> None:
    server = AudioServer()
    client = httpx.AsyncClient(transport=server.transport())
    synthesizer = RemoteSynthesizer(BASE, model="kokoro", api_key="key", client=client)
    chunks = await spoken(synthesizer, SpeechRequest("Hi there", voice="coral", speed=1.25))
    assert len(b"".join(chunks)) == len(tone(24000, 2))  # 24 kHz in, 24 kHz out
    assert len(chunks) > 1  # streamed as it arrived
    await synthesizer.aclose()  # the client is the caller's: still open
    assert not client.is_closed
    await client.aclose()
    sent = server.requests[0]
    assert str(sent.url) == BASE + "/audio/speech"
    assert sent.headers["authorization"] == "Bearer key"
    assert json.loads(sent.content) == {
        "model": "kokoro",
        "input": "Hi there",
        "voice": "coral",
        "response_format": "pcm",
        "speed": 1.25,
    }


async def test_http_errors_carry_the_status_and_message() -> None:
    synthesizer = RemoteSynthesizer(BASE, transport=AudioServer("error").transport())
    with pytest.raises(SpeechError, match="remote: HTTP 500: model not loaded"):
        await spoken(synthesizer, SpeechRequest("Hello."))


async def test_a_broken_stream_is_a_speech_error() -> None:
    synthesizer = RemoteSynthesizer(BASE, transport=AudioServer("broken").transport())
    with pytest.raises(SpeechError, match="ReadError: connection reset"):
        await spoken(synthesizer, SpeechRequest("Hello there."))


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(200, text="not json"), "not JSON"),
        (httpx.Response(200, json={"words": []}), 'no "text"'),
        (httpx.Response(404, text="Not Found"), "HTTP 404: Not Found"),
        (httpx.Response(400, json={"error": "bad audio"}), "HTTP 400: bad audio"),
    ],
)
async def test_odd_transcription_answers(response: httpx.Response, message: str) -> None:
    transport = httpx.MockTransport(lambda request: response)
    transcriber = RemoteTranscriber(BASE, transport=transport)
    with pytest.raises(SpeechError, match=message):
        await transcriber.transcribe(TranscriptionRequest(bytes(320), 16000))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"OggS" + bytes(60), "not a WAV file"),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00", "no fmt chunk"),
        (streamed_wav(b"", 8000).replace(b"\x01\x00\x01\x00", b"\x01\x00\x02\x00", 1), "mono"),
        (b"RIFF\x00\x00\x00\x00WAVE", "ended before its audio"),
    ],
)
async def test_odd_wav_answers(body: bytes, message: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    synthesizer = RemoteSynthesizer(BASE, response_format="wav", transport=transport)
    with pytest.raises(SpeechError, match=message):
        await spoken(synthesizer, SpeechRequest("Hello."))


async def test_a_refused_connection_is_a_speech_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transcriber = RemoteTranscriber(BASE, transport=httpx.MockTransport(refuse))
    with pytest.raises(SpeechError, match="ConnectError"):
        await transcriber.transcribe(TranscriptionRequest(bytes(320), 16000))
    with pytest.raises(SpeechError, match="whole 2-byte samples"):
        await transcriber.transcribe(TranscriptionRequest(bytes(3), 16000))
