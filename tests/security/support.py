"""The app in memory for the security tests: a scripted model, a chat and a harmony upstream.

Requests go through ``httpx.ASGITransport`` to the app at ``http://127.0.0.1:8000`` (a loopback
server's own address, so its ``Host`` check passes); the upstreams are one
``httpx.MockTransport`` that answers every chat and completions request with a short answer and
records each body, so a test can assert what reached (or never reached) an upstream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from antiphon.server.app import create_app
from antiphon.server.settings import ModelRoute, ServerSettings
from antiphon.testing.upstream import chat_chunks, completion_chunks

__all__ = ["BASE_URL", "JSON_HEADERS", "RecordingUpstream", "running", "settings_for"]

BASE_URL = "http://127.0.0.1:8000"
JSON_HEADERS = {"content-type": "application/json"}
UPSTREAM = "http://upstream.test/v1"
_TIMEOUT = 30.0
_SCRIPT = {"turns": [{"repeat": True, "items": [{"kind": "message", "text": "Hello."}]}]}


class RecordingUpstream:
    """Answers chat (``Hi.``) and harmony completions (a final message); keeps every body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if request.url.path.endswith("/chat/completions"):
            frames: list[dict[str, Any]] = chat_chunks(content=["Hi."])
        else:
            frames = completion_chunks(["<|channel|>final<|message|>Hi.<|return|>"])
        stream = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames) + "data: [DONE]\n\n"
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, content=stream.encode())


def settings_for(tmp_path: Path, **changes: Any) -> ServerSettings:
    """Models ``scripted``, ``chat`` and ``harmony`` on a memory store; ``changes`` on top."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(_SCRIPT), encoding="utf-8")
    settings = ServerSettings(
        models=(
            ModelRoute("scripted", "scripted", script=script),
            ModelRoute("chat", "chat", upstream_url=UPSTREAM),
            ModelRoute("harmony", "harmony", upstream_url=UPSTREAM),
        ),
        store="memory",
        code_interpreter=False,
    )
    return replace(settings, **changes)


@asynccontextmanager
async def running(
    settings: ServerSettings, upstream: RecordingUpstream | None = None
) -> AsyncGenerator[httpx.AsyncClient]:
    """The app's lifespan and a client to it, for the block."""
    app: Starlette = create_app(
        settings, upstream_transport=(upstream or RecordingUpstream()).transport
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        asyncio.timeout(_TIMEOUT),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
    ):
        yield client
