"""Speech in and out of one realtime session (sans-I/O).

The ``input_audio_buffer.*`` events, user audio items and their transcription, and the audio
deltas of spoken answers.

An utterance (committed by server VAD or by the client) becomes a user item with an
``input_audio`` part at once (``input_audio_buffer.committed``, ``conversation.item.added``),
and a :class:`~antiphon.realtime_server.voice.TranscribeJob` for the adapter. Its transcript
completes the item (``...input_audio_transcription.delta``/``.completed``,
``conversation.item.done``); only then can a response read it, so the response server VAD
asks for (``create_response``) starts there. A failed transcription is a
``...transcription.failed`` event and no response; the session goes on.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field

from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    RealtimeConversationItemUserMessage,
    RealtimeServerEvent,
    ResponseAudioDeltaEvent,
)
from openai.types.realtime.conversation_item_input_audio_transcription_completed_event import (
    UsageTranscriptTextUsageDuration,
)
from openai.types.realtime.conversation_item_input_audio_transcription_failed_event import (
    Error as TranscriptionError,
)
from openai.types.realtime.realtime_conversation_item_user_message import Content

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server.audio_in import (
    InputAudio,
    Pause,
    SpeechStarted,
    SpeechStopped,
    Utterance,
)
from antiphon.realtime_server.items import AudioSpan, ConversationItems
from antiphon.realtime_server.voice import SpeakJob, TranscribeJob
from antiphon.realtime_server.voice_settings import VoiceSettings
from antiphon.speech import audio as codecs
from antiphon.speech.base import SpeechPipeline

__all__ = ["Heard", "Listening"]


@dataclass(slots=True)
class Heard:
    """What one input audio event led to.

    Events to send, transcriptions to run, and whether the active response must stop (the user
    spoke over it) or a new one start.
    """

    events: list[RealtimeServerEvent] = field(default_factory=list[RealtimeServerEvent])
    transcribe: list[TranscribeJob] = field(default_factory=list[TranscribeJob])
    #: Utterances that will likely be committed as they are: transcribe them ahead of time.
    early: list[TranscribeJob] = field(default_factory=list[TranscribeJob])
    interrupt: bool = False
    respond: bool = False


class Listening:
    """The audio side of one session (see the module docstring)."""

    def __init__(
        self, speech: SpeechPipeline, items: ConversationItems, ids: Callable[[str], str]
    ) -> None:
        detector = speech.detector()
        to_detector = _identity
        if detector.sample_rate != codecs.SERVER_RATE:
            # One resampler for the stream: chunk boundaries leave no seams for the detector.
            to_detector = codecs.Resampler(codecs.SERVER_RATE, detector.sample_rate).push
        self._input = InputAudio(detector, to_detector, ids)
        self._items = items
        self._ids = ids

    def append(self, audio: str, settings: VoiceSettings) -> Heard:
        """``input_audio_buffer.append``: decode, buffer and (with server VAD) detect."""
        try:
            raw = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequestError(
                "audio must be base64-encoded.", param="audio", code="invalid_value"
            ) from exc
        try:
            pcm = codecs.decode_input(raw, settings.input_format)
        except ValueError as exc:  # odd-length PCM, say
            raise InvalidRequestError(
                f"audio is not valid {settings.input_format}: {exc}.",
                param="audio",
                code="invalid_value",
            ) from exc
        heard = Heard()
        for signal in self._input.append(pcm, settings.turn_detection):
            if isinstance(signal, SpeechStarted):
                heard.events.append(
                    InputAudioBufferSpeechStartedEvent(
                        type="input_audio_buffer.speech_started",
                        event_id=self._ids("event"),
                        audio_start_ms=signal.audio_start_ms,
                        item_id=signal.item_id,
                    )
                )
                turns = settings.turn_detection
                heard.interrupt = turns is not None and turns.interrupt_response
            elif isinstance(signal, Pause):
                heard.early.append(
                    TranscribeJob(signal.item_id, signal.audio, settings.language, settings.prompt)
                )
            elif isinstance(signal, SpeechStopped):
                heard.events.append(
                    InputAudioBufferSpeechStoppedEvent(
                        type="input_audio_buffer.speech_stopped",
                        event_id=self._ids("event"),
                        audio_end_ms=signal.audio_end_ms,
                        item_id=signal.item_id,
                    )
                )
            else:
                self._committed(signal, settings, heard)
        return heard

    def commit(self, settings: VoiceSettings) -> Heard:
        """``input_audio_buffer.commit``: the buffer becomes a user item."""
        heard = Heard()
        self._committed(self._input.commit(), settings, heard)
        return heard

    def clear(self) -> list[RealtimeServerEvent]:
        """``input_audio_buffer.clear``."""
        self._input.clear()
        return [
            InputAudioBufferClearedEvent(
                type="input_audio_buffer.cleared", event_id=self._ids("event")
            )
        ]

    def _committed(self, utterance: Utterance, settings: VoiceSettings, heard: Heard) -> None:
        item = _user_audio(utterance.item_id, None)
        previous = self._items.insert(item)
        heard.events += [
            InputAudioBufferCommittedEvent(
                type="input_audio_buffer.committed",
                event_id=self._ids("event"),
                item_id=utterance.item_id,
                previous_item_id=previous,
            ),
            ConversationItemAdded(
                type="conversation.item.added",
                event_id=self._ids("event"),
                item=item,
                previous_item_id=previous,
            ),
        ]
        heard.transcribe.append(
            TranscribeJob(utterance.item_id, utterance.audio, settings.language, settings.prompt)
        )

    def transcribed(self, job: TranscribeJob, text: str, settings: VoiceSettings) -> Heard:
        """The transcript of a committed utterance: the item completes."""
        heard = Heard()
        if not self._items.has(job.item_id):
            return heard  # deleted meanwhile
        item = _user_audio(job.item_id, text)
        self._items.replace(item)
        seconds = codecs.pcm16_duration_ms(len(job.audio), codecs.SERVER_RATE) / 1000
        heard.events += [
            ConversationItemInputAudioTranscriptionDeltaEvent(
                type="conversation.item.input_audio_transcription.delta",
                event_id=self._ids("event"),
                item_id=job.item_id,
                content_index=0,
                delta=text,
            ),
            ConversationItemInputAudioTranscriptionCompletedEvent(
                type="conversation.item.input_audio_transcription.completed",
                event_id=self._ids("event"),
                item_id=job.item_id,
                content_index=0,
                transcript=text,
                usage=UsageTranscriptTextUsageDuration(type="duration", seconds=seconds),
            ),
            ConversationItemDone(
                type="conversation.item.done", event_id=self._ids("event"), item=item
            ),
        ]
        turns = settings.turn_detection
        heard.respond = turns is not None and turns.create_response and bool(text.strip())
        return heard

    def transcription_failed(self, job: TranscribeJob, message: str) -> list[RealtimeServerEvent]:
        """A transcriber failure: the item stays without transcript, nothing answers it."""
        return [
            ConversationItemInputAudioTranscriptionFailedEvent(
                type="conversation.item.input_audio_transcription.failed",
                event_id=self._ids("event"),
                item_id=job.item_id,
                content_index=0,
                error=TranscriptionError(
                    type="transcription_error", code="speech_engine_error", message=message
                ),
            )
        ]

    def audio_delta(
        self, job: SpeakJob, pcm: bytes, settings: VoiceSettings
    ) -> RealtimeServerEvent:
        """One piece of a spoken answer (PCM16 at 24 kHz), in the session's output format."""
        data = codecs.encode_output(pcm, settings.output_format)
        return ResponseAudioDeltaEvent(
            type="response.output_audio.delta",
            event_id=self._ids("event"),
            response_id=job.response_id,
            item_id=job.item_id,
            output_index=job.output_index,
            content_index=0,
            delta=base64.b64encode(data).decode("ascii"),
        )

    def spoken(self, job: SpeakJob, duration_ms: int) -> None:
        """A sentence was sent as audio of ``duration_ms``: truncation can cut to it."""
        self._items.record_audio(job.item_id, 0, AudioSpan(job.text, duration_ms))


def _identity(pcm: bytes) -> bytes:
    return pcm


def _user_audio(item_id: str, transcript: str | None) -> RealtimeConversationItemUserMessage:
    return RealtimeConversationItemUserMessage(
        id=item_id,
        object="realtime.item",
        type="message",
        role="user",
        status="completed",
        content=[Content(type="input_audio", transcript=transcript)],
    )
