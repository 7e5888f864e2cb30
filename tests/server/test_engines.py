"""ModelRouter: configured routes, and an upstream's models discovered from its GET /models."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path

import httpx
import pytest

from antiphon.engines import EngineRequest, HistorySegment, ItemDelta
from antiphon.exceptions import ConfigurationError
from antiphon.server.engines import ModelRouter, build_engine
from antiphon.server.settings import ModelRoute, ServerSettings, UpstreamDiscovery

UPSTREAM = "http://upstream:8000/v1"
_TIMEOUT = 10.0

Answer = Callable[[], httpx.Response]


class Upstream(httpx.MockTransport):
    """An upstream whose ``GET /v1/models`` answer the test sets; counts listings and closes."""

    def __init__(self, *names: str) -> None:
        super().__init__(self._handle)
        self.answer: Answer = lambda: _listing(*names)
        self.listings: list[httpx.Request] = []
        self.closed = 0

    def _handle(self, request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("GET", "/v1/models")
        self.listings.append(request)
        return self.answer()

    def serve(self, *names: str) -> None:
        """From now on, list ``names``."""
        self.answer = lambda: _listing(*names)

    def refuse(self) -> None:
        """From now on, refuse connections."""

        def refused() -> httpx.Response:
            raise httpx.ConnectError("connection refused")

        self.answer = refused

    async def aclose(self) -> None:
        self.closed += 1


def _listing(*names: str) -> httpx.Response:
    data = [{"id": name, "object": "model", "owned_by": "vllm"} for name in names]
    return httpx.Response(200, json={"object": "list", "data": data})


class Clock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _settings(*routes: ModelRoute, refresh: float = 10.0, key: str | None = None) -> ServerSettings:
    discovery = UpstreamDiscovery("chat", UPSTREAM, key, refresh_seconds=refresh)
    return ServerSettings(models=routes, discovery=discovery)


async def test_start_up_lists_the_upstreams_models_and_serves_them_under_their_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream = Upstream("meta-llama/Llama-3.1-8B", "qwen3")
    caplog.set_level(logging.INFO, logger="antiphon")
    async with (
        asyncio.timeout(_TIMEOUT),
        ModelRouter(_settings(key="sk-up"), transport=upstream, clock=Clock()) as router,
    ):
        served = await router.resolve("qwen3")
        assert served is not None
        assert served.upstream_model == "qwen3"
        assert served.engine.name == "chat"
        assert await router.names() == ["meta-llama/Llama-3.1-8B", "qwen3"]
    assert len(upstream.listings) == 1
    assert upstream.listings[0].headers["authorization"] == "Bearer sk-up"
    assert "meta-llama/Llama-3.1-8B, qwen3" in caplog.text
    assert f"{UPSTREAM}/models" in caplog.text


async def test_an_unknown_name_re_lists_at_most_once_per_interval() -> None:
    upstream = Upstream("a")
    clock = Clock()
    async with (
        asyncio.timeout(_TIMEOUT),
        ModelRouter(_settings(refresh=10.0), transport=upstream, clock=clock) as router,
    ):
        upstream.serve("a", "b")
        clock.now += 5
        assert await router.resolve("b") is None  # listed 5 s ago: not again yet
        assert await router.resolve("a") is not None  # a known name never lists
        assert len(upstream.listings) == 1
        clock.now += 5
        served = await router.resolve("b")
        assert served is not None
        assert served.upstream_model == "b"
        assert len(upstream.listings) == 2
        clock.now += 1
        assert await router.resolve("c") is None
        assert len(upstream.listings) == 2


async def test_concurrent_misses_share_one_listing() -> None:
    upstream = Upstream("a")
    clock = Clock()
    async with (
        asyncio.timeout(_TIMEOUT),
        ModelRouter(_settings(), transport=upstream, clock=clock) as router,
    ):
        upstream.serve("a", "new")
        clock.now += 60
        found = await asyncio.gather(*(router.resolve("new") for _ in range(8)))
    assert all(served is not None for served in found)
    assert len(upstream.listings) == 2


async def test_an_upstream_down_at_start_up_is_logged_and_listed_again_on_a_miss(
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream = Upstream()
    upstream.refuse()
    clock = Clock()
    async with (
        asyncio.timeout(_TIMEOUT),
        ModelRouter(_settings(), transport=upstream, clock=clock) as router,
    ):
        assert "cannot list the upstream's models" in caplog.text
        assert f"{UPSTREAM}/models" in caplog.text
        assert await router.names() == []
        upstream.serve("late")
        clock.now += 10
        served = await router.resolve("late")
        assert served is not None
        assert served.upstream_model == "late"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(503, text="loading"), "status 503: loading"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json={"models": ["a"]}), "expected"),
        (httpx.Response(200, json={"data": [{"name": "a"}]}), "expected"),
    ],
    ids=["status", "not-json", "no-data", "no-ids"],
)
async def test_a_failed_re_listing_keeps_the_models_already_known(
    caplog: pytest.LogCaptureFixture, answer: httpx.Response, reason: str
) -> None:
    upstream = Upstream("a")
    clock = Clock()
    async with (
        asyncio.timeout(_TIMEOUT),
        ModelRouter(_settings(), transport=upstream, clock=clock) as router,
    ):
        upstream.answer = lambda: answer
        clock.now += 10
        assert await router.resolve("b") is None
        assert await router.names() == ["a"]
    assert len(upstream.listings) == 2
    assert reason in caplog.text
    assert "still serving: a" in caplog.text


async def test_configured_routes_rename_and_win_over_discovered_names() -> None:
    upstream = Upstream("org/real", "pinned")
    renamed = ModelRoute("short", "chat", "http://upstream:8000/v1", upstream_model="org/real")
    pinned = ModelRoute("pinned", "harmony", "http://other:9000/v1")
    async with (
        asyncio.timeout(_TIMEOUT),
        ModelRouter(_settings(renamed, pinned), transport=upstream, clock=Clock()) as router,
    ):
        short = await router.resolve("short")
        own = await router.resolve("org/real")
        mine = await router.resolve("pinned")
        assert await router.names() == ["short", "pinned", "org/real"]
    assert short is not None
    assert own is not None
    assert mine is not None
    assert (short.upstream_model, own.upstream_model) == ("org/real", "org/real")
    assert (mine.upstream_model, mine.engine.name) == ("pinned", "harmony")


async def test_without_discovery_an_unknown_name_lists_nothing() -> None:
    upstream = Upstream("a")
    route = ModelRoute("m", "chat", UPSTREAM)
    async with (
        asyncio.timeout(_TIMEOUT),
        ModelRouter(ServerSettings(models=(route,)), transport=upstream, clock=Clock()) as router,
    ):
        assert await router.resolve("a") is None
        assert await router.names() == ["m"]
    assert upstream.listings == []


async def test_a_route_that_fails_to_build_closes_the_clients_built_before_it(
    tmp_path: Path,
) -> None:
    upstream = Upstream("a")
    good = ModelRoute("good", "chat", UPSTREAM)
    bad = ModelRoute("bad", "scripted", script=tmp_path / "missing.json")
    router = ModelRouter(ServerSettings(models=(good, bad)), transport=upstream, clock=Clock())
    with pytest.raises(ConfigurationError, match="cannot read the script"):
        async with router:
            pytest.fail("the router started with a missing script")
    assert upstream.closed == 1


async def test_leaving_the_router_closes_every_client() -> None:
    upstream = Upstream("a")
    route = ModelRoute("m", "chat", UPSTREAM)
    async with ModelRouter(_settings(route), transport=upstream, clock=Clock()):
        assert upstream.closed == 0
    assert upstream.closed == 2  # the route's client and the discovery client


@pytest.mark.parametrize("stream", [True, False])
async def test_a_route_asks_its_chat_upstream_streamed_or_not_as_configured(stream: bool) -> None:
    bodies: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if stream:
            chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}
            return httpx.Response(200, text=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n")
        message = {"role": "assistant", "content": "hi"}
        return httpx.Response(
            200, json={"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
        )

    route = ModelRoute("m", "chat", UPSTREAM, upstream_stream=stream)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), base_url=f"{UPSTREAM}/"
    ) as client:
        engine = build_engine(route, client=client)
        request = EngineRequest(
            model="m", history=(HistorySegment(({"role": "user", "content": "x"},)),)
        )
        async with aclosing(engine.stream(request)) as events:
            texts = [event.text async for event in events if isinstance(event, ItemDelta)]
    assert texts == ["hi"]
    assert [body["stream"] for body in bodies] == [stream]
