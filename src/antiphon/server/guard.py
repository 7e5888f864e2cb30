"""Refusing what a browser could forge, and bodies too large to read, before any route runs.

A server without ``--api-key`` answers whoever reaches its socket, web pages included: any site
can make a visitor's browser POST to ``http://127.0.0.1:8000`` with a "simple" content type (no
CORS preflight asked), and a DNS-rebinding page can point its own hostname at 127.0.0.1 and read
the answers. :class:`RequestGuard` checks, in this order:

* ``Host``, on a loopback bind only: it must name a loopback address (``localhost``,
  ``127.0.0.1``, ``[::1]`` or the bound address) at the port the request arrived on (421 else).
  A rebinding page's requests carry its own hostname, so they stop here.
* ``Origin``, when a request has one: the server's own origin or one the operator allowed
  (``--allow-origin``), else 403. Requests without it (SDKs, curl) pass: browsers always send it
  cross-site on POST and on ``fetch``.
* ``Content-Type`` of a body sent with POST, PUT or PATCH: ``application/json`` only (415 else), a
  type no page can send cross-site without a preflight.
* Size: a body above ``max_body_bytes`` is a 413, at once when ``Content-Length`` says so, else as
  soon as the streamed (chunked) body passes the limit; nothing reads it whole first.

Plain ASGI, like :class:`~antiphon.server.auth.BearerAuth`: it never buffers a body.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from antiphon.exceptions import ConfigurationError, InvalidRequestError
from antiphon.server.errors import error_response

__all__ = ["RequestGuard", "is_loopback_host", "normalize_origin"]

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_PORT = re.compile(r"[0-9]{1,5}")
# A Host header's name part: a DNS name or an IPv4 literal; IPv6 literals come in brackets.
_HOSTNAME = re.compile(r"[A-Za-z0-9.-]+")


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` listens on loopback only (``localhost`` or a loopback address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case without a default port, as browsers send it.

    Raises :class:`ConfigurationError` for anything but an http(s) origin: a path, query,
    credentials or the opaque ``null`` origin.
    """
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{origin!r} is not an origin: {exc}") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if (
        scheme not in ("http", "https")
        or not host
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ConfigurationError(
            f"{origin!r} is not an origin: expected scheme://host[:port], as http or https"
        )
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


class RequestGuard:
    """ASGI middleware applying the checks of the module docstring to HTTP and WebSocket requests.

    ``host`` and ``port`` are the bound address (``port`` is used only when the ASGI server does
    not report the socket's own); ``allow_origins`` may hold ``"*"`` for any origin.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        max_body_bytes: int,
        allow_origins: Sequence[str] = (),
    ) -> None:
        self._app = app
        self._loopback = is_loopback_host(host)
        self._names = _LOOPBACK_NAMES | {host.lower().strip("[]")}
        self._port = port
        self._max_body = max_body_bytes
        self._any_origin = "*" in allow_origins
        self._origins = frozenset(normalize_origin(o) for o in allow_origins if o != "*")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass acceptable requests on (a body counted as it is read); refuse the others."""
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = self._check_host(scope, headers) or self._check_origin(scope, headers)
        if problem is None and scope["type"] == "http":
            problem = self._check_body(scope, headers)
        if problem is not None:
            await _refuse(problem, scope, receive, send)
            return
        if scope["type"] == "http":
            receive = _counting(receive, self._max_body)
        await self._app(scope, receive, send)

    def _check_host(self, scope: Scope, headers: Headers) -> InvalidRequestError | None:
        if not self._loopback:
            return None
        values = headers.getlist("host")
        split = _split_host(values[0]) if len(values) == 1 else None
        if split is not None:
            name, port = split
            scheme = str(scope.get("scheme", "http"))
            server = scope.get("server")
            # The port the request arrived on: the one bound, even when --port 0 chose it.
            bound = server[1] if server is not None and server[1] is not None else self._port
            if name in self._names and (port or _DEFAULT_PORTS.get(scheme, 80)) == bound:
                return None
        return InvalidRequestError(
            "The Host header must name this server's loopback address and port "
            "(localhost, 127.0.0.1 or [::1]).",
            param="Host",
            code="invalid_host",
            status=421,
        )

    def _check_origin(self, scope: Scope, headers: Headers) -> InvalidRequestError | None:
        values = headers.getlist("origin")
        if not values or self._any_origin:
            return None
        if len(values) == 1:
            try:
                origin = normalize_origin(values[0])
            except ConfigurationError:
                origin = None  # "null" (sandboxed frames, file: pages) is never allowed
            if origin is not None and (origin in self._origins or origin == _own(scope, headers)):
                return None
        shown = values[0][:100]
        return InvalidRequestError(
            f"Requests from the origin {shown!r} are not allowed; the operator can allow it "
            "with --allow-origin.",
            param="Origin",
            code="origin_not_allowed",
            status=403,
        )

    def _check_body(self, scope: Scope, headers: Headers) -> InvalidRequestError | None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isascii() or not length.isdigit() or len(length) > 20:
                return InvalidRequestError(
                    "Content-Length must be a number of bytes.", param="Content-Length"
                )
            if int(length) > self._max_body:
                return _too_large(self._max_body)
        has_body = (length is not None and int(length) > 0) or "transfer-encoding" in headers
        if not has_body or scope["method"] not in _BODY_METHODS:
            return None
        given = headers.get("content-type", "")
        if given.split(";", 1)[0].strip().lower() == "application/json":
            return None
        shown = repr(given[:100]) if given else "none"
        return InvalidRequestError(
            f"Content-Type must be application/json, not {shown}.",
            param="Content-Type",
            code="unsupported_media_type",
            status=415,
        )


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a Host header value, the name lower case and unbracketed."""
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, colon, port_text = value.partition(":")
        if not _HOSTNAME.fullmatch(name):
            return None
        port_text = port_text if colon else None
    if port_text is None:
        return name.lower(), None
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        return None
    return name.lower(), int(port_text)


def _own(scope: Scope, headers: Headers) -> str | None:
    """The origin a page served by this server has (its scheme and the Host it was asked by)."""
    host = headers.get("host")
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(str(scope.get("scheme")), scope.get("scheme"))
    try:
        return normalize_origin(f"{scheme}://{host}")
    except ConfigurationError:
        return None


def _too_large(limit: int) -> InvalidRequestError:
    return InvalidRequestError(
        f"The request body is larger than this server's limit of {limit} bytes (max_body_bytes).",
        param=None,
        code="request_too_large",
        status=413,
    )


def _counting(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises a 413 once the body read so far passes ``limit`` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # Raised inside the route that reads the body: its error handler answers 413.
                raise _too_large(limit)
        return message

    return counted


async def _refuse(problem: InvalidRequestError, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": problem.code})
        return
    response = error_response(
        problem.status, problem.message, param=problem.param, code=problem.code
    )
    await response(scope, receive, send)
