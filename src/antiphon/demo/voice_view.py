"""A live terminal view of a spoken turn: the microphone, what was heard, what is being said.

It takes the events of a :class:`~antiphon.realtime.RealtimeSession` run with raw model events:
the server's voice events (``input_audio_buffer.*``, the input transcription, the answer's
transcript) and the SDK's :class:`~antiphon.realtime.AudioEvent` chunks, counted as seconds.
"""

from __future__ import annotations

from openai.types.realtime import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseDoneEvent,
)
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from antiphon.demo.view import LiveView
from antiphon.realtime import AudioEvent, RawModelEvent, RealtimeSessionEvent

__all__ = ["VoiceView"]

RATE = 24000  # PCM16 mono, the session's default output format


class VoiceView(LiveView):
    """Collects a spoken turn's events and renders them; use :meth:`live` around the loop."""

    def __init__(self, title: str) -> None:
        self._title = title
        self.sent_seconds = 0.0
        self.microphone: list[str] = []
        self.heard = ""
        self.heard_status = "listening"
        self.said: list[str] = []
        self.said_status = "waiting"
        self.audio_bytes = 0
        self._server_events = 0
        self._last = ""

    @property
    def audio_seconds(self) -> float:
        """Seconds of answer audio received so far."""
        return self.audio_bytes / (2 * RATE)

    def sent(self, seconds: float) -> None:
        """The microphone has streamed ``seconds`` of audio so far."""
        self.sent_seconds = seconds
        self.refresh()

    def add(self, event: RealtimeSessionEvent) -> None:
        """Take one session event into the view."""
        if isinstance(event, AudioEvent):
            self.audio_bytes += len(event.audio)
        elif isinstance(event, RawModelEvent):
            self._server_events += 1
            self._last = event.event.type
            self._server(event)
        self.refresh()

    def _server(self, raw: RawModelEvent) -> None:
        event = raw.event
        if isinstance(event, InputAudioBufferSpeechStartedEvent):
            self.microphone.append(f"speech started at {event.audio_start_ms} ms")
        elif isinstance(event, InputAudioBufferSpeechStoppedEvent):
            self.microphone.append(f"speech stopped at {event.audio_end_ms} ms")
        elif isinstance(event, InputAudioBufferCommittedEvent):
            self.microphone.append("committed")
            self.heard_status = "transcribing"
        elif isinstance(event, ConversationItemInputAudioTranscriptionCompletedEvent):
            self.heard, self.heard_status = event.transcript, "completed"
        elif isinstance(event, ConversationItemInputAudioTranscriptionFailedEvent):
            self.heard_status = f"failed: {event.error.message}"
        elif isinstance(event, ResponseAudioTranscriptDeltaEvent):
            self.said.append(event.delta)
            self.said_status = "speaking"
        elif isinstance(event, ResponseAudioTranscriptDoneEvent):
            self.said, self.said_status = [event.transcript], "spoken"
        elif isinstance(event, ResponseDoneEvent):
            self.said_status = event.response.status or "done"

    def render(self) -> Group:
        """The current picture."""
        mic = f"sent {self.sent_seconds:.1f} s of audio"
        panels = [
            Panel(
                Text(", ".join([mic, *self.microphone]), style="cyan"),
                title="microphone -> server VAD",
                title_align="left",
            ),
            Panel(
                Text(self.heard, style="bold"),
                title="user (heard by PocketSphinx)",
                subtitle=self.heard_status,
                title_align="left",
            ),
            Panel(
                Text("".join(self.said), style="green"),
                title="assistant (spoken by eSpeak NG)",
                subtitle=f"{self.said_status}, {self.audio_seconds:.2f} s of audio received",
                title_align="left",
            ),
        ]
        footer = Text(f"{self._server_events} server events, last: {self._last}", style="dim")
        return Group(Text(self._title, style="bold"), *panels, footer)
