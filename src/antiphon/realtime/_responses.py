"""The session's response component: the pure sequencer plus the one loop that sends for it.

:class:`~antiphon.realtime.sequencer.ResponseSequencer` decides *what* goes on the wire and
*when*; it never awaits. :class:`Responses` wraps it for the session: every call that may let a
``response.create`` go (a request, a server event, a cancel given back) wakes :meth:`run`, which
drains :meth:`~antiphon.realtime.sequencer.ResponseSequencer.next_send` and reports a failed
send back to the machine. Components see this narrow interface, never the machine itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from openai.types.realtime import (
    RealtimeResponseCreateParams,
    RealtimeServerEvent,
    ResponseCreateEvent,
)

from antiphon.exceptions import ResponseRequestRejected, TransportError
from antiphon.realtime._response_handle import RequestKind, ResponseHandle
from antiphon.realtime.sequencer import ResponseSequencer, SequencerState

__all__ = ["Responses"]

Send = Callable[[ResponseCreateEvent], Awaitable[None]]


class Responses:
    """Owns the session's sequencer and sends what it releases, one create at a time."""

    __slots__ = ("_machine", "_on_rejected", "_send", "_wake")

    def __init__(
        self,
        send: Send,
        *,
        on_auto_rejected: Callable[[ResponseRequestRejected], None] | None = None,
        max_attempts: int = 3,
    ) -> None:
        self._send = send
        self._on_rejected = on_auto_rejected
        self._machine = ResponseSequencer(
            max_attempts=max_attempts, on_auto_rejected=on_auto_rejected
        )
        self._wake = asyncio.Event()

    @property
    def active_response_id(self) -> str | None:
        """The id of the active response (ours or the server's), if any."""
        return self._machine.active_response_id

    def request(
        self,
        params: RealtimeResponseCreateParams | None = None,
        *,
        kind: RequestKind = RequestKind.AUTO,
    ) -> ResponseHandle:
        """Queue a request (see :meth:`ResponseSequencer.request`); never blocks."""
        handle = self._machine.request(params, kind=kind)
        self._wake.set()
        return handle

    def request_auto(self) -> None:
        """Ask for an automatic response; a refusal (a full queue) is reported, not raised.

        Nobody awaits an automatic request, so the refusal goes to ``on_auto_rejected`` like a
        rejection by the server.
        """
        try:
            self.request()
        except ResponseRequestRejected as exc:
            if self._on_rejected is None:
                raise
            self._on_rejected(exc)

    def on_server_event(self, event: RealtimeServerEvent) -> None:
        """Feed one server event to the machine; a ``response.done`` may release a create."""
        self._machine.on_server_event(event)
        self._wake.set()

    def begin_cancel(self, response_id: str) -> bool:
        """Take the cancel gate for ``response_id`` (see :meth:`ResponseSequencer.begin_cancel`)."""
        return self._machine.begin_cancel(response_id)

    def abort_cancel(self) -> None:
        """Give the cancel gate back after a ``response.cancel`` could not be sent."""
        self._machine.abort_cancel()
        self._wake.set()

    def release_all(self, error: BaseException) -> None:
        """Fail every request with ``error`` and let :meth:`run` return."""
        self._machine.release_all(error)
        self._wake.set()

    async def run(self) -> None:
        """Send each create the machine releases until it is closed; an owned task runs it."""
        machine = self._machine
        while machine.state is not SequencerState.CLOSED:
            event = machine.next_send()
            if event is None:
                # Every input that can release a create sets the event, and nothing awaits
                # between the check above and this clear.
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self._send(event)
            except TransportError as exc:
                machine.send_failed(exc)
                return
            except Exception as exc:
                machine.send_failed(
                    TransportError(repr(exc), context="response.create send failed")
                )
                raise
