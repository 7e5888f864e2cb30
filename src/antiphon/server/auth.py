"""Bearer-key authentication as plain ASGI middleware (it never buffers a streamed body)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from antiphon.server.errors import error_response

__all__ = ["BearerAuth"]

_OPEN_PATHS = frozenset({"/health"})


class BearerAuth:
    """Requires ``Authorization: Bearer <key>`` on every HTTP and WebSocket request.

    The key is compared with :func:`hmac.compare_digest` so the time taken does not reveal how
    much of a guess was right. ``/health`` stays open for load balancers.
    """

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass authorised requests through; answer 401 (or close 1008) otherwise."""
        if scope["type"] not in ("http", "websocket") or scope["path"] in _OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        given = next((value for name, value in headers if name == b"authorization"), b"")
        if hmac.compare_digest(given, self._expected):
            await self._app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "invalid api key"})
            return
        response = error_response(
            401, "Incorrect API key provided.", code="invalid_api_key", param=None
        )
        await response(scope, receive, send)
