"""Where the listener is in the assistant's audio, so an interrupt truncates at the right point.

When the user interrupts, the server must forget the audio the user never heard
(``conversation.item.truncate`` with ``audio_end_ms``). Only the application knows what was
played; this module offers two sources and always clamps to the audio actually received (a
truncate past the received audio is a server error; openai-agents #2370, #4122):

- by default the session assumes every received byte has been played: PCM16 at 24 kHz mono is
  48 bytes per millisecond. This is exact for apps that play as they receive and never early;
- an application that buffers (telephony, WebRTC bridges) supplies a :class:`PlaybackTracker`
  reporting what it has really played.

:class:`AudioProgress` is the session's pure bookkeeping of received audio; no clock is read, so
tests are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["PCM16_24KHZ_BYTES_PER_MS", "AudioProgress", "PlaybackTracker", "TruncatePoint"]

PCM16_24KHZ_BYTES_PER_MS = 48.0
"""2 bytes per sample x 24 samples per millisecond."""


class PlaybackTracker(Protocol):
    """The application's report of what the listener has heard."""

    def played_ms(self, item_id: str, content_index: int) -> float | None:
        """Milliseconds of this audio part played so far, or ``None`` to use the estimate."""
        ...


@dataclass(frozen=True, slots=True)
class TruncatePoint:
    """Where to cut the assistant's audio: the item, its content part and the played length."""

    item_id: str
    content_index: int
    audio_end_ms: int


class AudioProgress:
    """Received-audio bookkeeping for the current assistant audio part."""

    __slots__ = ("_bytes", "_bytes_per_ms", "_content_index", "_item_id", "_tracker")

    def __init__(
        self,
        tracker: PlaybackTracker | None = None,
        *,
        bytes_per_ms: float = PCM16_24KHZ_BYTES_PER_MS,
    ) -> None:
        self._tracker = tracker
        self._bytes_per_ms = bytes_per_ms
        self._item_id: str | None = None
        self._content_index = 0
        self._bytes = 0

    @property
    def current_item_id(self) -> str | None:
        """The audio item being received or played, if any."""
        return self._item_id

    def on_audio(self, item_id: str, content_index: int, size: int) -> None:
        """Count ``size`` received bytes; a new item or part restarts the count."""
        if item_id != self._item_id or content_index != self._content_index:
            self._item_id = item_id
            self._content_index = content_index
            self._bytes = 0
        self._bytes += size

    def received_ms(self) -> float:
        """Milliseconds of audio received for the current part."""
        return self._bytes / self._bytes_per_ms

    def truncate_point(self) -> TruncatePoint | None:
        """Where to truncate now, or ``None`` when no audio was received since the last reset."""
        if self._item_id is None:
            return None
        received = self.received_ms()
        played = received
        if self._tracker is not None:
            reported = self._tracker.played_ms(self._item_id, self._content_index)
            if reported is not None:
                played = max(0.0, min(reported, received))
        return TruncatePoint(self._item_id, self._content_index, int(played))

    def reset(self) -> None:
        """Forget the current part (after a truncate, or when its response ended played)."""
        self._item_id = None
        self._content_index = 0
        self._bytes = 0
