"""Which engine serves which model: the configured routes, and an upstream's own models.

:class:`ModelRouter` is the server's :class:`~antiphon.responses.catalog.ModelCatalog`. It builds
one engine per configured route and, when the settings ask for discovery
(:class:`~antiphon.server.settings.UpstreamDiscovery`), one more engine for that upstream, which
serves every model the upstream's ``GET /models`` lists, each under its own name. The list is
read at start-up, then again when a client names a model it does not hold or lists the models,
at most once every ``refresh_seconds``: an upstream that cannot be listed (still loading, down)
is logged and retried that way, never fatal. A configured route wins over a discovered model of
the same name, so ``--config`` can rename or pin models next to the discovered ones.

Every HTTP client and engine enters the router's exit stack as soon as it exists, so a route
that fails to build (a bad script) closes the ones built before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Final

import httpx

from antiphon._resource import AsyncResource
from antiphon.engines._h1_pool import H1Streams, fast_path_allowed
from antiphon.engines._http import UpstreamConfig, as_list, as_object, as_str
from antiphon.engines.base import Engine
from antiphon.engines.chat import ChatEngine, ChatOptions
from antiphon.engines.harmony import HarmonyEngine
from antiphon.engines.scripted import Script, ScriptedEngine, load_script
from antiphon.exceptions import (
    ConfigurationError,
    EngineError,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
)
from antiphon.responses.catalog import ServedModel
from antiphon.server.settings import (
    ModelRoute,
    ServerSettings,
    UpstreamApi,
    UpstreamDiscovery,
    UpstreamLimits,
)

__all__ = ["ModelRouter", "build_engine", "route_script"]

_log = logging.getLogger("antiphon.server")

_LIST_TIMEOUT: Final = 10.0  # seconds one model listing may take
_LIST_MAX_BYTES: Final = 8 << 20  # a listing is small; a runaway body is cut off here


def build_engine(
    route: ModelRoute,
    *,
    client: httpx.AsyncClient | None = None,
    streams: H1Streams | None = None,
    limits: UpstreamLimits | None = None,
) -> Engine:
    """The engine serving ``route`` (a script is loaded now, so a bad one fails at start-up).

    An upstream engine uses ``client`` (and ``streams``, for its streamed calls) when given (the
    caller closes them), else makes its own. ``limits`` are the server's upstream limits, under
    the route's own (default: the defaults).
    """
    if route.api == "scripted":
        return ScriptedEngine(route_script(route))
    config = _route_config(route, route.limits(limits or UpstreamLimits()))
    return _upstream_engine(route.api, config, client, streams, stream=route.upstream_stream)


def route_script(route: ModelRoute) -> Script:
    """The script of a scripted route; an unreadable file is a :class:`ConfigurationError`."""
    assert route.script is not None  # ModelRoute checks this
    try:
        return load_script(route.script)
    except OSError as exc:
        raise ConfigurationError(
            f"model {route.name!r}: cannot read the script {route.script}: {exc.strerror or exc}"
        ) from exc


def _upstream_engine(
    api: UpstreamApi,
    config: UpstreamConfig,
    client: httpx.AsyncClient | None,
    streams: H1Streams | None,
    *,
    stream: bool,
) -> Engine:
    if api == "chat":
        return ChatEngine(config, ChatOptions(stream=stream), client=client, streams=streams)
    if not stream:
        raise ConfigurationError("upstream_stream = false is only supported for chat upstreams")
    return HarmonyEngine(config, client=client, streams=streams)


class ModelRouter(AsyncResource):
    """The models ``settings`` serve; ``async with`` builds the engines and closes them.

    ``transport`` replaces the network for every upstream client (tests pass an in-memory
    one); ``clock`` is monotonic seconds, for the refresh interval.
    """

    def __init__(
        self,
        settings: ServerSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._discovery = settings.discovery
        self._transport = transport
        self._clock = clock
        self._routes: dict[str, ServedModel] = {}
        self._discovered: tuple[str, ...] = ()
        self._discovered_engine: Engine | None = None
        self._list_client: httpx.AsyncClient | None = None
        self._listed_at: float | None = None
        self._lock = asyncio.Lock()  # one listing at a time; the others wait for its result

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        limits = self._settings.upstream
        for route in self._settings.models:
            client = streams = None
            if route.api != "scripted":
                config = _route_config(route, route.limits(limits))
                client = self._client(config)
                stack.push_async_callback(client.aclose)
                streams = self._streams(config)
                if streams is not None:
                    stack.push_async_callback(streams.aclose)
            engine = build_engine(route, client=client, streams=streams, limits=limits)
            stack.push_async_callback(engine.aclose)
            self._routes[route.name] = ServedModel(engine, route.upstream_model or route.name)
        if self._discovery is not None:
            discovery = self._discovery
            config = _config(discovery.upstream_url, discovery.upstream_api_key, limits)
            self._list_client = self._client(config)
            stack.push_async_callback(self._list_client.aclose)
            streams = self._streams(config)
            if streams is not None:
                stack.push_async_callback(streams.aclose)
            engine = _upstream_engine(
                discovery.api,
                config,
                self._list_client,
                streams,
                stream=discovery.upstream_stream,
            )
            stack.push_async_callback(engine.aclose)
            self._discovered_engine = engine
            async with self._lock:
                await self._list(discovery)

    async def resolve(self, name: str) -> ServedModel | None:
        """The model served as ``name``; an unknown name re-lists the upstream when due."""
        served = self._lookup(name)
        if served is None and self._discovery is not None:
            await self.refresh()
            served = self._lookup(name)
        return served

    async def names(self) -> list[str]:
        """Every model name served: configured routes, then the upstream's (re-listed when due)."""
        await self.refresh()
        return [*self._routes, *(name for name in self._discovered if name not in self._routes)]

    async def refresh(self) -> None:
        """List the upstream's models again, unless that was done less than the interval ago."""
        discovery = self._discovery
        if discovery is None:
            return
        async with self._lock:
            # Checked under the lock: callers that waited for a listing use its result.
            if (
                self._listed_at is not None
                and self._clock() - self._listed_at < discovery.refresh_seconds
            ):
                return
            await self._list(discovery)

    def _lookup(self, name: str) -> ServedModel | None:
        served = self._routes.get(name)
        if served is None and name in self._discovered and self._discovered_engine is not None:
            served = ServedModel(self._discovered_engine, name)
        return served

    async def _list(self, discovery: UpstreamDiscovery) -> None:
        """Read the upstream's models; a failure keeps the last list and is only logged."""
        self._listed_at = self._clock()
        url = f"{discovery.upstream_url.rstrip('/')}/models"
        try:
            names = await self._fetch(url)
        except EngineError as exc:
            _log.warning(
                "cannot list the upstream's models at %s (%s); still serving: %s. Listing again "
                "when a client lists the models or names one not served, at most every %g s",
                url,
                exc,
                ", ".join(self._discovered) if self._discovered else "none",
                discovery.refresh_seconds,
            )
            return
        if not names:
            _log.warning("the upstream at %s lists no models", url)
        elif names != self._discovered:
            _log.info("serving the upstream's models from %s: %s", url, ", ".join(names))
        self._discovered = names

    async def _fetch(self, url: str) -> tuple[str, ...]:
        assert self._list_client is not None  # made before the first listing
        timeout = httpx.Timeout(_LIST_TIMEOUT, connect=self._list_client.timeout.connect)
        body = bytearray()
        try:
            async with self._list_client.stream("GET", "models", timeout=timeout) as response:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > _LIST_MAX_BYTES:
                        raise UpstreamProtocolError(f"the list is over {_LIST_MAX_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise UpstreamConnectError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            text = body[:500].decode("utf-8", errors="replace").strip()
            raise UpstreamHTTPError(text or response.reason_phrase, status=response.status_code)
        try:
            listing = as_object(json.loads(body))
        except ValueError as exc:
            raise UpstreamProtocolError(f"the answer is not JSON: {exc}") from exc
        entries = [as_object(entry) or {} for entry in as_list((listing or {}).get("data"))]
        names = [as_str(entry.get("id")) for entry in entries]
        if listing is None or "data" not in listing or not all(names):
            raise UpstreamProtocolError('expected {"data": [{"id": "MODEL"}, ...]}')
        # dict.fromkeys: one name once, in the upstream's order.
        return tuple(dict.fromkeys(name for name in names if name))

    def _streams(self, config: UpstreamConfig) -> H1Streams | None:
        """The lean path for streamed calls; none for a test's network or HTTPS and proxies."""
        if self._transport is not None or not fast_path_allowed(config.base_url):
            return None
        return H1Streams(config)

    def _client(self, config: UpstreamConfig) -> httpx.AsyncClient:
        if self._transport is None:
            return config.make_client()
        # The client make_client builds, over the injected transport.
        headers = dict(config.headers)
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        # The transport is the pool: a test's transport has none, so no pool limit applies.
        return httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=config.timeout(),
            transport=self._transport,
        )


def _route_config(route: ModelRoute, limits: UpstreamLimits) -> UpstreamConfig:
    assert route.upstream_url is not None  # ModelRoute checks this for upstream routes
    return _config(route.upstream_url, route.upstream_api_key, limits)


def _config(url: str, api_key: str | None, limits: UpstreamLimits) -> UpstreamConfig:
    return UpstreamConfig(
        base_url=url,
        api_key=api_key,
        connect_timeout=limits.connect_timeout,
        stall_timeout=limits.stall_timeout,
        deadline_seconds=limits.deadline_seconds,
        max_connections=limits.max_connections,
        pool_timeout=limits.pool_timeout,
    )
