"""The speech I/O of one ``/v1/realtime`` connection: running the jobs the core hands out.

Transcriptions run beside the session, one at a time in the order utterances were committed
(so transcripts, and the responses they start, keep the user's order). Sentences are spoken by
the task running the response, in their place among its events; their audio goes out in pieces
of :data:`CHUNK_MS`, so a client can start playing before a long sentence is all sent. A speech
engine that fails or takes longer than its timeout is reported (a failed transcription, or an
``error`` event for a sentence whose transcript still goes out) and the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Final

from openai.types.realtime import RealtimeServerEvent

from antiphon.exceptions import SpeechError
from antiphon.realtime_server.conversation import RealtimeConversation, Step
from antiphon.realtime_server.voice import SpeakJob, TranscribeJob
from antiphon.speech.audio import pcm16_duration_ms
from antiphon.speech.base import (
    SpeechPipeline,
    SpeechRequest,
    Transcript,
    TranscriptionRequest,
)

__all__ = ["CHUNK_MS", "Voice"]

_log = logging.getLogger(__name__)

RATE: Final = 24000
#: Audio per ``response.output_audio.delta``.
CHUNK_MS: Final = 100
_CHUNK_BYTES: Final = RATE * 2 * CHUNK_MS // 1000
#: The longest a transcription or one sentence's synthesis may take.
SPEECH_TIMEOUT: Final = 30.0


class Voice:
    """Runs one connection's speech jobs against the server's speech engines."""

    def __init__(
        self,
        speech: SpeechPipeline,
        conversation: RealtimeConversation,
        send: Callable[[list[RealtimeServerEvent]], Awaitable[None]],
    ) -> None:
        self._speech = speech
        self._conversation = conversation
        self._send = send
        self._order = asyncio.Lock()  # transcriptions finish in commit order
        # At most one transcription started ahead of its commit: the item, its audio, the task.
        self._early: tuple[str, bytes, asyncio.Task[Transcript | str]] | None = None

    def start_early(self, job: TranscribeJob, group: asyncio.TaskGroup) -> None:
        """Start transcribing an utterance the VAD expects to commit as it is.

        Committing waits for the silence to last; the transcription overlaps that wait. A newer
        pause replaces it (the speech went on).
        """
        self._drop_early()
        self._early = (job.item_id, job.audio, group.create_task(self._recognise(job)))

    async def transcribe(
        self, job: TranscribeJob, apply: Callable[[Step], Awaitable[None]]
    ) -> None:
        """Transcribe one utterance and apply what its transcript leads to."""
        async with self._order:
            early = self._early
            if early is not None and early[0] == job.item_id and early[1] == job.audio:
                self._early = None
                result = await early[2]  # the same audio: the same transcript, sooner
            else:
                result = await self._recognise(job)
            if isinstance(result, str):
                _log.info("realtime transcription failed: %s", result)
                await apply(Step(self._conversation.transcription_failed(job, result)))
                return
            await apply(self._conversation.transcribed(job, result.text))

    async def _recognise(self, job: TranscribeJob) -> Transcript | str:
        """The transcript, or why there is none (never raises: it may run as its own task)."""
        request = TranscriptionRequest(job.audio, RATE, job.language, job.prompt)
        try:
            async with asyncio.timeout(SPEECH_TIMEOUT):
                return await self._speech.transcriber.transcribe(request)
        except (SpeechError, TimeoutError) as exc:
            return _message(exc, "transcription")

    def _drop_early(self) -> None:
        if self._early is not None:
            self._early[2].cancel()
            self._early = None

    async def speak(self, job: SpeakJob) -> None:
        """Speak one sentence: its audio deltas, then note how long it played."""
        conversation = self._conversation
        request = SpeechRequest(job.text, job.voice, RATE, job.speed)
        pending = bytearray()
        sent = 0
        try:
            async with asyncio.timeout(SPEECH_TIMEOUT):
                synthesis = self._speech.synthesizer.synthesize(request)
                async with aclosing(synthesis) as chunks:
                    async for chunk in chunks:
                        pending += chunk
                        while len(pending) >= _CHUNK_BYTES:
                            sent += await self._deliver(job, bytes(pending[:_CHUNK_BYTES]))
                            del pending[:_CHUNK_BYTES]
            if pending:
                sent += await self._deliver(job, bytes(pending[: len(pending) - len(pending) % 2]))
        except (SpeechError, TimeoutError) as exc:
            message = _message(exc, "synthesis")
            _log.info("realtime speech synthesis failed: %s", message)
            await self._send([conversation.speech_failed(job, message)])
        if sent:
            conversation.spoken(job, int(pcm16_duration_ms(sent, RATE)))

    async def _deliver(self, job: SpeakJob, pcm: bytes) -> int:
        """Send one piece; how many bytes of audio went out (0 once the response is over)."""
        event = self._conversation.audio_delta(job, pcm)
        if event is None:
            return 0
        await self._send([event])
        return len(pcm)


def _message(exc: Exception, what: str) -> str:
    if isinstance(exc, TimeoutError):
        return f"the speech {what} took longer than {SPEECH_TIMEOUT:g} s"
    return str(exc)
