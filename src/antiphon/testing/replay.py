"""Record and replay in a test's own event loop: :func:`recording` and :func:`replaying`.

Both serve the :mod:`antiphon.record` apps with uvicorn on a free loopback port for the block and
yield the base URL clients take (``http://127.0.0.1:PORT/v1``), so a test can drive the official
clients or ``antiphon.realtime`` against what a real model once did.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from antiphon.record import CassetteWriter, create_record_app, create_replay_app, read_cassette
from antiphon.record.replay import Timing

__all__ = ["recording", "replaying"]

_START_SECONDS = 10.0


@contextlib.asynccontextmanager
async def recording(upstream: str, cassette: Path) -> AsyncGenerator[str]:
    """A recording proxy in front of ``upstream`` (its ``.../v1``) writing ``cassette``."""
    with cassette.open("w", encoding="utf-8") as stream:
        async with _serving(create_record_app(upstream, CassetteWriter(stream))) as url:
            yield f"{url}/v1"


@contextlib.asynccontextmanager
async def replaying(cassette: Path, *, timing: Timing = "fast") -> AsyncGenerator[str]:
    """``cassette`` served back, deterministically, with ``timing``."""
    async with _serving(create_replay_app(read_cassette(cassette), timing=timing)) as url:
        yield f"{url}/v1"


@contextlib.asynccontextmanager
async def _serving(app: ASGIApp) -> AsyncGenerator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", ws_max_size=16 << 20)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="antiphon-replay")  # awaited below
    try:
        async with asyncio.timeout(_START_SECONDS):
            # uvicorn has a flag, not an event: yield to the loop until it is set.
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(_START_SECONDS):
            await task
