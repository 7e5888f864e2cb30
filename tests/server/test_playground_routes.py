"""The playground's routes in memory: open page and assets, a same-origin CSP, capabilities."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from antiphon.server.app import create_app
from antiphon.server.settings import ModelRoute, ServerSettings, SpeechConfig
from antiphon.tools.mcp import McpServerConfig

_KEY = "sk-page"


@asynccontextmanager
async def _running(tmp_path: Path) -> AsyncGenerator[httpx.AsyncClient]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [{"items": [{"kind": "message", "text": "hi"}]}]}))
    settings = ServerSettings(
        models=(ModelRoute("m", "scripted", script=script),),
        store="memory",
        code_interpreter=False,
        api_key=_KEY,
        speech=SpeechConfig(enabled=False),
        mcp_servers=(McpServerConfig("calc", "http", url="http://127.0.0.1:9/mcp?token=x"),),
    )
    app = create_app(settings)
    async with (
        asyncio.timeout(30),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as client,
    ):
        yield client


async def test_the_page_and_its_assets_open_without_the_key(tmp_path: Path) -> None:
    async with _running(tmp_path) as http:
        home = await http.get("/")
        page = await http.get("/playground")
        script = await http.get("/playground/assets/js/main.js")
        style = await http.get("/playground/assets/style.css")
        # Past the open prefix, then up and out: StaticFiles must refuse it.
        outside = await http.get("/playground/assets/%2e%2e/%2e%2e/app.py")
        api = await http.get("/v1/models")
    assert home.status_code == 200
    assert 'href="/playground"' in home.text
    assert page.status_code == 200
    assert '<script type="module" src="/playground/assets/js/main.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000" in policy
    assert "default-src 'none'" in policy
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert style.status_code == 200
    assert outside.status_code == 404
    assert api.status_code == 401  # the API itself still needs the key


async def test_capabilities_name_labels_never_urls_and_need_the_key(tmp_path: Path) -> None:
    async with _running(tmp_path) as http:
        refused = await http.get("/playground/capabilities")
        answered = await http.get(
            "/playground/capabilities", headers={"Authorization": f"Bearer {_KEY}"}
        )
    assert refused.status_code == 401
    body = answered.json()
    assert body["mcp_servers"] == [{"server_label": "calc", "transport": "http"}]
    assert (body["code_interpreter"], body["speech"]) == (False, False)
    assert "token" not in answered.text
