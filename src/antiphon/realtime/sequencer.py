"""The one owner of ``response.create``: serialises, coalesces and retries response requests.

Every response request of a session goes through :class:`ResponseSequencer`: automatic ones
(after user input, after tool outputs, after a handoff) and manual ones (``create_response``).
The sequencer is a pure state machine (no I/O, no ``await``, no task): it is fed requests
(:meth:`request`), server events (:meth:`on_server_event`, from the session's reader) and the
outcome of its sends, and its owner drains it: :meth:`next_send` hands over the next
``response.create`` to put on the wire, if one may go now, and :meth:`send_failed` reports a send
that did not happen. The session's :class:`~antiphon.realtime._responses.Responses` does the
sending; tests drive the machine directly, one call at a time.

Rules (the server accepts one active response per conversation and rejects a ``response.create``
that arrives while one is active):

- at most one ``response.create`` in flight, and none while a response is active (ours or one
  the server started, e.g. server VAD): the next create waits for ``response.done``;
- consecutive automatic requests are coalesced into one create; manual requests are never merged
  (nor merged with automatic ones);
- a create the server rejects with ``conversation_already_has_active_response`` (the server-VAD
  race) is put back at the head of the queue, coalesced automatic requests included, and retried
  after the active response is done, up to ``max_attempts`` sends; any other rejection, or the
  last attempt, fails the request's handle with :class:`~antiphon.ResponseRequestRejected`;
- each create carries ``event_id="antiphon_rc_N"`` so a server ``error`` can be correlated.

A request's :class:`ResponseHandle` resolves with the ``response.done`` payload of the response
its create started. It resolves at ``response.done`` rather than ``response.created`` because
only then is the attribution certain: when a server-VAD response starts while our create is in
flight, the ``response.created`` is not ours, and the server's rejection of our create arrives
before that response's ``response.done`` (the server emits events in order). The provisional id
is readable earlier as :attr:`ResponseHandle.response_id`.

Not handled: out-of-band responses (``conversation: "none"``) that the API allows in parallel
are serialised like the others, and a second ``response.created`` while one is active is ignored.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from openai.types.realtime import (
    RealtimeErrorEvent,
    RealtimeResponse,
    RealtimeResponseCreateParams,
    RealtimeServerEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
)

from antiphon.exceptions import ProtocolError, ResponseRequestRejected
from antiphon.realtime._response_handle import Outcome, RequestKind, ResponseHandle

__all__ = [
    "ACTIVE_RESPONSE_CODE",
    "RequestKind",
    "ResponseHandle",
    "ResponseSequencer",
    "SequencerState",
]

ACTIVE_RESPONSE_CODE = "conversation_already_has_active_response"


class SequencerState(enum.Enum):
    """Where the sequencer is; only ``IDLE`` lets a ``response.create`` go out."""

    IDLE = "idle"
    REQUESTED = "requested"  # our create is on the wire; no response.created yet
    ACTIVE = "active"  # a response (ours or the server's) is between created and done
    CANCELLING = "cancelling"  # response.cancel sent for the active response
    CLOSED = "closed"  # released: every request fails


@dataclass(slots=True)
class _Batch:
    """Requests served by one ``response.create``: one manual, or a run of automatic ones."""

    kind: RequestKind
    params: RealtimeResponseCreateParams | None
    handles: list[Outcome] = field(default_factory=list[Outcome])
    attempts: int = 0


@dataclass(slots=True)
class _InFlight:
    batch: _Batch
    event_id: str
    attributed: bool = False  # whether the active response is (provisionally) ours


class ResponseSequencer:
    """Serialises ``response.create`` for one connection (see the module docstring)."""

    def __init__(
        self,
        *,
        max_attempts: int = 3,
        max_pending: int = 64,
        event_id_prefix: str = "antiphon_rc_",
        on_auto_rejected: Callable[[ResponseRequestRejected], None] | None = None,
    ) -> None:
        self._max_attempts = max_attempts
        self._max_pending = max_pending
        self._prefix = event_id_prefix
        self._on_auto_rejected = on_auto_rejected
        self._ids = itertools.count(1)
        self._state = SequencerState.IDLE
        self._queue: deque[_Batch] = deque()
        self._inflight: _InFlight | None = None
        self._active_id: str | None = None
        self._closed_error: BaseException | None = None

    @property
    def state(self) -> SequencerState:
        """The current state."""
        return self._state

    @property
    def active_response_id(self) -> str | None:
        """The id of the active response (ours or the server's), if any."""
        return self._active_id

    @property
    def pending(self) -> int:
        """How many requests wait for a ``response.create`` (the one in flight excluded)."""
        return sum(len(batch.handles) for batch in self._queue)

    def request(
        self,
        params: RealtimeResponseCreateParams | None = None,
        *,
        kind: RequestKind = RequestKind.AUTO,
    ) -> ResponseHandle:
        """Queue a response request and return its handle at once (the caller never blocks).

        ``params`` is only allowed for manual requests: automatic ones coalesce, so they carry
        none. With ``params=None`` the create is sent with ``response`` unset.
        """
        if params is not None and kind is RequestKind.AUTO:
            raise ProtocolError("automatic response requests carry no parameters")
        handle = Outcome(kind)
        if self._closed_error is not None:
            handle.fail(self._closed_error)
            return ResponseHandle(handle)
        tail = self._queue[-1] if self._queue else None
        if kind is RequestKind.AUTO and tail is not None and tail.kind is RequestKind.AUTO:
            tail.handles.append(handle)
        else:
            if len(self._queue) >= self._max_pending:
                raise ResponseRequestRejected(
                    f"more than {self._max_pending} response requests are pending",
                    code="antiphon_queue_full",
                )
            self._queue.append(_Batch(kind, params, [handle]))
        return ResponseHandle(handle)

    def on_server_event(self, event: RealtimeServerEvent) -> None:
        """Feed one server event; only ``response.created``/``done`` and ``error`` matter."""
        if self._state is SequencerState.CLOSED:
            return
        if isinstance(event, ResponseCreatedEvent):
            self._on_created(event.response.id)
        elif isinstance(event, ResponseDoneEvent):
            self._on_done(event.response)
        elif isinstance(event, RealtimeErrorEvent):
            self._on_error(event)

    def begin_cancel(self, response_id: str | None = None) -> bool:
        """Take the cancel gate: True means the caller should now send ``response.cancel``.

        Granted once per active response (``response_id`` None means the active one), so two
        interrupts never send two cancels; pending creates keep waiting for ``response.done``.
        """
        if self._state is not SequencerState.ACTIVE:
            return False
        if response_id is not None and response_id != self._active_id:
            return False
        self._move({SequencerState.ACTIVE}, SequencerState.CANCELLING)
        return True

    def abort_cancel(self) -> None:
        """Give the cancel gate back after a ``response.cancel`` could not be sent."""
        self._move({SequencerState.CANCELLING}, SequencerState.ACTIVE)

    def release_all(self, error: BaseException) -> None:
        """Fail every queued and in-flight request with ``error``; nothing is sent any more.

        Called on disconnect or close; idempotent (the first error wins). Later requests fail
        at once with the same error.
        """
        if self._closed_error is not None:
            return
        self._closed_error = error
        self._state = SequencerState.CLOSED
        batches = list(self._queue)
        if self._inflight is not None:
            batches.append(self._inflight.batch)
        self._queue.clear()
        self._inflight = None
        for batch in batches:
            for handle in batch.handles:
                handle.fail(error)

    @property
    def ready(self) -> bool:
        """Whether :meth:`next_send` would hand over a ``response.create`` now."""
        return self._state is SequencerState.IDLE and bool(self._queue)

    def next_send(self) -> ResponseCreateEvent | None:
        """The next ``response.create`` to send, or ``None`` when none may go now.

        Handing it over puts it in flight (state ``REQUESTED``): the caller must send it, or
        report with :meth:`send_failed` that it could not.
        """
        if not self.ready:
            return None
        batch = self._queue.popleft()
        batch.attempts += 1
        event_id = f"{self._prefix}{next(self._ids)}"
        for handle in batch.handles:
            handle.event_id = event_id
        self._inflight = _InFlight(batch, event_id)
        self._move({SequencerState.IDLE}, SequencerState.REQUESTED)
        event = ResponseCreateEvent(type="response.create", event_id=event_id)
        if batch.params is not None:
            # Set only when given, so `exclude_unset` keeps an absent `response` absent.
            event.response = batch.params
        return event

    def send_failed(self, error: BaseException) -> None:
        """The create :meth:`next_send` handed over could not be sent: release everything.

        A send fails only when the transport is dead, so nothing could be sent later either;
        every request (the one in flight included) fails with ``error``.
        """
        self.release_all(error)

    def _on_created(self, response_id: str | None) -> None:
        if self._state is SequencerState.REQUESTED and self._inflight is not None:
            self._inflight.attributed = True
            for handle in self._inflight.batch.handles:
                handle.response_id = response_id
            self._move({SequencerState.REQUESTED}, SequencerState.ACTIVE)
        elif self._state is SequencerState.IDLE:
            self._move({SequencerState.IDLE}, SequencerState.ACTIVE)
        else:
            return  # a parallel (out-of-band) response: not tracked, see the module docstring
        self._active_id = response_id

    def _on_done(self, response: RealtimeResponse) -> None:
        if self._state not in (SequencerState.ACTIVE, SequencerState.CANCELLING):
            return
        if response.id != self._active_id:
            return
        inflight = self._inflight
        if inflight is not None and inflight.attributed:
            self._inflight = None
            for handle in inflight.batch.handles:
                handle.resolve(response)
        self._active_id = None
        self._move({SequencerState.ACTIVE, SequencerState.CANCELLING}, SequencerState.IDLE)

    def _on_error(self, event: RealtimeErrorEvent) -> None:
        inflight = self._inflight
        if inflight is None or not self._is_rejection_of(event, inflight):
            return
        self._inflight = None
        if self._state is SequencerState.REQUESTED:
            self._move({SequencerState.REQUESTED}, SequencerState.IDLE)
        # Otherwise the active response was the server's own (the server-VAD race): it stays
        # active and our batch waits for its response.done like any other request.
        error = event.error
        batch = inflight.batch
        if error.code == ACTIVE_RESPONSE_CODE and batch.attempts < self._max_attempts:
            self._requeue_front(batch)
            return
        rejection = ResponseRequestRejected(
            error.message, code=error.code, event_id=inflight.event_id
        )
        for handle in batch.handles:
            handle.fail(rejection)
        if batch.kind is RequestKind.AUTO and self._on_auto_rejected is not None:
            self._on_auto_rejected(rejection)

    def _is_rejection_of(self, event: RealtimeErrorEvent, inflight: _InFlight) -> bool:
        if event.error.event_id is not None:
            return event.error.event_id == inflight.event_id
        # Servers that do not echo event ids: only the active-response rejection is unambiguous.
        return event.error.code == ACTIVE_RESPONSE_CODE

    def _requeue_front(self, batch: _Batch) -> None:
        head = self._queue[0] if self._queue else None
        if batch.kind is RequestKind.AUTO and head is not None and head.kind is RequestKind.AUTO:
            # Restore the coalesced requests ahead of those that arrived meanwhile (JS does too).
            head.handles[:0] = batch.handles
            head.attempts = max(head.attempts, batch.attempts)
        else:
            self._queue.appendleft(batch)

    def _move(self, expected: set[SequencerState], new: SequencerState) -> None:
        if self._state not in expected:
            names = " or ".join(sorted(state.value for state in expected))
            raise ProtocolError(
                f"response sequencer cannot go to {new.value}: "
                f"expected {names}, found {self._state.value}"
            )
        self._state = new
