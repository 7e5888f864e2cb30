"""The ASGI application of ``antiphon serve``.

:func:`create_app` wires the parts: the store and the engines (a
:class:`~antiphon.server.engines.ModelRouter`) are opened in the lifespan, each entered into one
exit stack as soon as it exists, so whatever fails to start closes what started before it; the
:class:`~antiphon.responses.service.ResponsesService` owns every run, routes only translate HTTP.
Every error leaves as an OpenAI-style body (see :mod:`antiphon.server.errors`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from antiphon._version import __version__
from antiphon.exceptions import InvalidRequestError
from antiphon.responses.plan import TurnLimits
from antiphon.responses.request import RequestLimits
from antiphon.responses.runtime import ToolRuntime
from antiphon.responses.service import ResponsesService
from antiphon.server import routes
from antiphon.server.auth import BearerAuth
from antiphon.server.client_secret_route import create_client_secret
from antiphon.server.client_secrets import ClientSecretStore
from antiphon.server.cluster import open_shared, readiness
from antiphon.server.engines import ModelRouter
from antiphon.server.errors import (
    error_response,
    handle_client_disconnect,
    handle_invalid_request,
    handle_unexpected,
)
from antiphon.server.guard import RequestGuard, normalize_origin
from antiphon.server.instrument import Instrument
from antiphon.server.observed import (
    ObservedCatalog,
    ObservedContainers,
    ObservedMcp,
    ObservedRuns,
)
from antiphon.server.observed_store import ObservedStore
from antiphon.server.openapi import openapi_document, render_docs
from antiphon.server.playground_routes import playground_routes
from antiphon.server.prometheus import PrometheusMetrics, metrics_endpoint
from antiphon.server.realtime import realtime_endpoint
from antiphon.server.realtime_bounds import RealtimeSessions
from antiphon.server.settings import ServerSettings
from antiphon.server.speech_setup import close_speech, open_speech
from antiphon.server.tracing import NoTracing, OtelTracing, open_tracing
from antiphon.server.warmup import warm_up
from antiphon.store.base import ResponseStore, StoreLimits
from antiphon.store.factory import open_store
from antiphon.tools.mcp import McpClientPool, build_registry

__all__ = ["StoreOpener", "create_app"]

_log = logging.getLogger("antiphon.server")

#: Opens the store a ``--store`` value names (:func:`~antiphon.store.factory.open_store`).
StoreOpener = Callable[[str | None, StoreLimits], Awaitable[ResponseStore]]


def create_app(
    settings: ServerSettings,
    *,
    store_opener: StoreOpener = open_store,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    client_secrets: ClientSecretStore | None = None,
    metrics: PrometheusMetrics | None = None,
    tracing: NoTracing | OtelTracing | None = None,
) -> Starlette:
    """The Starlette app serving ``settings``.

    ``store_opener`` and ``upstream_transport`` (every upstream request goes through it instead
    of the network) let tests run the whole app in memory; ``client_secrets`` holds the
    ephemeral realtime keys (a new store by default; tests inject one with their own clock).
    ``metrics`` collects what ``GET /metrics`` shows (a registry of the app's own by default);
    ``tracing`` makes the OpenTelemetry spans (by default as the ``OTEL_*`` variables ask, see
    :func:`~antiphon.server.tracing.open_tracing`).
    """
    started = int(time.time())
    metrics = PrometheusMetrics() if metrics is None else metrics

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncGenerator[None]:
        async with contextlib.AsyncExitStack() as stack:
            traces = open_tracing(os.environ) if tracing is None else tracing
            if isinstance(traces, OtelTracing):
                stack.callback(traces.shutdown)  # last out: flushes every span made before
            app.state.tracing = traces  # the instrument continues a client's traceparent
            store = await store_opener(settings.store, settings.store_limits)
            stack.push_async_callback(store.close)
            shared = await open_shared(settings.store, store)  # other workers' signals
            if shared.signals is not None:
                stack.push_async_callback(shared.signals.close)
            app.state.store = store
            # Observed around the shared store: the signals wiring needs the PostgreSQL store.
            observed = ObservedStore(shared.store, metrics, traces)
            router = await stack.enter_async_context(
                ModelRouter(settings, transport=upstream_transport)
            )
            catalog = ObservedCatalog(router, metrics, traces)
            runtime = ToolRuntime(
                mcp_servers=build_registry(settings.mcp_servers),
                mcp=ObservedMcp(await stack.enter_async_context(McpClientPool()), metrics, traces)
                if settings.mcp_servers
                else None,
                code=(
                    await stack.enter_async_context(
                        ObservedContainers(settings.sandbox_limits, settings.sandbox_policy)
                    )
                ).observe(metrics, traces)
                if settings.code_interpreter
                else None,
            )
            service = ResponsesService(
                catalog,
                observed,
                max_tool_loops=settings.max_tool_loops,
                tools=runtime,
                max_record_bytes=settings.store_limits.max_response_bytes,
                purge_interval=settings.store_limits.purge_interval_seconds,
                response_deadline_seconds=settings.response_deadline_seconds,
                signals=shared.signals,
                takeover_interval=shared.takeover_interval,
                drain_seconds=shared.drain_seconds,
                observer=ObservedRuns(metrics, traces),
            )
            app.state.service = await stack.enter_async_context(service)
            app.state.models = catalog
            # /v1/realtime runs its responses on the same tools and under the same limits.
            app.state.tool_runtime = runtime
            app.state.turn_limits = TurnLimits(
                settings.max_tool_loops, settings.response_deadline_seconds
            )
            app.state.speech = speech = open_speech(settings.speech)
            if speech is not None:
                stack.push_async_callback(close_speech, speech)
            try:
                await warm_up()  # the first request is as fast as the next ones
            except Exception:  # only speed is at stake: never refuse to start over it
                _log.warning("warm-up failed; the first requests will be slower", exc_info=True)
            # Everything built so far lives as long as the server: moved out of the collector's
            # reach, a full collection under load no longer walks (and stalls every stream on)
            # the ~200k objects of the imported libraries (measured: 200 ms pauses, gone).
            gc.collect()
            gc.freeze()
            app.state.ready = True
            yield
            app.state.ready = False  # shutting down: load balancers stop sending work here

    async def models(request: Request) -> Response:
        router: ObservedCatalog = request.app.state.models
        data = [
            {"id": name, "object": "model", "created": started, "owned_by": "antiphon"}
            for name in await router.names()
        ]
        return JSONResponse({"object": "list", "data": data})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def ready(request: Request) -> Response:
        return await readiness(request.app.state)

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def docs(request: Request) -> Response:
        return HTMLResponse(render_docs())

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(404, f"Unknown path {request.url.path}.", code="not_found")

    # Outermost first: the guard refuses forged and oversize requests before anything reads
    # them; CORS answers the preflights of allowed origins, which carry no API key.
    middleware = [
        Middleware(Instrument, metrics=metrics),
        Middleware(
            RequestGuard,
            host=settings.host,
            port=settings.port,
            max_body_bytes=settings.max_body_bytes,
            allow_origins=settings.allow_origins,
        ),
    ]
    if settings.allow_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=[
                    o if o == "*" else normalize_origin(o) for o in settings.allow_origins
                ],
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["authorization", "content-type"],
            )
        )
    # Ephemeral realtime keys live in this process only (one store per worker).
    client_secrets = ClientSecretStore() if client_secrets is None else client_secrets
    # Always installed: even without an API key, a spent ephemeral key is refused.
    middleware.append(
        Middleware(BearerAuth, api_key=settings.api_key or None, client_secrets=client_secrets)
    )
    app = Starlette(
        routes=[
            Route("/v1/responses", routes.create, methods=["POST"]),
            Route("/v1/responses", routes.list_responses, methods=["GET"]),
            Route("/v1/responses/{response_id}", routes.retrieve, methods=["GET"]),
            Route("/v1/responses/{response_id}", routes.delete, methods=["DELETE"]),
            Route("/v1/responses/{response_id}/cancel", routes.cancel, methods=["POST"]),
            Route("/v1/responses/{response_id}/input_items", routes.input_items, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
            WebSocketRoute("/v1/realtime", realtime_endpoint),
            Route("/v1/realtime/client_secrets", create_client_secret, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
            *playground_routes(),
        ],
        middleware=middleware,
        exception_handlers={
            InvalidRequestError: handle_invalid_request,
            ClientDisconnect: handle_client_disconnect,
            404: not_found,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.keepalive = settings.keepalive
    app.state.ready = False
    app.state.metrics = metrics
    app.state.client_secrets = client_secrets
    app.state.realtime_sessions = RealtimeSessions(settings.realtime)
    app.state.request_limits = RequestLimits(
        allow_private_media_urls=settings.allow_private_media_urls
    )
    return app
