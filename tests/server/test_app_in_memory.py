"""The app in memory: its lifespan closes what it opened, and it serves discovered models.

The lifespan runs through ``app.router.lifespan_context``, requests through httpx's ASGI
transport, and the upstream is an ``httpx.MockTransport``: no socket anywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from antiphon.exceptions import ConfigurationError, SandboxError, StoreError
from antiphon.server import run as server_run
from antiphon.server.app import create_app
from antiphon.server.settings import ModelRoute, ServerSettings, UpstreamDiscovery
from antiphon.store.base import ResponseStore, StoreLimits
from antiphon.store.factory import open_store
from antiphon.testing.upstream import chat_chunks
from antiphon.tools.code_interpreter import SandboxPolicy

UPSTREAM = "http://upstream:8000/v1"
_TIMEOUT = 10.0


@asynccontextmanager
async def _running(app: Starlette) -> AsyncGenerator[httpx.AsyncClient]:
    async with (
        asyncio.timeout(_TIMEOUT),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as client,
    ):
        yield client


async def test_a_failing_engine_closes_the_store_opened_before_it(tmp_path: Path) -> None:
    opened: list[ResponseStore] = []

    async def opener(url: str | None, limits: StoreLimits) -> ResponseStore:
        store = await open_store(str(tmp_path / "responses.sqlite3"), limits)
        opened.append(store)
        return store

    broken = ModelRoute("broken", "scripted", script=tmp_path / "missing.json")
    settings = ServerSettings(models=(broken,), code_interpreter=False)
    app = create_app(settings, store_opener=opener)
    with pytest.raises(ConfigurationError, match="cannot read the script"):
        async with _running(app):
            pytest.fail("the app started without its script")
    (store,) = opened
    with pytest.raises(StoreError, match="closed"):
        await store.get("resp_any")


class Upstream:
    """An OpenAI-compatible upstream in memory: lists ``models``, streams one chat answer."""

    def __init__(self, *models: str) -> None:
        self.models = list(models)
        self.bodies: list[dict[str, object]] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            data = [{"id": name, "object": "model"} for name in self.models]
            return httpx.Response(200, json={"object": "list", "data": data})
        assert request.url.path == "/v1/chat/completions"
        body = json.loads(request.content)
        self.bodies.append(body)
        frames = chat_chunks(content=["Hello from ", str(body["model"])])
        stream = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames) + "data: [DONE]\n\n"
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=stream.encode()
        )


def _discovering(*routes: ModelRoute) -> ServerSettings:
    return ServerSettings(
        models=routes,
        discovery=UpstreamDiscovery("chat", UPSTREAM, refresh_seconds=0),
        store="memory",
        code_interpreter=False,
    )


async def test_discovered_models_are_listed_and_served_under_their_own_names() -> None:
    upstream = Upstream("meta-llama/Llama-3.1-8B", "qwen3")
    app = create_app(_discovering(), upstream_transport=upstream.transport)
    async with _running(app) as client:
        listed = (await client.get("/v1/models")).json()
        answer = await client.post("/v1/responses", json={"model": "qwen3", "input": "Hi"})
    assert [model["id"] for model in listed["data"]] == ["meta-llama/Llama-3.1-8B", "qwen3"]
    assert answer.status_code == 200
    body = answer.json()
    assert (body["model"], body["status"]) == ("qwen3", "completed")
    assert body["output"][0]["content"][0]["text"] == "Hello from qwen3"
    assert [sent["model"] for sent in upstream.bodies] == ["qwen3"]


async def test_a_model_the_upstream_loads_later_is_served_after_a_miss() -> None:
    upstream = Upstream("first")
    app = create_app(_discovering(), upstream_transport=upstream.transport)
    async with _running(app) as client:
        missing = await client.post("/v1/responses", json={"model": "second", "input": "Hi"})
        upstream.models.append("second")
        found = await client.post("/v1/responses", json={"model": "second", "input": "Hi"})
    assert missing.status_code == 404
    assert (missing.json()["error"]["code"], missing.json()["error"]["param"]) == (
        "model_not_found",
        "model",
    )
    assert found.status_code == 200
    assert [sent["model"] for sent in upstream.bodies] == ["second"]


async def test_a_renamed_model_sends_the_upstreams_name() -> None:
    upstream = Upstream("org/long-name")
    renamed = ModelRoute("short", "chat", UPSTREAM, upstream_model="org/long-name")
    app = create_app(_discovering(renamed), upstream_transport=upstream.transport)
    async with _running(app) as client:
        listed = (await client.get("/v1/models")).json()
        answer = await client.post("/v1/responses", json={"model": "short", "input": "Hi"})
    assert [model["id"] for model in listed["data"]] == ["short", "org/long-name"]
    assert answer.json()["model"] == "short"
    assert [sent["model"] for sent in upstream.bodies] == ["org/long-name"]


def _requiring_landlock_without_it() -> ServerSettings:
    # Landlock switched off by the policy while required: a layer missing on this "host".
    policy = SandboxPolicy(
        landlock=False, warm_worker=False, required=frozenset({"landlock_filesystem"})
    )
    return dataclasses.replace(_discovering(), code_interpreter=True, sandbox_policy=policy)


async def test_a_required_sandbox_layer_that_is_missing_stops_the_app_at_start_up() -> None:
    app = create_app(_requiring_landlock_without_it(), upstream_transport=Upstream().transport)
    with pytest.raises(SandboxError, match=r"unavailable: \['landlock_filesystem'\]"):
        async with _running(app):
            pytest.fail("the app started without a required sandbox layer")


async def test_a_required_sandbox_layer_that_is_active_lets_the_app_start() -> None:
    policy = SandboxPolicy(warm_worker=False, required=frozenset({"seccomp", "rlimits"}))
    settings = dataclasses.replace(_discovering(), code_interpreter=True, sandbox_policy=policy)
    app = create_app(settings, upstream_transport=Upstream("m").transport)
    async with _running(app) as client:
        assert (await client.get("/v1/models")).status_code == 200


def test_serve_exits_non_zero_when_a_required_sandbox_layer_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_handler(log_level: str, log_format: str) -> None:  # serve would leave a handler
        del log_level, log_format

    async def no_main_loop(self: object) -> None:  # a server that did start stops at once
        del self

    monkeypatch.setattr(server_run, "_log_to_stderr", no_handler)
    monkeypatch.setattr(server_run._Server, "main_loop", no_main_loop)  # pyright: ignore[reportPrivateUsage]
    unreachable = UpstreamDiscovery("chat", "http://127.0.0.1:9/v1", refresh_seconds=0)
    settings = dataclasses.replace(_requiring_landlock_without_it(), port=0, discovery=unreachable)
    with pytest.raises(SystemExit) as exited:
        server_run.serve(settings)
    assert exited.value.code == 3  # uvicorn's start-up failure status
    error = capsys.readouterr().err
    assert "required sandbox protections are unavailable: ['landlock_filesystem']" in error
    assert "Application startup failed" in error
