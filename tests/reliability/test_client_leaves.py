"""A client leaving a non-streaming request over a real socket: uvicorn reports it, the run stops.

The app is served by uvicorn in the test's loop; its upstream is in memory (an
``httpx.MockTransport`` body that holds after its first chunk and records its close). What is
tested is the socket: the client's connection closing must reach the handler as
``http.disconnect`` and cancel the run. A client that closes its connection in the middle of
its request body is one info line in the log: no stack trace from antiphon, none from uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from contextlib import contextmanager

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


class _Records(logging.Handler):
    """Keeps every record; sets :attr:`left` once the line about a client leaving arrives."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.left = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.getMessage().startswith("the client left during"):
            self.left.set()


@contextmanager
def _recording(*names: str) -> Generator[_Records]:
    handler = _Records()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


async def test_a_client_leaving_mid_upload_is_one_info_line_and_no_traceback() -> None:
    app = app_over(HeldUpstream())
    with _recording("antiphon", "uvicorn") as log:
        async with asyncio.timeout(_GUARD), serving(app) as url:
            host, port = url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                b'{"model": "m", ' % int(port)
            )
            await writer.drain()
            writer.close()  # gone with 85 bytes of the body unsent
            await writer.wait_closed()
            await log.left.wait()
            del reader
    assert [record for record in log.records if record.exc_info] == []
    assert [record for record in log.records if record.levelno >= logging.WARNING] == []
