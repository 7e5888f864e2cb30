"""Interrupting the assistant: stop playback, cut the unheard audio, cancel the response.

Shared by ``session.interrupt()``, server-VAD barge-in and a tripped output guardrail. The
truncate point comes from :class:`~antiphon.realtime.playback.AudioProgress` (received audio, or
the application's playback tracker, always clamped to what was received). The cancel goes
through the sequencer's cancel gate, so two interrupts never send two ``response.cancel`` and no
``response.create`` slips in before the cancelled response is done.
"""

from __future__ import annotations

from openai.types.realtime import ConversationItemTruncateEvent, ResponseCancelEvent

from antiphon.realtime._core import SessionCore
from antiphon.realtime.events import AudioInterruptedEvent

__all__ = ["cancel_response", "interrupt"]


async def interrupt(core: SessionCore, *, cancel: bool, background: bool = False) -> None:
    """Truncate the audio being played and, if ``cancel``, cancel the active response.

    ``background`` callers (the reader, guardrail tasks) wait for room in the event queue; the
    application's own call never waits on it (it may be the task that drains the queue).
    Raises :class:`~antiphon.TransportError` when a send fails (the session then ends).
    """
    active = core.sequencer.active_response_id
    point = core.audio.truncate_point()
    # Nothing is playing when no response is active and everything received was heard.
    if point is not None and (
        active is not None or point.audio_end_ms < int(core.audio.received_ms())
    ):
        core.audio.reset()
        core.queue.push(
            AudioInterruptedEvent(point.item_id, point.content_index, point.audio_end_ms)
        )
        await core.send(
            ConversationItemTruncateEvent(
                type="conversation.item.truncate",
                item_id=point.item_id,
                content_index=point.content_index,
                audio_end_ms=point.audio_end_ms,
            )
        )
    if cancel:
        await cancel_response(core, active)


async def cancel_response(core: SessionCore, response_id: str | None) -> bool:
    """Cancel ``response_id`` (the active one if ``None``); ``False`` when it is not active."""
    if response_id is None or not core.sequencer.begin_cancel(response_id):
        return False
    # Late audio of the cancelled response is dropped from now on.
    core.muted_response_id = response_id
    await core.send(ResponseCancelEvent(type="response.cancel", response_id=response_id))
    return True
