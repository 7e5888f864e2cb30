"""What a worker needs to share its store with other workers: signals, takeover, drain.

With a PostgreSQL store every ``antiphon serve`` process is one worker among any number, on any
number of machines. :func:`open_shared` gives the service what that takes: the store wrapped so
each write announces itself (a ``NOTIFY`` after its commit), the signals
(``LISTEN``/``NOTIFY``), and the period at which this worker looks for the runs of dead workers
(a quarter of the lease, so a dead worker's runs end at most ~1.25 leases after its last
renewal). Any other store is one process's alone: nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from starlette.responses import JSONResponse, Response

from antiphon.exceptions import ResponseNotFound, StoreError
from antiphon.store.base import ResponseStore
from antiphon.store.factory import is_postgres_url
from antiphon.store.signals import ResponseSignals

__all__ = ["DRAIN_SECONDS", "Shared", "open_shared", "readiness"]

#: On shutdown, how long a worker sharing its store lets its runs finish before handing the rest
#: over (failed with the restart error, as a dead worker's would be).
DRAIN_SECONDS: Final = 10.0
#: The id the readiness probe reads: no response has it, so the store answers "not found".
_PROBE: Final = "resp_readiness_probe"


@dataclass(frozen=True, slots=True)
class Shared:
    """The store as the service uses it, and the signals when workers share it."""

    store: ResponseStore
    signals: ResponseSignals | None = None
    takeover_interval: float | None = None
    drain_seconds: float = 0.0


async def open_shared(url: str | None, store: ResponseStore) -> Shared:
    """Signals for a PostgreSQL ``store``; for any other store, the store alone."""
    if url is None or not is_postgres_url(url):
        return Shared(store)
    # Imported here: psycopg is the optional ``postgres`` extra.
    from antiphon.store.postgres import PostgresStore
    from antiphon.store.postgres_signals import PostgresSignals

    if not isinstance(store, PostgresStore):  # a test's own opener: one process
        return Shared(store)
    signals = await PostgresSignals.open(url.strip())
    # The store announces its own writes, in the pipeline of each (no extra round trip).
    store.announce_changes = True
    return Shared(
        store,
        signals,
        takeover_interval=store.lease_seconds / 4,
        drain_seconds=DRAIN_SECONDS,
    )


async def readiness(state: object) -> Response:
    """``GET /ready``: 200 once started and while the store answers; 503 otherwise.

    ``/health`` says the process lives; this says it should get traffic: not before its
    start-up finished, not while it shuts down, not while its store is unreachable.
    """
    if not getattr(state, "ready", False):
        return JSONResponse({"status": "unavailable", "reason": "starting or stopping"}, 503)
    store: ResponseStore = getattr(state, "store")  # noqa: B009 (Starlette's untyped state)
    try:
        await store.get(_PROBE)
    except ResponseNotFound:
        pass  # the store answered
    except StoreError as exc:
        return JSONResponse({"status": "unavailable", "reason": f"store: {exc}"}, 503)
    return JSONResponse({"status": "ready"})
