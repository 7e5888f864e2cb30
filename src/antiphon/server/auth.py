"""Bearer-key authentication as plain ASGI middleware (it never buffers a streamed body)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from antiphon.server.errors import error_response

__all__ = ["BearerAuth"]

_OPEN_PATHS = frozenset({"/health"})


class BearerAuth:
    """Requires ``Authorization: Bearer <key>`` on every HTTP and WebSocket request.

    A WebSocket may instead offer the subprotocol ``openai-insecure-api-key.<key>``, as browser
    clients of ``/v1/realtime`` do (they cannot set headers); it is never echoed back.

    The key is compared with :func:`hmac.compare_digest` so the time taken does not reveal how
    much of a guess was right. ``/health`` stays open for load balancers.
    """

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._app = app
        self._expected = f"Bearer {api_key}".encode()
        self._subprotocol = f"openai-insecure-api-key.{api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass authorised requests through; answer 401 (or close 1008) otherwise."""
        if scope["type"] not in ("http", "websocket") or scope["path"] in _OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        given = next((value for name, value in headers if name == b"authorization"), b"")
        if hmac.compare_digest(given, self._expected) or self._subprotocol_matches(scope):
            await self._app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "invalid api key"})
            return
        response = error_response(
            401, "Incorrect API key provided.", code="invalid_api_key", param=None
        )
        await response(scope, receive, send)

    def _subprotocol_matches(self, scope: Scope) -> bool:
        if scope["type"] != "websocket":
            return False
        offered: list[str] = scope.get("subprotocols", [])
        # Every offer is compared, so the time taken does not depend on which one matched.
        matches = [hmac.compare_digest(p.encode(), self._subprotocol) for p in offered]
        return any(matches)
