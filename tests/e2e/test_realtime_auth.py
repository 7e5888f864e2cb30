"""A real ``antiphon serve``: ephemeral realtime keys and the bounds of ``/v1/realtime``.

Expiry is tested in process with an injected clock (``tests/server/test_client_secret_route``):
the shortest lifetime the API allows is 10 seconds, too long to wait for here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from tests.e2e.conftest import TEXT_SCRIPT
from tests.e2e.support import ServerProcess, write_config

pytestmark = pytest.mark.e2e

KEY = "sk-e2e-realtime"
WITHIN = 10.0
MAX_FRAME = 65_536
STALL_SCRIPT = {
    "turns": [
        {
            "repeat": True,
            "items": [{"kind": "message", "text": "Wait for it"}],
            "fail": {"kind": "stall", "after_events": 2},
        }
    ]
}


def _config(directory: Path, server: dict[str, Any] | None = None) -> Path:
    (directory / "text.json").write_text(json.dumps(TEXT_SCRIPT), encoding="utf-8")
    (directory / "stall.json").write_text(json.dumps(STALL_SCRIPT), encoding="utf-8")
    models = [
        {"name": "scripted-text", "upstream_api": "scripted", "script": "text.json"},
        {"name": "scripted-stall", "upstream_api": "scripted", "script": "stall.json"},
    ]
    return write_config(directory / "antiphon.toml", models, server=server)


def _serve(directory: Path, *flags: str, server: dict[str, Any] | None = None) -> ServerProcess:
    config = _config(directory, server)
    args = ["--config", str(config), "--store", "memory", "--no-code-interpreter", *flags]
    return ServerProcess(args)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("secured")
    limits = {"realtime_max_frame_bytes": MAX_FRAME}  # from the config file
    with _serve(directory, "--api-key", KEY, server=limits) as process:
        yield process


@pytest.fixture
async def official(secured: ServerProcess) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=f"{secured.url}/v1", api_key=KEY, max_retries=0) as client:
        yield client


def _ws(server: ServerProcess, model: str = "scripted-text") -> str:
    return server.url.replace("http://", "ws://") + f"/v1/realtime?model={model}"


def _offer(secret: str) -> list[Subprotocol]:
    return [Subprotocol("realtime"), Subprotocol(f"openai-insecure-api-key.{secret}")]


async def _receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WITHIN):
        text = await ws.recv()
    assert isinstance(text, str)
    return json.loads(text)


async def _until(ws: ClientConnection, type_: str) -> list[dict[str, Any]]:
    frames = [await _receive(ws)]
    while frames[-1]["type"] != type_:
        frames.append(await _receive(ws))
    return frames


async def _ended(ws: ClientConnection) -> tuple[dict[str, Any], int]:
    """The last event before the server closed (its ``error``), and the close code."""
    frames: list[dict[str, Any]] = []
    closed: ConnectionClosed | None = None
    while closed is None:
        try:
            frames.append(await _receive(ws))
        except ConnectionClosed as exc:
            closed = exc
    assert closed.rcvd is not None
    assert frames
    assert frames[-1]["type"] == "error"
    return frames[-1], closed.rcvd.code


async def test_a_browser_style_key_runs_one_text_session(
    secured: ServerProcess, official: AsyncOpenAI
) -> None:
    created = await official.realtime.client_secrets.create(
        session={"type": "realtime", "instructions": "Greet.", "output_modalities": ["text"]}
    )
    assert created.value.startswith("ek_")
    assert created.session.type == "realtime"
    assert created.session.instructions == "Greet."
    async with connect(_ws(secured), subprotocols=_offer(created.value)) as ws:
        assert ws.subprotocol == "realtime"  # the key is never echoed
        opened = await _receive(ws)
        assert opened["type"] == "session.created"
        assert opened["session"]["instructions"] == "Greet."
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hello?"}],
        }
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        frames = await _until(ws, "response.done")
        text = "".join(f["delta"] for f in frames if f["type"] == "response.output_text.delta")
        assert text == "Hello from the script!"
        assert frames[-1]["response"]["status"] == "completed"
    with pytest.raises(InvalidStatus) as reused:
        async with connect(_ws(secured), subprotocols=_offer(created.value)):
            pass  # pragma: no cover - the handshake fails
    assert reused.value.response.status_code == 403


async def test_the_official_client_connects_with_a_key_once(
    secured: ServerProcess, official: AsyncOpenAI
) -> None:
    secret = (await official.realtime.client_secrets.create()).value
    async with AsyncOpenAI(base_url=f"{secured.url}/v1", api_key=secret, max_retries=0) as client:
        async with client.realtime.connect(model="scripted-text") as connection:
            assert (await connection.recv()).type == "session.created"
        with pytest.raises(InvalidStatus):
            async with client.realtime.connect(model="scripted-text") as connection:
                await connection.recv()  # pragma: no cover - the handshake fails


async def test_an_ephemeral_key_is_refused_over_http(
    secured: ServerProcess, official: AsyncOpenAI
) -> None:
    secret = (await official.realtime.client_secrets.create()).value
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"model": "scripted-text", "input": "Hello?"}
    async with httpx.AsyncClient(base_url=secured.url, headers=headers) as http:
        responses = await http.post("/v1/responses", json=body)
        more = await http.post("/v1/realtime/client_secrets", json={})
    assert responses.status_code == 401
    assert responses.json()["error"]["code"] == "invalid_api_key"
    assert more.status_code == 401
    # Without any key, no secret is issued either.
    async with httpx.AsyncClient(base_url=secured.url) as http:
        assert (await http.post("/v1/realtime/client_secrets", json={})).status_code == 401


async def test_a_hostile_body_is_a_400_naming_the_field(secured: ServerProcess) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"session": {"type": "realtime", "tools": [{"type": "function", "nmae": "f"}]}}
    async with httpx.AsyncClient(base_url=secured.url, headers=headers) as http:
        answer = await http.post("/v1/realtime/client_secrets", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "session.tools[0].nmae"


async def test_a_frame_over_the_limit_closes_with_1009(secured: ServerProcess) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with connect(_ws(secured), additional_headers=headers, max_size=None) as ws:
        assert (await _receive(ws))["type"] == "session.created"
        await ws.send(json.dumps({"type": "session.update", "pad": "x" * MAX_FRAME}))
        with pytest.raises(ConnectionClosed) as closed:
            await _receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def test_past_the_session_limit_the_server_says_try_again_later(tmp_path: Path) -> None:
    with _serve(tmp_path, "--realtime-max-sessions", "1") as server:
        async with connect(_ws(server)) as first:
            assert (await _receive(first))["type"] == "session.created"
            async with connect(_ws(server)) as second:
                error, code = await _ended(second)
            assert error["error"]["code"] == "session_limit_reached"
            assert code == 1013
            await first.send(json.dumps({"type": "response.create"}))
            assert (await _until(first, "response.done"))[-1]["response"]["status"] == ("completed")


async def test_an_idle_session_is_closed(tmp_path: Path) -> None:
    with _serve(tmp_path, "--realtime-idle-seconds", "0.5") as server:
        async with connect(_ws(server)) as ws:
            assert (await _receive(ws))["type"] == "session.created"
            error, code = await _ended(ws)
    assert error["error"]["code"] == "idle_timeout"
    assert code == 1008


async def test_a_session_expires_mid_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTIPHON_REALTIME_SESSION_SECONDS", "1")  # the environment layer
    with _serve(tmp_path) as server:
        async with connect(_ws(server, "scripted-stall")) as ws:
            await _receive(ws)
            await ws.send(json.dumps({"type": "response.create"}))
            await _until(ws, "response.output_text.delta")
            error, code = await _ended(ws)
    assert error["error"]["code"] == "session_expired"
    assert code == 1008
