"""BearerAuth over a real socket: HTTP gets a 401 body, a WebSocket handshake is refused."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from antiphon.server.auth import BearerAuth
from antiphon.server.client_secrets import ClientSecretStore
from tests.server.support import serving

_KEY = "sk-test-key"


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app: ``ok`` over HTTP; over a WebSocket, accept and echo one message."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    message = await receive()
    await send({"type": "websocket.send", "text": message.get("text", "")})
    await send({"type": "websocket.close", "code": 1000})


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {_KEY}", f"Bearer {_KEY}x"])
async def test_a_request_without_the_key_gets_a_401_body(header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    app = BearerAuth(_echo, _KEY)
    async with serving(app, lifespan="off") as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/v1/models", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {
            "message": "Incorrect API key provided.",
            "type": "authentication_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }


async def test_the_right_key_passes_and_health_needs_none() -> None:
    app = BearerAuth(_echo, _KEY)
    async with serving(app, lifespan="off") as url, httpx.AsyncClient(base_url=url) as http:
        allowed = await http.get("/v1/models", headers={"Authorization": f"Bearer {_KEY}"})
        health = await http.get("/health")
    assert (allowed.status_code, allowed.text) == (200, "ok")
    assert (health.status_code, health.text) == (200, "ok")


async def test_a_websocket_needs_the_key_too() -> None:
    async with serving(BearerAuth(_echo, _KEY), lifespan="off") as url:
        ws_url = url.replace("http://", "ws://") + "/v1/realtime"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url, additional_headers={"Authorization": "Bearer nope"}):
                pass  # pragma: no cover - the handshake fails
        assert refused.value.response.status_code == 403
        async with connect(ws_url, additional_headers={"Authorization": f"Bearer {_KEY}"}) as ws:
            await ws.send("ping")
            assert await ws.recv() == "ping"


async def test_without_a_key_everything_passes_but_a_dead_ephemeral_key() -> None:
    store = ClientSecretStore()
    live = store.issue(60).value
    async with serving(BearerAuth(_echo, None, store), lifespan="off") as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/v1/models")).status_code == 200
        ws_url = url.replace("http://", "ws://") + "/v1/realtime"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url, additional_headers={"Authorization": "Bearer ek_dead"}):
                pass  # pragma: no cover - the handshake fails
        assert refused.value.response.status_code == 403
        async with connect(ws_url, additional_headers={"Authorization": f"Bearer {live}"}) as ws:
            await ws.send("ping")
            assert await ws.recv() == "ping"
