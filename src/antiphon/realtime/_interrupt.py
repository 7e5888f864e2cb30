"""Interrupting the assistant: stop playback, cut the unheard audio, cancel the response.

:class:`Interrupter` serves ``session.interrupt()``, server-VAD barge-in and a tripped output
guardrail. It owns the audio bookkeeping: the received-audio
:class:`~antiphon.realtime.playback.AudioProgress` (the truncate point comes from it, or from the
application's playback tracker, always clamped to what was received) and the response it
cancelled, whose late audio is dropped instead of played. The cancel goes through the response
component's cancel gate, so two interrupts never send two ``response.cancel`` and no
``response.create`` slips in before the cancelled response is done.
"""

from __future__ import annotations

from openai.types.realtime import ConversationItemTruncateEvent, ResponseCancelEvent

from antiphon.realtime._link import Link
from antiphon.realtime._queue import EventQueue
from antiphon.realtime._responses import Responses
from antiphon.realtime.events import AudioInterruptedEvent
from antiphon.realtime.playback import AudioProgress

__all__ = ["Interrupter"]


class Interrupter:
    """Audio progress, the muted response, and the interrupt and cancel actions."""

    __slots__ = ("_audio", "_events", "_link", "_muted", "_responses")

    def __init__(
        self, audio: AudioProgress, responses: Responses, link: Link, events: EventQueue
    ) -> None:
        self._audio = audio
        self._responses = responses
        self._link = link
        self._events = events
        self._muted: str | None = None
        """A response the session cancelled: its late audio is dropped, not played."""

    def is_muted(self, response_id: str) -> bool:
        """Whether audio of ``response_id`` must be dropped (the session cancelled it)."""
        return response_id == self._muted

    def on_audio(self, item_id: str, content_index: int, size: int) -> None:
        """Count ``size`` bytes of assistant audio delivered to the application."""
        self._audio.on_audio(item_id, content_index, size)

    async def interrupt(self, *, cancel: bool) -> None:
        """Truncate the audio being played and, if ``cancel``, cancel the active response.

        The ``audio_interrupted`` event never waits for room in the event queue: the caller may
        be the application's own task, the very one that drains it. Raises
        :class:`~antiphon.TransportError` when a send fails (the session then ends).
        """
        active = self._responses.active_response_id
        audio = self._audio
        point = audio.truncate_point()
        # Nothing is playing when no response is active and everything received was heard.
        if point is not None and (
            active is not None or point.audio_end_ms < int(audio.received_ms())
        ):
            audio.reset()
            self._events.push(
                AudioInterruptedEvent(point.item_id, point.content_index, point.audio_end_ms)
            )
            await self._link.send(
                ConversationItemTruncateEvent(
                    type="conversation.item.truncate",
                    item_id=point.item_id,
                    content_index=point.content_index,
                    audio_end_ms=point.audio_end_ms,
                )
            )
        if cancel:
            await self.cancel_response(active)

    async def cancel_response(self, response_id: str | None) -> bool:
        """Cancel ``response_id``; ``False`` when it is not the active response."""
        if response_id is None or not self._responses.begin_cancel(response_id):
            return False
        # Late audio of the cancelled response is dropped from now on.
        self._muted = response_id
        await self._link.send(ResponseCancelEvent(type="response.cancel", response_id=response_id))
        return True
