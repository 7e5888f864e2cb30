"""Speech engines over the OpenAI audio API, as OpenAI, vLLM (Whisper) and others serve it.

:class:`RemoteTranscriber` posts a WAV file to ``{base_url}/audio/transcriptions`` (multipart,
``response_format=json``) and reads ``{"text": ...}``. :class:`RemoteSynthesizer` posts JSON to
``{base_url}/audio/speech`` and streams the body: ``pcm`` is raw PCM16 mono at 24 kHz (as OpenAI
defines it), ``wav`` is parsed from its header (16-bit mono, any rate). Either way the audio is
resampled to the request's rate as it arrives.

Each engine owns an ``httpx.AsyncClient`` (or takes one, e.g. with a test transport); ``timeout``
applies to connecting and to each read. Timeouts, connection failures and HTTP errors are
:class:`~antiphon.exceptions.SpeechError`, with the status and the server's own message.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncGenerator
from typing import Literal, cast

import httpx

from antiphon.exceptions import SpeechError
from antiphon.speech.audio import Resampler, wav_bytes
from antiphon.speech.base import SpeechRequest, Transcript, TranscriptionRequest

__all__ = ["RemoteSynthesizer", "RemoteTranscriber"]

ENGINE = "remote"
#: The rate of ``response_format=pcm``.
PCM_RATE = 24000


def _error_message(body: bytes) -> str:
    """The server's message: OpenAI's ``{"error": {"message"}}``, else the body's start."""
    try:
        parsed: object = json.loads(body)
    except ValueError:
        return body[:300].decode("utf-8", "replace").strip()
    if isinstance(parsed, dict):
        error = cast(dict[str, object], parsed).get("error")
        if isinstance(error, dict):
            message = cast(dict[str, object], error).get("message")
            if isinstance(message, str):
                return message
        if isinstance(error, str):
            return error
    return body[:300].decode("utf-8", "replace").strip()


class _Remote:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None,
        timeout: float,
        client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._owned = client is None
        self._client = client or httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(timeout), headers=headers
        )
        if not self._owned and api_key:
            self._client.headers.update(headers)

    @property
    def name(self) -> str:
        """``"remote"``."""
        return ENGINE

    def _failure(self, exc: httpx.HTTPError) -> SpeechError:
        if isinstance(exc, httpx.TimeoutException):
            return SpeechError(f"timed out ({type(exc).__name__})", engine=ENGINE)
        return SpeechError(f"{type(exc).__name__}: {exc}", engine=ENGINE)

    @staticmethod
    def _status(response: httpx.Response, body: bytes) -> SpeechError:
        return SpeechError(f"HTTP {response.status_code}: {_error_message(body)}", engine=ENGINE)

    async def aclose(self) -> None:
        """Close the HTTP client, if this engine made it."""
        if self._owned:
            await self._client.aclose()


class RemoteTranscriber(_Remote):
    """Speech to text at ``{base_url}/audio/transcriptions`` (``model`` e.g. ``whisper-1``)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "whisper-1",
        api_key: str | None = None,
        timeout: float = 60.0,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, model, api_key=api_key, timeout=timeout, client=client, transport=transport
        )

    async def transcribe(self, request: TranscriptionRequest) -> Transcript:
        """The server's transcript of ``request.audio`` (sent as a WAV file at its own rate)."""
        fields = {"model": self.model, "response_format": "json"}
        if request.language:
            fields["language"] = request.language
        if request.prompt:
            fields["prompt"] = request.prompt
        try:
            wav = wav_bytes(request.audio, request.sample_rate)
        except ValueError as exc:
            raise SpeechError(str(exc), engine=ENGINE) from exc
        try:
            response = await self._client.post(
                f"{self.base_url}/audio/transcriptions",
                data=fields,
                files={"file": ("audio.wav", wav, "audio/wav")},
            )
        except httpx.HTTPError as exc:
            raise self._failure(exc) from exc
        if response.status_code >= 400:
            raise self._status(response, response.content)
        try:
            parsed: object = response.json()
        except ValueError as exc:
            raise SpeechError("the transcription is not JSON", engine=ENGINE) from exc
        text = cast(dict[str, object], parsed).get("text") if isinstance(parsed, dict) else None
        if not isinstance(text, str):
            raise SpeechError('the transcription has no "text"', engine=ENGINE)
        return Transcript(text=text.strip())


class _WavStream:
    """Finds the PCM16 mono samples in a streamed WAV file, chunk by chunk."""

    def __init__(self) -> None:
        self._head = b""
        self.rate: int | None = None
        self._in_data = False

    def feed(self, chunk: bytes) -> bytes:
        """The samples in ``chunk`` (b"" while the header is still arriving)."""
        if self._in_data:
            return chunk
        self._head += chunk
        if len(self._head) < 12:
            return b""
        if self._head[:4] != b"RIFF" or self._head[8:12] != b"WAVE":
            raise SpeechError("the speech is not a WAV file", engine=ENGINE)
        position = 12
        while len(self._head) >= position + 8:
            kind, size = (
                self._head[position : position + 4],
                struct.unpack_from("<I", self._head, position + 4)[0],
            )
            body = position + 8
            if kind == b"data":
                # The size of a streamed file's data chunk is unknown: read to the end.
                if self.rate is None:
                    raise SpeechError("the WAV file has no fmt chunk", engine=ENGINE)
                self._in_data = True
                rest, self._head = self._head[body:], b""
                return rest
            if len(self._head) < body + size:
                return b""
            if kind == b"fmt ":
                encoding, channels, rate = struct.unpack_from("<HHI", self._head, body)
                bits = struct.unpack_from("<H", self._head, body + 14)[0]
                if encoding not in (1, 0xFFFE) or channels != 1 or bits != 16:
                    raise SpeechError("the WAV audio is not 16-bit PCM mono", engine=ENGINE)
                self.rate = rate
            position = body + size + size % 2  # chunks are padded to even sizes
        return b""


class RemoteSynthesizer(_Remote):
    """Text to speech at ``{base_url}/audio/speech`` (``model`` e.g. ``gpt-4o-mini-tts``).

    ``response_format`` is ``"pcm"`` (24 kHz raw, OpenAI's) or ``"wav"`` (for servers whose
    PCM is at another rate: the header says which). Chunks are yielded as the body streams in.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "gpt-4o-mini-tts",
        api_key: str | None = None,
        response_format: Literal["pcm", "wav"] = "pcm",
        timeout: float = 60.0,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, model, api_key=api_key, timeout=timeout, client=client, transport=transport
        )
        self.response_format = response_format

    async def synthesize(self, request: SpeechRequest) -> AsyncGenerator[bytes, None]:
        """PCM16 at ``request.sample_rate`` as the server streams it."""
        payload = {
            "model": self.model,
            "input": request.text,
            "voice": request.voice,
            "response_format": self.response_format,
            "speed": request.speed,
        }
        wav = _WavStream() if self.response_format == "wav" else None
        resampler = None if wav else Resampler(PCM_RATE, request.sample_rate)
        try:
            async with self._client.stream(
                "POST", f"{self.base_url}/audio/speech", json=payload
            ) as response:
                if response.status_code >= 400:
                    raise self._status(response, await response.aread())
                async for chunk in response.aiter_bytes():
                    if wav is not None:
                        chunk = wav.feed(chunk)
                        if resampler is None and wav.rate is not None:
                            resampler = Resampler(wav.rate, request.sample_rate)
                    if resampler is not None and (pcm := resampler.push(chunk)):
                        yield pcm
        except httpx.HTTPError as exc:
            raise self._failure(exc) from exc
        if resampler is None:
            raise SpeechError("the WAV file ended before its audio", engine=ENGINE)
        if tail := resampler.flush():
            yield tail
