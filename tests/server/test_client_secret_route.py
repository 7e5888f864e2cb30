"""``POST /v1/realtime/client_secrets``: hostile bodies, and the keys it issues, in process."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from antiphon.exceptions import InvalidRequestError
from antiphon.server.app import create_app
from antiphon.server.client_secret_route import parse_client_secret_body
from antiphon.server.client_secrets import ClientSecretStore
from antiphon.server.settings import ModelRoute, ServerSettings
from tests.server.support import serving
from tests.server.test_client_secrets import Clock
from tests.server.test_realtime import TEXT, receive, receive_until, ws_url

KEY = "sk-test-key"


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


DEEP = _deep(80)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ([], None, "invalid_request"),
        ({"expires_after": {"seconds": 9}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"seconds": 7201}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"seconds": "600"}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"seconds": 600.5}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"seconds": True}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"seconds": float("inf")}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"anchor": "now"}}, "expires_after.anchor", "invalid_value"),
        ({"expires_after": {"when": 1}}, "expires_after.when", "unknown_parameter"),
        ({"expires_after": 600}, "expires_after", "invalid_value"),
        ({"ttl": 600}, "ttl", "unknown_parameter"),
        ({"session": "realtime"}, "session", "invalid_value"),
        ({"session": {}}, "session.type", "missing_required_parameter"),
        ({"session": {"type": "transcription"}}, "session.type", "unsupported_value"),
        ({"session": {"type": "realtime", "voice": "x"}}, "session.voice", "unknown_parameter"),
        (
            {"session": {"type": "realtime", "max_output_tokens": "5"}},
            "session.max_output_tokens",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "output_modalities": ["text", "audio"]}},
            "session.output_modalities",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "instructions": "x" * 300_000}},
            "session",
            "request_too_large",
        ),
        (
            {"session": {"type": "realtime", "tools": [{"type": "function", "name": "f", "x": 1}]}},
            "session.tools[0].x",
            "unknown_parameter",
        ),
        (
            {"session": {"type": "realtime", "tool_choice": "sometimes"}},
            "session.tool_choice",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "instructions": "\ud800"}},
            "session.instructions",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "tools": [{"type": "function", "parameters": DEEP}]}},
            None,  # a long path; only the code is checked
            "invalid_value",
        ),
    ],
)
def test_a_hostile_body_is_a_400_naming_the_field(
    body: object, param: str | None, code: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        parse_client_secret_body(body)
    assert refused.value.status == 400
    assert refused.value.code == code
    if param is not None or body == []:
        assert refused.value.param == param
    if param is not None:
        assert param in refused.value.message


def test_defaults_and_a_full_session_parse() -> None:
    assert parse_client_secret_body({}).seconds == 600
    assert parse_client_secret_body({}).session is None
    parsed = parse_client_secret_body(
        {
            "expires_after": {"anchor": "created_at", "seconds": 10},
            "session": {
                "type": "realtime",
                "model": "text",
                "instructions": "Be brief.",
                "output_modalities": ["text"],
                "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
                "tool_choice": "required",
                "max_output_tokens": 64,
            },
        }
    )
    assert parsed.seconds == 10
    assert parsed.session is not None
    assert parsed.session.instructions == "Be brief."


@pytest.fixture
def clock() -> Clock:
    return Clock(now=2_000_000_000.0)


@pytest.fixture
async def base_url(tmp_path: Path, clock: Clock) -> AsyncGenerator[str]:
    script = tmp_path / "text.json"
    script.write_text(json.dumps(TEXT), encoding="utf-8")
    settings = ServerSettings(
        models=(ModelRoute("text", "scripted", script=script),),
        code_interpreter=False,
        store="memory",
        api_key=KEY,
    )
    app = create_app(settings, client_secrets=ClientSecretStore(clock=clock))
    async with serving(app) as url:
        yield url


async def _create(base: str, body: dict[str, Any], key: str = KEY) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as http:
        return await http.post(
            "/v1/realtime/client_secrets", json=body, headers={"Authorization": f"Bearer {key}"}
        )


async def test_the_official_client_parses_the_answer(base_url: str, clock: Clock) -> None:
    async with AsyncOpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0) as client:
        created = await client.realtime.client_secrets.create(
            expires_after={"anchor": "created_at", "seconds": 120},
            session={"type": "realtime", "model": "text", "instructions": "Be brief."},
        )
    assert created.value.startswith("ek_")
    assert created.expires_at == int(clock.now) + 120
    assert created.session.type == "realtime"
    assert created.session.id.startswith("sess_")
    assert created.session.instructions == "Be brief."
    assert created.session.model == "text"


async def test_the_key_is_needed_and_an_unknown_model_is_refused(base_url: str) -> None:
    assert (await _create(base_url, {}, key="wrong")).status_code == 401
    unknown = await _create(base_url, {"session": {"type": "realtime", "model": "nope"}})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "session.model"
    bad = await _create(base_url, {"expires_after": {"seconds": 5}})
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "expires_after.seconds")


async def test_a_server_that_speaks_issues_keys_for_audio_sessions(base_url: str) -> None:
    audio = {"session": {"type": "realtime", "output_modalities": ["audio"]}}
    answer = await _create(base_url, audio)
    assert answer.status_code == 200, answer.text
    assert answer.json()["session"]["output_modalities"] == ["audio"]


async def test_an_ephemeral_key_opens_one_session_with_its_config(base_url: str) -> None:
    answer = await _create(
        base_url, {"session": {"type": "realtime", "instructions": "From the key."}}
    )
    value = answer.json()["value"]
    offered = [Subprotocol("realtime"), Subprotocol(f"openai-insecure-api-key.{value}")]
    async with connect(ws_url(base_url, "text"), subprotocols=offered) as ws:
        created = await receive(ws)
        assert created["type"] == "session.created"
        assert created["session"]["instructions"] == "From the key."
        await ws.send(json.dumps({"type": "response.create"}))
        done = (await receive_until(ws, "response.done"))[-1]
        assert done["response"]["status"] == "completed"
    with pytest.raises(InvalidStatus) as reused:
        async with connect(ws_url(base_url, "text"), subprotocols=offered):
            pass  # pragma: no cover - the handshake fails
    assert reused.value.response.status_code == 403


async def test_an_ephemeral_key_by_header_and_never_over_http(base_url: str) -> None:
    value = (await _create(base_url, {})).json()["value"]
    headers = {"Authorization": f"Bearer {value}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as http:
        for method, path in [
            ("POST", "/v1/responses"),
            ("GET", "/v1/models"),
            ("POST", "/v1/realtime/client_secrets"),
        ]:
            refused = await http.request(method, path, json={"model": "text", "input": "hi"})
            assert refused.status_code == 401, path
    # Refused over HTTP, it is still good for its one WebSocket session.
    async with connect(ws_url(base_url, "text"), additional_headers=headers) as ws:
        assert (await receive(ws))["type"] == "session.created"


async def test_an_expired_key_is_refused(base_url: str, clock: Clock) -> None:
    value = (await _create(base_url, {"expires_after": {"seconds": 10}})).json()["value"]
    clock.now += 10
    headers = {"Authorization": f"Bearer {value}"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(base_url, "text"), additional_headers=headers):
            pass  # pragma: no cover - the handshake fails
    assert refused.value.response.status_code == 403
