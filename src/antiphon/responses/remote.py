"""Responses whose run is on another worker: followed, awaited and cancelled through the store.

The store holds every event a run appended and, once it ended, its outcome together with its
terminal event (one write); :class:`~antiphon.store.signals.ResponseSignals` says when to look
again. A follower therefore reads the log after its last event, waits for the next signal and
reads again, until the stored response is finished and its log read to the end. Each wait is
bounded (the keep-alive, else :data:`RECHECK_SECONDS`), so a lost signal delays, never stalls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Final

from antiphon.exceptions import InvalidRequestError, ResponseNotFound
from antiphon.store.base import ResponseStore, StoredResponse
from antiphon.store.signals import ResponseSignals, Watch

__all__ = ["RECHECK_SECONDS", "await_end", "follow_stored"]

#: The longest a follower waits without re-reading the store (signals may be lost).
RECHECK_SECONDS: Final = 5.0
_PAGE: Final = 1000


async def follow_stored(
    store: ResponseStore,
    signals: ResponseSignals | None,
    response_id: str,
    starting_after: int,
    *,
    keepalive: float | None = None,
) -> AsyncIterator[list[tuple[str, str]]]:
    """Stored events after ``starting_after`` in batches, live until the response ends.

    ``[]`` is an idle batch (``keepalive`` seconds without an event). Without ``signals`` (one
    process: every live run is local) the stored log is replayed and the stream ends.
    """
    if signals is None:
        async for batch in _drain(store, response_id, starting_after):
            yield batch[0]
        return
    after = starting_after
    async with signals.watch(response_id) as watch:
        while True:
            async for batch, last in _drain(store, response_id, after):
                yield batch
                after = last
            try:
                if (await store.get(response_id)).finished:
                    # Its end and terminal event were one write: what follows is the rest.
                    async for batch, _ in _drain(store, response_id, after):
                        yield batch
                    return
            except ResponseNotFound:
                return  # deleted while followed: nothing more will come
            if not await watch.wait(keepalive or RECHECK_SECONDS) and keepalive is not None:
                yield []


async def _drain(
    store: ResponseStore, response_id: str, after: int
) -> AsyncIterator[tuple[list[tuple[str, str]], int]]:
    """Every stored event after ``after``, page by page, with the last sequence number."""
    while True:
        replay = await store.events(response_id, starting_after=after, limit=_PAGE)
        if not replay.gapless:
            raise InvalidRequestError(
                f"{replay.dropped} events after {after} are no longer stored.",
                param="starting_after",
            )
        if not replay.events:
            return
        after = replay.events[-1].sequence_number
        yield [(_event_type(event.data), event.data) for event in replay.events], after


async def await_end(
    store: ResponseStore, watch: Watch, response_id: str, wait_seconds: float
) -> StoredResponse:
    """The stored response once finished, or as it stands after ``wait_seconds``.

    ``watch`` watches the response since before whatever should end it was asked.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        record = await store.get(response_id)
        left = deadline - loop.time()
        if record.finished or left <= 0:
            return record
        await watch.wait(min(left, RECHECK_SECONDS))


def _event_type(data: str) -> str:
    # Replays are rare next to live streams: decoding the JSON again is simpler than storing
    # the type twice.
    return str(json.loads(data)["type"])
