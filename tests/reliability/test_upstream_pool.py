"""The upstream pool over a real socket: past ``max_connections``, a request waits, then fails.

The stand-in upstream is a Starlette app served by uvicorn in the test's loop; it holds each
answer open after its first chunk until the test releases it. httpx's pool is what is tested,
so the engine makes its own client from its config (no injected transport).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from antiphon.engines import EngineRequest, HistorySegment, ItemStarted
from antiphon.engines._http import UpstreamConfig
from antiphon.engines.chat import ChatEngine
from antiphon.exceptions import UpstreamBusy
from antiphon.testing.upstream import chat_chunks
from tests.server.support import serving

pytestmark = pytest.mark.e2e

_GUARD = 10.0
_REQUEST = EngineRequest(model="m", history=(HistorySegment(({"role": "user", "content": "Hi"},)),))
_CHUNKS = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chat_chunks(content=["x"])]


class _HoldingUpstream:
    """Answers chat requests with a first chunk, then holds them until :attr:`release`."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> Response:
        await request.body()
        return StreamingResponse(self._body(), media_type="text/event-stream")

    async def _body(self) -> AsyncIterator[bytes]:
        yield b"".join(_CHUNKS[:2])  # the role, then "x"
        await self.release.wait()
        yield b"".join(_CHUNKS[2:]) + b"data: [DONE]\n\n"


async def _run(engine: ChatEngine) -> None:
    async with aclosing(engine.stream(_REQUEST)) as events:
        async for _ in events:
            pass


async def test_a_request_past_the_pool_waits_its_pool_timeout_then_names_the_busy_pool() -> None:
    upstream = _HoldingUpstream()
    async with asyncio.timeout(_GUARD), serving(upstream.app, lifespan="off") as url:
        config = UpstreamConfig(f"{url}/v1", stall_timeout=5, max_connections=1, pool_timeout=0.2)
        engine = ChatEngine(config)  # its own client, with the config's pool
        try:
            async with aclosing(engine.stream(_REQUEST)) as holding:
                assert isinstance(await anext(holding), ItemStarted)  # the one connection
                with pytest.raises(UpstreamBusy) as caught:
                    await _run(engine)
                upstream.release.set()
                rest = [event async for event in holding]
        finally:
            upstream.release.set()
            await engine.aclose()
    assert re.fullmatch(
        re.escape(
            "all 1 upstream connections are busy: waited 0.2 s for one "
            "(upstream_max_connections, upstream_pool_timeout)"
        ),
        str(caught.value),
    )
    assert rest  # the held request still finished once released
