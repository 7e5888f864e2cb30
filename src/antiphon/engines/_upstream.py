"""What the chat and harmony engines share: an owned HTTP client and one stream skeleton.

Role: :class:`UpstreamEngine` owns (or borrows) the httpx client, closes it in ``aclose`` and
runs every turn the same way: build the request body and a sans-I/O chunk mapper, POST, feed
each decoded chunk to the mapper, yield its events, then the mapper's ending. Subclasses say
only what differs: the endpoint, the body and the mapper (:meth:`UpstreamEngine.prepare`), and
how chunks are fetched (:meth:`UpstreamEngine.chunks`; the chat engine's unstreamed mode).

Every call has a deadline (``UpstreamConfig.deadline_seconds``) besides the stall timeout: the
stall timeout bounds each wait for bytes, so an upstream trickling a byte at a time would
otherwise hold the turn (and its connection) for ever.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

import httpx

from antiphon._deadline import Deadline, aclosing_deadline
from antiphon.engines._h1_pool import H1Streams, fast_path_allowed
from antiphon.engines._http import JSONObject, UpstreamConfig, post_sse
from antiphon.engines.base import EngineEvent, EngineRequest
from antiphon.exceptions import UpstreamTimeout
from antiphon.wire.ids import IdFactory, random_id

__all__ = ["ChunkMapper", "PreparedTurn", "UpstreamEngine"]


class ChunkMapper(Protocol):
    """One turn's decoded upstream chunks in, engine events out (sans-I/O)."""

    def feed(self, chunk: JSONObject) -> list[EngineEvent]:
        """Events completed by one chunk."""
        ...

    def finish(self) -> list[EngineEvent]:
        """The body ended: the closing events, ``TurnFinished`` last; raises on a bad ending."""
        ...


@dataclass(frozen=True, slots=True)
class PreparedTurn:
    """One turn ready to send: the endpoint path, its JSON body and the mapper of its chunks."""

    path: str
    body: JSONObject
    mapper: ChunkMapper


class UpstreamEngine(ABC):
    """An :class:`~antiphon.engines.base.Engine` over an HTTP upstream of JSON chunks.

    ``client`` may be shared between engines (the caller then closes it); by default the engine
    makes its own from ``config`` and closes it in :meth:`aclose`. ``streams`` carries the
    streamed calls of a plain-HTTP upstream (:class:`~antiphon.engines._h1_pool.H1Streams`,
    closed by whoever made it); an engine that makes its own client makes those too, when
    :func:`~antiphon.engines._h1_pool.fast_path_allowed` says the URL may use them.
    """

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        client: httpx.AsyncClient | None = None,
        streams: H1Streams | None = None,
        ids: IdFactory = random_id,
    ) -> None:
        self._config = config
        self._owns_client = client is None
        self._client = client or config.make_client()
        # Streams of a plain-HTTP upstream take the lean path (see _h1_pool); an engine given a
        # client but no streams (a test's in-memory transport) keeps everything on the client.
        self._owns_streams = streams is None and client is None
        if self._owns_streams and fast_path_allowed(config.base_url):
            streams = H1Streams(config)
        self._streams = streams
        self._ids = ids

    @property
    @abstractmethod
    def name(self) -> str:
        """A short label for logs and errors."""

    @abstractmethod
    def prepare(self, request: EngineRequest) -> PreparedTurn:
        """The endpoint, body and chunk mapper of one turn (no I/O)."""

    def chunks(self, path: str, body: JSONObject) -> AsyncGenerator[JSONObject, None]:
        """The decoded chunks of the upstream's answer; by default its SSE stream."""
        if self._streams is not None:
            return self._streams.post_sse(path, body)
        return post_sse(
            self._client,
            path,
            body,
            max_event_bytes=self._config.max_event_bytes,
            max_connections=self._config.max_connections,
        )

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """Run one turn upstream; see :class:`~antiphon.engines.base.Engine`.

        Raises :class:`~antiphon.UpstreamTimeout` when the call passes its deadline (the time
        our consumer takes between events counts too: the deadline is a point in time).
        """
        turn = self.prepare(request)
        chunks = self.chunks(turn.path, turn.body)
        seconds = self._config.deadline_seconds
        deadline = Deadline(asyncio.get_running_loop().time() + seconds if seconds > 0 else None)
        # aclosing: when our consumer stops, the HTTP response closes now, not at GC time.
        async with aclosing(chunks), aclosing_deadline(deadline):
            while True:
                # Each wait for a chunk runs under the call's deadline, in this task: when it
                # fires, the cancellation goes through the HTTP request, which closes.
                try:
                    async with deadline:
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError as exc:
                    if not deadline.expired():
                        raise
                    raise UpstreamTimeout(
                        f"the upstream call exceeded its {seconds:g} s deadline "
                        "(upstream_deadline_seconds)"
                    ) from exc
                for event in turn.mapper.feed(chunk):
                    yield event
        for event in turn.mapper.finish():
            yield event

    async def aclose(self) -> None:
        """Close the HTTP client when the engine made it."""
        if self._owns_client:
            await self._client.aclose()
        if self._owns_streams and self._streams is not None:
            await self._streams.aclose()
