"""A client leaving a non-streaming request over a real socket: uvicorn reports it, the run stops.

The app is served by uvicorn in the test's loop; its upstream is in memory (an
``httpx.MockTransport`` body that holds after its first chunk and records its close). What is
tested is the socket: the client's connection closing must reach the handler as
``http.disconnect`` and cancel the run.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.server.support import serving
from tests.server.test_leaving_and_deadlines import HeldUpstream, app_over

pytestmark = pytest.mark.e2e

_GUARD = 10.0


async def test_closing_the_connection_cancels_the_response_and_closes_the_upstream() -> None:
    upstream = HeldUpstream()
    app = app_over(upstream)
    async with (
        asyncio.timeout(_GUARD),
        serving(app) as url,
        httpx.AsyncClient(base_url=url) as watcher,
    ):
        async with httpx.AsyncClient(base_url=url) as client:
            request = asyncio.create_task(
                client.post("/v1/responses", json={"model": "m", "input": "Hi"})
            )
            await upstream.started.wait()
            request.cancel()  # the client gives up: httpx closes the connection
            with pytest.raises(asyncio.CancelledError):
                await request
        (held,) = upstream.bodies
        await held.closed.wait()
        listed = (await watcher.get("/v1/models")).json()
        assert [model["id"] for model in listed["data"]] == ["m"]  # the server still serves
    assert not held.read_to_end
