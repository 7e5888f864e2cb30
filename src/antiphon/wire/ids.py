"""Identifiers of responses and output items, with the conventional OpenAI prefixes.

An :data:`IdFactory` maps a prefix (``"resp"``, ``"msg"``, ``"rs"``, ``"fc"``, ``"call"``,
``"mcp"``, ``"mcpl"``, ``"mcpr"``, ``"ci"``, ``"ws"``) to a fresh identifier. The default,
:func:`random_id`, draws 192 bits from :mod:`secrets`: ids are unguessable (a stored response is
fetched by id alone), URL-safe (they appear in paths such as ``/v1/responses/{id}``) and of one
fixed length. :class:`SequentialIds` is the deterministic factory tests inject.
"""

from __future__ import annotations

import secrets
from typing import Final, Protocol

__all__ = ["IdFactory", "SequentialIds", "random_id"]


class IdFactory(Protocol):
    """Makes a fresh identifier from a prefix written without its underscore (``"msg"``)."""

    def __call__(self, prefix: str, /) -> str:
        """A new identifier starting with ``prefix`` and an underscore."""
        ...


_RANDOM_BYTES: Final = 24  # 48 hex characters, the length OpenAI's own ids have


def random_id(prefix: str) -> str:
    """A random identifier such as ``msg_`` followed by 48 lowercase hex characters."""
    return f"{prefix}_{secrets.token_hex(_RANDOM_BYTES)}"


class SequentialIds:
    """A deterministic :data:`IdFactory`: ``msg_0001``, ``fc_0002``, ... (one counter for all)."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count = 0

    def __call__(self, prefix: str) -> str:
        """The next identifier, numbered across prefixes so that every id is unique."""
        self._count += 1
        return f"{prefix}_{self._count:04d}"
