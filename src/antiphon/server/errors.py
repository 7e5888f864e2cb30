"""OpenAI-style error bodies, and the one place exceptions become HTTP answers.

Clients (the official SDKs included) read ``{"error": {"message", "type", "param", "code"}}``.
Only antiphon's own messages go on the wire: an unexpected exception is logged with its stack
and answered with a generic 500, never with its text. A client that leaves while it sends its
request is an ordinary event, logged in one line at info level, with no stack.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from antiphon.exceptions import InvalidRequestError

__all__ = [
    "error_response",
    "handle_client_disconnect",
    "handle_invalid_request",
    "handle_unexpected",
]

_log = logging.getLogger("antiphon.server")

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error"}


def error_response(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> JSONResponse:
    """An OpenAI-shaped error answer."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    # A message may quote the client's text; one it could not encode must not turn into a 500.
    message = _encodable(message)
    param = None if param is None else _encodable(param)
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


async def handle_invalid_request(request: Request, exc: Exception) -> Response:
    """Starlette handler for :class:`InvalidRequestError`."""
    assert isinstance(exc, InvalidRequestError)
    return error_response(exc.status, exc.message, param=exc.param, code=exc.code)


async def handle_client_disconnect(request: Request, exc: Exception) -> Response:
    """Starlette handler for :class:`ClientDisconnect`: one info line, no stack trace.

    Registered as its own handler (not left to :func:`handle_unexpected`), so that Starlette
    does not re-raise it to the server, which would log a second stack trace. The answer goes
    nowhere: the server drops what is sent to a client that left.
    """
    assert isinstance(exc, ClientDisconnect)
    _log.info(
        "the client left during %s %s before its request was read whole",
        request.method,
        request.url.path,
    )
    return Response(status_code=400)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Starlette handler of last resort: log the stack, say nothing internal."""
    # The log line names the exception even when it has no text (many have none).
    _log.error(
        "unhandled %s on %s %s: %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        str(exc) or repr(exc),
        exc_info=exc,
    )
    return error_response(
        500, "The server had an error processing the request.", code="server_error"
    )


def _encodable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
