"""The store seam: the ``ResponseStore`` protocol, its record types and its limits.

A store persists what the Responses server must find again: a response (its final or current
``Response`` JSON), the input items of its request, its output items, the exact text the model
generated on each upstream turn (replayed verbatim for ``previous_response_id`` so the upstream's
prefix cache stays valid), and the bounded log of its stream events (for ``starting_after``
replay). Payloads are kept as the compact JSON text the wire layer produced from the official
``openai.types`` models: the store never re-encodes them, so what is replayed is byte-identical to
what was sent, and it never interprets them beyond the ``status`` field of a cancelled response.

Every implementation (:mod:`~antiphon.store.memory`, :mod:`~antiphon.store.sqlite`) passes the same
contract tests. Limits are enforced with :class:`~antiphon.StoreLimitError` before anything is
written; an illegal status transition raises :class:`~antiphon.StoreStateError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from openai.types.responses import ResponseStatus

from antiphon.exceptions import ConfigurationError

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "ConversationSegment",
    "EventReplay",
    "ItemOrder",
    "ItemPage",
    "ItemQuery",
    "NewResponse",
    "ResponseOutcome",
    "ResponsePage",
    "ResponseQuery",
    "ResponseStore",
    "ResponseSummary",
    "StoreLimits",
    "StoredEvent",
    "StoredItem",
    "StoredResponse",
]

#: Statuses of a response that is still running (it may be finished or cancelled).
ACTIVE_STATUSES: Final[frozenset[ResponseStatus]] = frozenset({"queued", "in_progress"})
#: Statuses a response ends in; none of them can change again.
TERMINAL_STATUSES: Final[frozenset[ResponseStatus]] = frozenset(
    {"completed", "failed", "incomplete", "cancelled"}
)

ItemOrder = Literal["asc", "desc"]

_MIB: Final = 1024 * 1024
_DAY: Final = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """Sizes and retention of a store; every field must be positive.

    ``max_responses`` bounds only the in-memory store (it evicts the least recently used finished
    response); the SQLite store is bounded by retention and the per-response limits. The server
    purges expired responses (and reclaims the space they and deleted ones held) every
    ``purge_interval_seconds``.

    The PostgreSQL store alone reads the last two: ``max_connections`` sizes each worker's
    connection pool (plus one listening connection and one for signals), and a worker's runs
    are failed by the others ``worker_lease_seconds`` after its last lease renewal (a third of
    it apart) when it dies.
    """

    max_response_bytes: int = 32 * _MIB
    max_events_per_response: int = 50_000
    max_chain_depth: int = 100
    retention_seconds: float = 30 * _DAY
    max_responses: int = 10_000
    purge_interval_seconds: float = 3600.0
    max_connections: int = 10
    worker_lease_seconds: float = 10.0

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value: float = getattr(self, name)
            if value <= 0:
                raise ConfigurationError(f"store limit {name} must be positive, got {value}")


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One input or output item: its id and its compact JSON text."""

    id: str
    data: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stream event as sent: its ``sequence_number`` and its compact JSON text."""

    sequence_number: int
    data: str


@dataclass(frozen=True, slots=True)
class NewResponse:
    """What is written when a response is created (before its first event)."""

    id: str
    created_at: float
    model: str
    response_json: str
    input_items: tuple[StoredItem, ...] = ()
    previous_response_id: str | None = None
    background: bool = False
    status: ResponseStatus = "in_progress"

    def __post_init__(self) -> None:
        if self.status not in ACTIVE_STATUSES:
            raise ConfigurationError(
                f"a new response must be queued or in_progress, got {self.status}"
            )

    @property
    def size(self) -> int:
        """Bytes counted against ``max_response_bytes``: the JSON and input items, as UTF-8."""
        items = sum(len(item.id.encode()) + len(item.data.encode()) for item in self.input_items)
        return len(self.response_json.encode()) + items


@dataclass(frozen=True, slots=True)
class ResponseOutcome:
    """What is written when a response ends: its terminal status, final JSON and outputs."""

    status: ResponseStatus
    response_json: str
    output_items: tuple[StoredItem, ...] = ()
    raw_turns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in TERMINAL_STATUSES:
            raise ConfigurationError(f"an outcome needs a terminal status, got {self.status}")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A stored response as read back. ``raw_turns`` is empty until it ends."""

    id: str
    created_at: float
    expires_at: float
    status: ResponseStatus
    model: str
    response_json: str
    input_items: tuple[StoredItem, ...]
    output_items: tuple[StoredItem, ...]
    previous_response_id: str | None
    raw_turns: tuple[str, ...]
    background: bool

    @property
    def finished(self) -> bool:
        """Whether the response reached a terminal status."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class EventReplay:
    """Stored events after a sequence number, oldest first.

    ``dropped`` counts the events after ``starting_after`` that the bounded log no longer holds
    (it keeps the newest events, so the terminal one is never lost). A replay with ``dropped > 0``
    has a gap its consumer must report rather than stream over.
    """

    events: tuple[StoredEvent, ...]
    dropped: int
    next_sequence_number: int

    @property
    def gapless(self) -> bool:
        """Whether every event after ``starting_after`` is still stored."""
        return self.dropped == 0


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """A page request over a response's input items, as ``GET .../input_items`` takes it."""

    after: str | None = None
    limit: int = 20
    order: ItemOrder = "desc"

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ConfigurationError(f"an item page limit must be positive, got {self.limit}")


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of items and whether more follow in the same order."""

    items: tuple[StoredItem, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class ResponseQuery:
    """A page request over the stored responses, newest first by default.

    Responses are ordered by ``(created_at, id)``; ``after`` is the id of the last response of
    the previous page (a cursor), and the page starts just past it in the same order.
    """

    after: str | None = None
    limit: int = 20
    order: ItemOrder = "desc"

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ConfigurationError(f"a response page limit must be positive, got {self.limit}")


@dataclass(frozen=True, slots=True)
class ResponseSummary:
    """What a listing shows of one stored response (its JSON is read with ``get``)."""

    id: str
    created_at: float
    status: ResponseStatus
    model: str
    previous_response_id: str | None
    background: bool


@dataclass(frozen=True, slots=True)
class ResponsePage:
    """One page of stored responses and whether more follow in the same order."""

    responses: tuple[ResponseSummary, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class ConversationSegment:
    """One response of a ``previous_response_id`` chain: what went in, what came out."""

    response_id: str
    input_items: tuple[StoredItem, ...]
    output_items: tuple[StoredItem, ...]
    raw_turns: tuple[str, ...]


class ResponseStore(Protocol):
    """Persistence of responses and their conversations.

    Every method is safe to await from the event loop: implementations never block it. A write
    whose caller is cancelled once it was accepted still completes (or fails) as a whole: it is
    never silently dropped, and later writes are applied after it.
    """

    async def create(self, new: NewResponse) -> StoredResponse:
        """Store a response that has just been created; its id must be new."""
        ...

    async def append_events(self, response_id: str, events: tuple[StoredEvent, ...]) -> None:
        """Append a batch of events whose sequence numbers continue the log without a gap.

        Calls on one response are applied in the order they were made. A batch may start with
        events the log already holds (a retry of a call whose caller was cancelled): those are
        skipped, so retrying a write is always safe.
        """
        ...

    async def finish(
        self, response_id: str, outcome: ResponseOutcome, *, events: tuple[StoredEvent, ...] = ()
    ) -> StoredResponse:
        """Record how an active response ended, with its last ``events`` in the same write.

        ``events`` are appended as :meth:`append_events` would, atomically with the outcome: a
        stored end always has its terminal event in the log.
        """
        ...

    async def unfinished(self) -> tuple[str, ...]:
        """The ids of every live response still ``queued`` or ``in_progress``."""
        ...

    async def mark_cancelled(self, response_id: str) -> StoredResponse:
        """Cancel an active response (idempotent once cancelled)."""
        ...

    async def get(self, response_id: str) -> StoredResponse:
        """The stored response; :class:`~antiphon.ResponseNotFound` if absent or expired."""
        ...

    async def events(
        self, response_id: str, *, starting_after: int = -1, limit: int = 1000
    ) -> EventReplay:
        """Up to ``limit`` stored events with a sequence number above ``starting_after``."""
        ...

    async def input_items(self, response_id: str, query: ItemQuery) -> ItemPage:
        """A page of the response's input items."""
        ...

    async def chain(self, response_id: str) -> tuple[ConversationSegment, ...]:
        """The conversation ending with ``response_id``, oldest response first."""
        ...

    async def list_responses(self, query: ResponseQuery) -> ResponsePage:
        """A page of the live (unexpired) responses, ordered by ``(created_at, id)``.

        ``query.after`` must name a live response (else :class:`~antiphon.ResponseNotFound`);
        the page holds up to ``query.limit`` responses after it in ``query.order``. Listing
        does not count as a use of a response (the in-memory store's eviction order stays).
        """
        ...

    async def delete(self, response_id: str) -> bool:
        """Delete a response and its events; whether it existed."""
        ...

    async def purge_expired(self, now: float) -> int:
        """Delete every response whose retention ended at or before ``now``; how many."""
        ...

    async def close(self) -> None:
        """Release the store's resources; it must not be used afterwards."""
        ...
