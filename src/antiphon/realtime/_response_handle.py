"""The caller's side of a response request: :class:`ResponseHandle` and what settles it.

Split from :mod:`antiphon.realtime.sequencer`, which re-exports these names; only the
sequencer settles an :class:`Outcome`, callers read it through their handle.
"""

from __future__ import annotations

import asyncio
import enum

from openai.types.realtime import RealtimeResponse

__all__ = ["Outcome", "RequestKind", "ResponseHandle"]


class RequestKind(enum.Enum):
    """Automatic requests coalesce; manual requests are sent one create each."""

    AUTO = "auto"
    MANUAL = "manual"


class Outcome:
    """The settable side of a request, kept by the sequencer; its handle only reads it."""

    def __init__(self, kind: RequestKind) -> None:
        self.kind = kind
        self.response_id: str | None = None
        self.event_id: str | None = None
        self.settled = asyncio.Event()
        self.response: RealtimeResponse | None = None
        self.error: BaseException | None = None

    def resolve(self, response: RealtimeResponse) -> None:
        if not self.settled.is_set():
            self.response_id = response.id or self.response_id
            self.response = response
            self.settled.set()

    def fail(self, error: BaseException) -> None:
        if not self.settled.is_set():
            self.error = error
            self.settled.set()


class ResponseHandle:
    """The caller's view of one response request; await :meth:`wait` for its outcome."""

    def __init__(self, outcome: Outcome) -> None:
        self._outcome = outcome

    @property
    def kind(self) -> RequestKind:
        """Whether the request was automatic or manual."""
        return self._outcome.kind

    @property
    def response_id(self) -> str | None:
        """Provisional id from ``response.created``; final once :meth:`wait` returns."""
        return self._outcome.response_id

    @property
    def event_id(self) -> str | None:
        """The ``event_id`` of the latest ``response.create`` sent for this request."""
        return self._outcome.event_id

    def done(self) -> bool:
        """Whether the request has settled (resolved or failed)."""
        return self._outcome.settled.is_set()

    async def wait(self) -> RealtimeResponse:
        """Wait for the ``response.done`` payload of the response this request started.

        Raises :class:`~antiphon.ResponseRequestRejected` when the server rejected the request
        for good, or the error given to :meth:`ResponseSequencer.release_all` (the session's
        close, or a dead transport).
        """
        await self._outcome.settled.wait()
        if self._outcome.error is not None:
            raise self._outcome.error
        assert self._outcome.response is not None  # settled without error means resolved
        return self._outcome.response
