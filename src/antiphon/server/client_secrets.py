"""Ephemeral client secrets (``ek_...``) of ``/v1/realtime``: issued over HTTP, redeemed once.

``POST /v1/realtime/client_secrets`` issues a secret (see
:mod:`antiphon.server.client_secret_route`); a browser then opens ``/v1/realtime`` with it
instead of the server's API key. A secret is good for **one** WebSocket session, until its
``expires_at``, and for nothing else: :class:`~antiphon.server.auth.BearerAuth` lets it through
only on ``/v1/realtime``, and the endpoint redeems it when it accepts the connection.

:class:`ClientSecretStore` is pure and in memory: no I/O, and the clock is injected, so expiry
is tested without waiting. It is per process: a server run with several workers has one store
per worker, and a secret works only on the worker that issued it. It holds at most
``max_secrets`` secrets; expired ones are purged when it is full, and past that :meth:`issue`
refuses with 429 rather than grow.

Only a SHA-256 digest of each secret is kept, and secrets are found by a dictionary lookup on
that digest: nothing is compared character by character, so response times say nothing about
how close a guess was, and a memory dump holds no usable secret.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from openai.types.realtime import RealtimeSessionCreateRequest

from antiphon.exceptions import InvalidRequestError

__all__ = [
    "DEFAULT_MAX_SECRETS",
    "SECRET_PREFIX",
    "ClientSecret",
    "ClientSecretStore",
    "new_secret_value",
]

#: What every ephemeral secret starts with, as OpenAI's do; it tells them from the API key.
SECRET_PREFIX: Final = "ek_"
#: Secrets held at once per process (each a few hundred bytes, more with a large session).
DEFAULT_MAX_SECRETS: Final = 10_000
#: Random bytes per secret (256 bits), base64url-encoded after the prefix.
_ENTROPY_BYTES: Final = 32


def new_secret_value() -> str:
    """A fresh secret: ``ek_`` and 32 random bytes from :mod:`secrets`, base64url-encoded."""
    return SECRET_PREFIX + secrets.token_urlsafe(_ENTROPY_BYTES)


@dataclass(frozen=True, slots=True)
class ClientSecret:
    """One issued secret: its value (shown once, to its creator), expiry and session."""

    value: str
    #: Seconds since the epoch; the secret is refused from this instant on.
    expires_at: int
    #: The session a connection opened with this secret starts from (``None``: the default).
    session: RealtimeSessionCreateRequest | None


@dataclass(frozen=True, slots=True)
class _Entry:
    expires_at: int
    session: RealtimeSessionCreateRequest | None


class ClientSecretStore:
    """The live ephemeral secrets of one process, bounded and single-use.

    ``clock`` gives seconds since the epoch (:func:`time.time` by default); ``new_value`` makes
    secret values (tests may inject predictable ones).
    """

    def __init__(
        self,
        *,
        max_secrets: int = DEFAULT_MAX_SECRETS,
        clock: Callable[[], float] = time.time,
        new_value: Callable[[], str] = new_secret_value,
    ) -> None:
        self._max = max_secrets
        self._clock = clock
        self._new_value = new_value
        self._entries: dict[bytes, _Entry] = {}

    def __len__(self) -> int:
        """How many secrets are held (expired ones not purged yet included)."""
        return len(self._entries)

    def issue(
        self, seconds: int, session: RealtimeSessionCreateRequest | None = None
    ) -> ClientSecret:
        """A new secret valid for ``seconds`` from now; 429 when the store is full."""
        now = int(self._clock())
        if len(self._entries) >= self._max:
            self._purge(now)
        if len(self._entries) >= self._max:
            raise InvalidRequestError(
                f"Too many live client secrets ({self._max}); let some expire or use them.",
                code="rate_limit_exceeded",
                status=429,
            )
        value = self._new_value()
        entry = _Entry(now + seconds, session)
        self._entries[_digest(value)] = entry
        return ClientSecret(value, entry.expires_at, session)

    def is_valid(self, value: str) -> bool:
        """Whether ``value`` is a live secret (it is not used up by asking)."""
        entry = self._entries.get(_digest(value))
        return entry is not None and self._clock() < entry.expires_at

    def redeem(self, value: str) -> ClientSecret | None:
        """Use ``value`` up: its secret when it was live, ``None`` when unknown, used or expired."""
        entry = self._entries.pop(_digest(value), None)
        if entry is None or self._clock() >= entry.expires_at:
            return None
        return ClientSecret(value, entry.expires_at, entry.session)

    def _purge(self, now: float) -> None:
        expired = [key for key, entry in self._entries.items() if now >= entry.expires_at]
        for key in expired:
            del self._entries[key]


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
