"""Upstream limits at the HTTP boundary: each error names the limit that fired, and its value.

The upstream is an ``httpx.MockTransport``: a transport that raises httpx's own timeouts, or a
body that trickles a comment line per event-loop tick (a stall timeout, which bounds each read,
never fires on it; only the call's deadline ends it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

import httpx
import pytest

from antiphon.engines import EngineRequest, HistorySegment
from antiphon.engines._http import UpstreamConfig
from antiphon.engines.chat import ChatEngine, ChatOptions
from antiphon.exceptions import EngineError, UpstreamBusy, UpstreamConnectError, UpstreamTimeout

_GUARD = 10.0  # seconds a test may take at most: the old behaviour hangs, it must fail instead
_REQUEST = EngineRequest(model="m", history=(HistorySegment(({"role": "user", "content": "Hi"},)),))


class _Trickle(httpx.AsyncByteStream):
    """A 200 body that sends an SSE comment per event-loop tick, for ever; records its close."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.closed = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            yield b":\n"
            self.first.set()
            await asyncio.sleep(0)  # one tick, not a timer: the next byte comes right away

    async def aclose(self) -> None:
        self.closed.set()


def _engine(
    config: UpstreamConfig,
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    stream: bool = True,
) -> tuple[ChatEngine, httpx.AsyncClient]:
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(handler),
        base_url=config.base_url + "/",
        timeout=config.timeout(),
    )
    return ChatEngine(config, ChatOptions(stream=stream), client=client), client


async def _fail(engine: ChatEngine) -> EngineError:
    async with asyncio.timeout(_GUARD), aclosing(engine.stream(_REQUEST)) as events:
        with pytest.raises(EngineError) as caught:
            async for _ in events:
                pass
    return caught.value


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "unstreamed"])
async def test_a_trickling_upstream_ends_at_the_calls_deadline_and_is_closed(
    stream: bool,
) -> None:
    body = _Trickle()
    config = UpstreamConfig("http://upstream.test/v1", stall_timeout=5, deadline_seconds=0.2)
    engine, client = _engine(config, lambda _: httpx.Response(200, stream=body), stream=stream)
    async with client:
        error = await _fail(engine)
    assert isinstance(error, UpstreamTimeout)
    assert str(error) == (
        "the upstream call exceeded its 0.2 s deadline (upstream_deadline_seconds)"
    )
    assert body.first.is_set()
    assert body.closed.is_set()


@pytest.mark.parametrize(
    ("raised", "kind", "message"),
    [
        (
            httpx.ReadTimeout(""),
            UpstreamTimeout,
            "the upstream sent nothing for 7 s (upstream_stall_timeout)",
        ),
        (
            httpx.ConnectTimeout(""),
            UpstreamConnectError,
            "connecting to the upstream timed out after 3 s (upstream_connect_timeout)",
        ),
        (
            httpx.PoolTimeout(""),
            UpstreamBusy,
            "all 12 upstream connections are busy: waited 0.5 s for one "
            "(upstream_max_connections, upstream_pool_timeout)",
        ),
        (httpx.ReadError(""), EngineError, "the upstream stream broke: ReadError"),
    ],
    ids=["stall", "connect", "pool", "empty-text"],
)
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "unstreamed"])
async def test_each_httpx_failure_names_the_limit_that_fired(
    raised: httpx.HTTPError, kind: type[EngineError], message: str, stream: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    config = UpstreamConfig(
        "http://upstream.test/v1",
        connect_timeout=3,
        stall_timeout=7,
        max_connections=12,
        pool_timeout=0.5,
    )
    engine, client = _engine(config, handler, stream=stream)
    async with client:
        error = await _fail(engine)
    assert isinstance(error, kind)
    assert re.fullmatch(re.escape(message), str(error))


async def test_a_client_made_from_the_config_has_its_timeouts() -> None:
    config = UpstreamConfig(
        "http://upstream.test/v1", connect_timeout=3, stall_timeout=7, pool_timeout=0.5
    )
    async with config.make_client() as client:
        timeout = client.timeout
    assert (timeout.connect, timeout.read, timeout.pool) == (3, 7, 0.5)
