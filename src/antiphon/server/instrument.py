"""The HTTP and WebSocket boundary, observed: metrics and the log context of each request.

:class:`Instrument` is plain ASGI middleware, outermost, so refused requests are counted too. For
every request it puts a :class:`~antiphon.server.logs.LogContext` in place (a request id, taken
from a well-formed ``X-Request-Id`` header or made up, and echoed in the answer's headers), then
watches what the app sends: the status, whether the answer is an event stream, how many events
each body chunk carries (SSE frames start with ``event:`` and JSON data never holds a raw newline,
so counting a blank line then ``event:`` is exact), when the first one left, and, on
``/v1/realtime``, the server events of the session. It never reads or buffers a body.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Final

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from antiphon.server.logs import LogContext, log_context
from antiphon.server.metrics import Metrics
from antiphon.server.tracing import NoTracing, Tracing

__all__ = ["Instrument"]

_REQUEST_ID: Final = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_RESPONSE_PATH: Final = re.compile(r"/v1/responses/(resp_[A-Za-z0-9]+)")
_FRAME: Final = b"\n\nevent: "
_FIRST_FRAME: Final = b"event: "
_NO_TRACING: Final = NoTracing()


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
            return value.decode()
    return f"req_{secrets.token_hex(12)}"


def _route(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (``unmatched`` for none)."""
    route: BaseRoute | None = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # Refused before routing (auth, guard), or routed on a copy of the scope (a WebSocket with
    # an ephemeral key): match it here, on the rare path only.
    routes: list[BaseRoute] = getattr(scope.get("app"), "routes", [])
    for candidate in routes:
        match, _ = candidate.matches(scope)
        path = getattr(candidate, "path", None)
        if match != Match.NONE and isinstance(path, str):
            return path
    return "unmatched"


class Instrument:
    """Reports each request to ``metrics`` and gives it a log context (see the module doc)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, watching what is sent back."""
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        metrics = self._metrics
        started = time.perf_counter()
        context = LogContext(request_id=_request_id(scope))
        match = _RESPONSE_PATH.match(scope["path"])
        if match is not None:
            context.response_id = match.group(1)
        if kind == "websocket":
            context.session_id = f"sess_{secrets.token_hex(12)}"
        token = log_context.set(context)
        method = scope.get("method", "WS")
        timed_first = method == "POST"  # only a create's first event measures generation
        status, stream = 0, ""

        async def watched(message: Message) -> None:
            nonlocal timed_first, status, stream
            kind = message["type"]
            if kind == "http.response.body":
                if stream:
                    body: bytes = message.get("body", b"")
                    count = body.count(_FRAME) + body.startswith(_FIRST_FRAME)
                    if count:
                        if timed_first:
                            timed_first = False
                            metrics.first_event(time.perf_counter() - started)
                        metrics.events_sent("sse", count)
            elif kind == "websocket.send":
                metrics.events_sent("realtime", 1)
            elif kind == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", context.request_id.encode()))
                message = {**message, "headers": headers}
                for name, value in headers:
                    if name == b"content-type" and value.startswith(b"text/event-stream"):
                        stream = "sse"
                        metrics.stream_opened("sse")
            elif kind == "websocket.accept":
                status, stream = 101, "realtime"
                metrics.stream_opened("realtime")
            elif kind == "websocket.close" and not status:
                status = 403  # refused before the handshake completed
            await send(message)

        # Set by the lifespan; a request the app answers before it (or without one) has none.
        tracing: Tracing = getattr(scope["app"].state, "tracing", _NO_TRACING)
        try:
            with tracing.remote_parent(scope["headers"]):
                await self._app(scope, receive, watched)
        finally:
            if stream:
                metrics.stream_closed(stream)
            elapsed = time.perf_counter() - started
            metrics.request_done(_route(scope), method, status or 500, elapsed)
            log_context.reset(token)
