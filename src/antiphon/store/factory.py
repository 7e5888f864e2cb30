"""``--store URL`` to a :class:`~antiphon.store.ResponseStore`.

Accepted values:

- none: a SQLite file under the user's data directory (:func:`default_store_path`);
- ``memory``: the in-process store, nothing persisted;
- a filesystem path, or ``sqlite:PATH`` / ``sqlite:///ABSOLUTE/PATH`` (URL rules: the three
  slashes are an empty host followed by an absolute path);
- ``postgresql://...`` (or ``postgres://``): a :class:`~antiphon.store.postgres.PostgresStore`,
  shared by any number of workers (it needs the ``postgres`` extra: ``antiphon[postgres]``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import platformdirs

from antiphon.exceptions import ConfigurationError
from antiphon.store.base import ResponseStore, StoreLimits
from antiphon.store.memory import MemoryStore
from antiphon.store.sqlite import SqliteStore

__all__ = ["default_store_path", "is_postgres_url", "open_store"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def default_store_path() -> Path:
    """Where the store lives when no ``--store`` is given."""
    return platformdirs.user_data_path("antiphon") / "responses.sqlite3"


async def open_store(
    url: str | None = None,
    limits: StoreLimits | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> ResponseStore:
    """Open the store ``url`` names (see the module docstring for the accepted forms)."""
    if url is not None and url.strip() == "memory":
        return MemoryStore(limits, clock=clock)
    if url is not None and is_postgres_url(url):
        try:
            from antiphon.store.postgres import PostgresStore  # the optional extra
        except ImportError as exc:
            raise ConfigurationError(
                f"--store postgresql://... needs psycopg: pip install 'antiphon[postgres]' ({exc})"
            ) from exc
        return await PostgresStore.open(url.strip(), limits, clock=clock)
    path = default_store_path() if url is None else sqlite_path(url)
    return await SqliteStore.open(path, limits, clock=clock)


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return url.strip().lower().startswith(_POSTGRES_SCHEMES)


def sqlite_path(url: str) -> Path:
    """The file a SQLite store URL or path names; other schemes raise ConfigurationError."""
    text = url.strip()
    if not text:
        raise ConfigurationError("--store is empty: pass a path, sqlite:///PATH or memory")
    if text in (":memory:", "sqlite::memory:", "sqlite:///:memory:"):
        # SQLite's own in-memory name cannot hold a durable (WAL) store: say what to write.
        raise ConfigurationError(f"--store {url!r}: write `memory` for an in-process store")
    if is_postgres_url(text):
        raise ConfigurationError(f"--store {url!r} names PostgreSQL, not a SQLite file")
    if text.lower().startswith("sqlite:"):
        parts = urlsplit(text)
        if parts.netloc or not parts.path:
            raise ConfigurationError(
                f"--store {url!r}: write sqlite:///ABSOLUTE/PATH or sqlite:RELATIVE/PATH"
            )
        return Path(unquote(parts.path)).expanduser()
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ConfigurationError(
            f"--store {url!r}: unknown scheme {scheme!r}; use a path, sqlite:///PATH or memory"
        )
    return Path(text).expanduser()
