"""The session's side of the transport: the one place a client event is sent.

:class:`Link` wraps the session's :class:`~antiphon.realtime.model.RealtimeModel`. It translates
nothing (the model already raises :class:`~antiphon.TransportError`) but makes a failed send end
the session through ``on_failure``, so a dead socket is never silently retried. Callers the
application awaits use :meth:`Link.send` (the error is raised to them too); background senders
use :meth:`Link.send_quietly`, which only tells whether the event went out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from openai.types.realtime import RealtimeClientEvent

from antiphon.exceptions import TransportError
from antiphon.realtime.model import ModelEvent, RealtimeModel, RealtimeModelConfig

__all__ = ["Link"]


class Link:
    """Sends client events for one session and reports a dead transport once."""

    __slots__ = ("_model", "_on_failure")

    def __init__(self, model: RealtimeModel, on_failure: Callable[[TransportError], None]) -> None:
        self._model = model
        self._on_failure = on_failure

    async def connect(self, config: RealtimeModelConfig) -> None:
        """Open the transport (raises what the model raises)."""
        await self._model.connect(config)

    def events(self) -> AsyncIterator[ModelEvent]:
        """The transport's events, ending with one terminal event."""
        return self._model.events()

    async def send(self, event: RealtimeClientEvent) -> None:
        """Send one client event; a failed send ends the session and is re-raised."""
        try:
            await self._model.send(event)
        except TransportError as exc:
            self._on_failure(exc)
            raise

    async def send_quietly(self, event: RealtimeClientEvent) -> bool:
        """Send from a background task: ``False`` when the send failed (the session is ending)."""
        try:
            await self.send(event)
        except TransportError:
            return False
        return True

    async def close(self) -> None:
        """Close the transport (bounded by the model; see ``RealtimeModel.close``)."""
        await self._model.close()
