"""Persistence of responses and conversations behind one small interface.

:class:`ResponseStore` is the seam; :class:`SqliteStore` (one WAL-mode file, the default) and
:class:`MemoryStore` (``--store memory``) implement it and pass the same contract tests;
:func:`open_store` turns a ``--store`` value into one. The store sits below the Responses service:
it keeps JSON text the wire layer produced and knows nothing of HTTP or engines.
"""

from __future__ import annotations

from antiphon.store.base import (
    ConversationSegment,
    EventReplay,
    ItemPage,
    ItemQuery,
    NewResponse,
    ResponseOutcome,
    ResponsePage,
    ResponseQuery,
    ResponseStore,
    ResponseSummary,
    StoredEvent,
    StoredItem,
    StoredResponse,
    StoreLimits,
)
from antiphon.store.factory import default_store_path, open_store
from antiphon.store.memory import MemoryStore
from antiphon.store.sqlite import SqliteStore

__all__ = [
    "ConversationSegment",
    "EventReplay",
    "ItemPage",
    "ItemQuery",
    "MemoryStore",
    "NewResponse",
    "ResponseOutcome",
    "ResponsePage",
    "ResponseQuery",
    "ResponseStore",
    "ResponseSummary",
    "SqliteStore",
    "StoreLimits",
    "StoredEvent",
    "StoredItem",
    "StoredResponse",
    "default_store_path",
    "open_store",
]
