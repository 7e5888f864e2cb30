"""Bearer-key authentication as plain ASGI middleware (it never buffers a streamed body)."""

from __future__ import annotations

import hmac
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from antiphon.server.client_secrets import SECRET_PREFIX, ClientSecretStore
from antiphon.server.errors import error_response

__all__ = ["CLIENT_SECRET_SCOPE_KEY", "REALTIME_PATH", "BearerAuth"]

# The playground's page and assets hold no data (the page sends the key the user types with
# each API call); a browser cannot put a Bearer header on a navigation.
_OPEN_PATHS = frozenset({"/health", "/", "/playground"})
_OPEN_PREFIX: Final = "/playground/assets/"
#: The only route an ephemeral client secret opens.
REALTIME_PATH: Final = "/v1/realtime"
#: Where a WebSocket's still-unredeemed ephemeral secret is handed to the realtime endpoint.
CLIENT_SECRET_SCOPE_KEY: Final = "antiphon.client_secret"
_SUBPROTOCOL_PREFIX: Final = "openai-insecure-api-key."


class BearerAuth:
    """Requires ``Authorization: Bearer <key>`` on every HTTP and WebSocket request.

    A WebSocket may instead offer the subprotocol ``openai-insecure-api-key.<key>``, as browser
    clients of ``/v1/realtime`` do (they cannot set headers); it is never echoed back.

    The key is compared with :func:`hmac.compare_digest` so the time taken does not reveal how
    much of a guess was right. ``/health`` stays open for load balancers, and so do ``/``, the
    playground's page and its static assets (:mod:`antiphon.server.playground`), which hold no
    data: every API call the page makes carries the key its user typed.

    With ``client_secrets``, a WebSocket to ``/v1/realtime`` may present a live ephemeral secret
    (``ek_...``, either way) instead of the key. It is only checked here: the endpoint redeems
    it (one session per secret) once it has room for the session, finding it in the scope under
    :data:`CLIENT_SECRET_SCOPE_KEY`. On every other route an ephemeral secret is a wrong key.
    Without ``api_key`` every request passes, but a dead ephemeral secret is still refused.
    """

    def __init__(
        self,
        app: ASGIApp,
        api_key: str | None,
        client_secrets: ClientSecretStore | None = None,
    ) -> None:
        self._app = app
        self._expected = None if api_key is None else f"Bearer {api_key}".encode()
        self._subprotocol = None if api_key is None else f"{_SUBPROTOCOL_PREFIX}{api_key}".encode()
        self._client_secrets = client_secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass authorised requests through; answer 401 (or close 1008) otherwise."""
        path: str = scope.get("path", "")
        if (
            scope["type"] not in ("http", "websocket")
            or path in _OPEN_PATHS
            or path.startswith(_OPEN_PREFIX)
        ):
            await self._app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        given = next((value for name, value in headers if name == b"authorization"), b"")
        if self._expected is not None and (
            hmac.compare_digest(given, self._expected) or self._subprotocol_matches(scope)
        ):
            await self._app(scope, receive, send)
            return
        secret = self._ephemeral_secret(scope, given)
        if secret is not None and self._client_secrets is not None:
            if self._client_secrets.is_valid(secret):
                await self._app({**scope, CLIENT_SECRET_SCOPE_KEY: secret}, receive, send)
                return
        elif self._expected is None:
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
        if scope["type"] != "websocket" or self._subprotocol is None:
            return False
        offered: list[str] = scope.get("subprotocols", [])
        # Every offer is compared, so the time taken does not depend on which one matched.
        matches = [hmac.compare_digest(p.encode(), self._subprotocol) for p in offered]
        return any(matches)

    def _ephemeral_secret(self, scope: Scope, authorization: bytes) -> str | None:
        """The ``ek_`` secret a ``/v1/realtime`` WebSocket presents, by header or subprotocol."""
        if scope["type"] != "websocket" or scope["path"] != REALTIME_PATH:
            return None
        bearer = authorization.decode("latin-1")
        if bearer.startswith(f"Bearer {SECRET_PREFIX}"):
            return bearer.removeprefix("Bearer ")
        offered: list[str] = scope.get("subprotocols", [])
        for protocol in offered:
            if protocol.startswith(_SUBPROTOCOL_PREFIX + SECRET_PREFIX):
                return protocol.removeprefix(_SUBPROTOCOL_PREFIX)
        return None
