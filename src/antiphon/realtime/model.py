"""The transport seam of the realtime SDK: one small ``Protocol`` and the events it yields.

A :class:`RealtimeModel` connects to a server that speaks the Realtime GA protocol, sends one typed
client event at a time and yields :data:`ModelEvent` values until the connection ends. It knows
nothing of agents, tools or response sequencing; the session does. Each session owns its own
model instance (the runner takes a :data:`RealtimeModelFactory`), so two sessions never share a
socket.

Every iteration of :meth:`RealtimeModel.events` ends with exactly one terminal event,
:class:`TransportFailed` or :class:`TransportEnded`, and yields nothing after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypedDict

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

from antiphon.exceptions import TransportError

__all__ = [
    "ModelEvent",
    "RealtimeModel",
    "RealtimeModelConfig",
    "RealtimeModelFactory",
    "ServerEventReceived",
    "TransportEnded",
    "TransportFailed",
    "UnknownServerEvent",
]


class RealtimeModelConfig(TypedDict, total=False):
    """Where and how to connect. Only ``url`` is required by the WebSocket model.

    ``headers``, when given, are sent verbatim (no ``Authorization`` is added); otherwise
    ``api_key`` becomes ``Authorization: Bearer <api_key>``. ``open_timeout`` and
    ``close_timeout`` are seconds; ``max_message_bytes`` bounds one incoming frame;
    ``queue_size`` bounds the events buffered between the socket and ``events()``.
    """

    url: str
    api_key: str
    headers: Mapping[str, str]
    open_timeout: float
    close_timeout: float
    max_message_bytes: int
    queue_size: int


@dataclass(frozen=True, slots=True)
class ServerEventReceived:
    """A server event that validated against the official GA union."""

    event: RealtimeServerEvent


@dataclass(frozen=True, slots=True)
class UnknownServerEvent:
    """A well-formed server event whose ``type`` the installed ``openai`` package does not know.

    Forward compatibility: servers add event types before client libraries learn them, so such
    an event is passed through (never dropped, never fatal). ``payload`` is the decoded JSON
    object, unvalidated; consumers that do not recognise ``type`` should ignore it.
    """

    type: str
    payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class TransportFailed:
    """The transport failed; it yields nothing after this. ``error.context`` says where."""

    error: TransportError


@dataclass(frozen=True, slots=True)
class TransportEnded:
    """The connection closed cleanly (or was closed by us); nothing follows."""

    code: int | None
    reason: str


ModelEvent = ServerEventReceived | UnknownServerEvent | TransportFailed | TransportEnded


class RealtimeModel(Protocol):
    """A realtime transport. Implementations: the WebSocket model, and test doubles.

    ``events()`` is meant for one consumer at a time: events are delivered once, not broadcast.
    """

    async def connect(self, config: RealtimeModelConfig) -> None:
        """Open the connection; raise :class:`~antiphon.TransportError` when it cannot."""
        ...

    async def send(self, event: RealtimeClientEvent) -> None:
        """Send one client event; raise :class:`~antiphon.TransportError` when the send fails."""
        ...

    def events(self) -> AsyncIterator[ModelEvent]:
        """Yield events until (and including) one ``TransportFailed`` or ``TransportEnded``."""
        ...

    async def close(self) -> None:
        """Close the connection; idempotent, time-bounded, never raises, wakes ``events()``."""
        ...


RealtimeModelFactory = Callable[[], RealtimeModel]
"""Builds a fresh, unconnected model; the runner calls it once per session."""
