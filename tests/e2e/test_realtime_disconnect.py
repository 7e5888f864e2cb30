"""A realtime client that vanishes mid-response stops the generation at once.

The model's upstream here reads requests and never answers, so a response stays in flight
until something cancels it; the test watches that upstream connection close when the client
drops its socket, and the server keep serving.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.e2e.support import ServerProcess, write_config

pytestmark = pytest.mark.e2e

WITHIN = 15.0


class HungUpstream:
    """A chat upstream that reads and never answers.

    It notes when a request arrives and when the other side closes its connection.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self.reached = threading.Event()
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with self._listener:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed before anyone came
            with conn:
                self.reached.set()
                while conn.recv(65536):
                    pass
                self.closed.set()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def upstream() -> Iterator[HungUpstream]:
    hung = HungUpstream()
    yield hung
    hung.close()


@pytest.fixture
def server(tmp_path: Path, upstream: HungUpstream) -> Iterator[ServerProcess]:
    model = {"name": "held", "upstream_api": "chat", "upstream_url": upstream.url}
    config = write_config(tmp_path / "antiphon.toml", [model])
    with ServerProcess(["--config", str(config), "--store", "memory"]) as process:
        yield process


async def test_a_client_that_leaves_cancels_its_generation(
    server: ServerProcess, upstream: HungUpstream
) -> None:
    url = server.url.replace("http://", "ws://") + "/v1/realtime?model=held"
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "conversation.item.create", "item": user}))
        await ws.send(json.dumps({"type": "response.create"}))
        while json.loads(await ws.recv())["type"] != "response.created":
            pass
        assert await _wait(upstream.reached)
    # The socket is closed: the server must drop the upstream request it was waiting on.
    assert await _wait(upstream.closed)
    async with connect(url) as ws:  # and it still serves
        assert json.loads(await ws.recv())["type"] == "session.created"


async def _wait(event: threading.Event) -> bool:
    return await asyncio.to_thread(event.wait, WITHIN)
