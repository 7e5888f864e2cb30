"""The transport seam of the realtime SDK: one small ``Protocol`` and the events it yields.

A :class:`RealtimeModel` connects to a server that speaks the Realtime GA protocol, sends one typed
client event at a time and yields :data:`ModelEvent` values until the connection ends. It knows
nothing of agents, tools or response sequencing; the session does. Each session owns its own
model instance (the runner takes a factory), so two sessions never share a socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol, TypedDict

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

from antiphon.exceptions import TransportError

__all__ = [
    "ModelEvent",
    "RealtimeModel",
    "RealtimeModelConfig",
    "ServerEventReceived",
    "TransportEnded",
    "TransportFailed",
]


class RealtimeModelConfig(TypedDict, total=False):
    """Where and how to connect. Only ``url`` is required by the WebSocket model.

    ``headers``, when given, are sent verbatim (no ``Authorization`` is added); otherwise
    ``api_key`` becomes ``Authorization: Bearer <api_key>``.
    """

    url: str
    api_key: str
    headers: Mapping[str, str]
    open_timeout: float
    close_timeout: float
    max_message_bytes: int


@dataclass(frozen=True, slots=True)
class ServerEventReceived:
    """A server event that validated against the official GA union."""

    event: RealtimeServerEvent


@dataclass(frozen=True, slots=True)
class TransportFailed:
    """The transport failed; it yields nothing after this. ``error.context`` says where."""

    error: TransportError


@dataclass(frozen=True, slots=True)
class TransportEnded:
    """The connection closed cleanly (or was closed by us); nothing follows."""

    code: int | None
    reason: str


ModelEvent = ServerEventReceived | TransportFailed | TransportEnded


class RealtimeModel(Protocol):
    """A realtime transport. Implementations: the WebSocket model, and test doubles."""

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
        """Close the connection; idempotent, time-bounded, and it wakes ``events()``."""
        ...
