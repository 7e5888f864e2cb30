"""An ASGI app served by uvicorn in the caller's own event loop, on a real loopback socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

__all__ = ["serving"]

_SECONDS = 10.0


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, *, lifespan: Literal["on", "off"] = "on") -> AsyncGenerator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) for the block; yields its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan=lifespan,
        ws="websockets-sansio",
        log_level="error",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="uvicorn")  # owned here, awaited below
    try:
        async with asyncio.timeout(_SECONDS):
            # uvicorn has a flag, not an event: yield to the loop until it is set (or serve ends).
            while not server.started:
                if task.done():
                    await task  # raises what stopped the server
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(_SECONDS):
            await task
