"""``antiphon record``'s pass-through proxy: every exchange relayed, timed and written down.

HTTP (Responses, SSE streams included) is relayed with httpx, chunk by chunk as it arrives; a
WebSocket (``/v1/realtime``) is relayed frame by frame both ways with ``websockets``. Each
exchange is redacted and appended to the cassette when it ends. ``upstream`` is the server's
base URL (``http://host:8000/v1``); a request for ``/v1/X`` goes to ``{upstream}/X``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from antiphon.exceptions import AntiphonError
from antiphon.record.cassette import (
    CassetteWriter,
    Chunk,
    Frame,
    HttpExchange,
    WebSocketExchange,
)
from antiphon.record.redact import redact_answer, redact_headers, redact_json, redact_query

__all__ = ["MAX_BODY_BYTES", "BodyTooLarge", "create_record_app", "decode_body", "read_body"]

#: the largest request body relayed or matched (``antiphon serve``'s default limit)
MAX_BODY_BYTES = 16 << 20

#: hop-by-hop and length headers: recomputed by each side, never relayed or recorded
_HOP = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "content-encoding",
        "accept-encoding",
    }
)
_WS_HEADERS = frozenset({"authorization", "openai-beta", "openai-organization", "openai-project"})
_MAX_FRAME = 16 << 20


class BodyTooLarge(AntiphonError):
    """A request body over :data:`MAX_BODY_BYTES`: answered 413, never buffered whole."""


async def read_body(request: Request) -> bytes:
    """The request body, read up to :data:`MAX_BODY_BYTES` (:class:`BodyTooLarge` above)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes")
    return bytes(body)


def too_large(exc: BodyTooLarge) -> JSONResponse:
    """The 413 answer to :class:`BodyTooLarge`."""
    error = {"message": str(exc), "type": "invalid_request_error", "param": None, "code": None}
    return JSONResponse({"error": error}, status_code=413)


def decode_body(raw: bytes) -> object:
    """A request body as recorded: JSON when it parses, else text (``None`` when empty)."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def create_record_app(upstream: str, writer: CassetteWriter) -> Starlette:
    """The recording proxy in front of ``upstream``, writing to ``writer``."""
    base = upstream.rstrip("/")
    origin = time.monotonic()
    client = httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0))

    async def relay(request: Request) -> Response:
        return await _relay_http(request, base, client, writer, origin)

    async def relay_socket(websocket: WebSocket) -> None:
        await _relay_socket(websocket, base, writer, origin)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncGenerator[None]:
        async with client:
            yield

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            WebSocketRoute("/v1/{path:path}", relay_socket),
            Route("/v1/{path:path}", relay, methods=methods),
        ],
        lifespan=lifespan,
    )


def _forwarded(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() not in _HOP]


async def _relay_http(
    request: Request, base: str, client: httpx.AsyncClient, writer: CassetteWriter, origin: float
) -> Response:
    started = time.monotonic()
    try:
        raw = await read_body(request)
    except BodyTooLarge as exc:
        return too_large(exc)
    path = request.url.path
    query = list(request.query_params.multi_items())
    # identity: the cassette and the client get the body as sent, never compressed bytes that
    # lost their content-encoding header on the way.
    headers = [*_forwarded(list(request.headers.items())), ("accept-encoding", "identity")]
    outgoing = client.build_request(
        request.method,
        base + path.removeprefix("/v1"),
        params=request.url.query,
        headers=headers,
        content=raw,
    )
    try:
        answer = await client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        # Not recorded: the upstream gave no answer to replay. The client learns why.
        message = f"antiphon record: the upstream could not be reached ({type(exc).__name__})"
        error = {"message": message, "type": "upstream_error", "param": None, "code": None}
        return JSONResponse({"error": error}, status_code=502)
    kept = _forwarded(list(answer.headers.items()))
    exchange = HttpExchange(
        started - origin,
        request.method,
        path,
        redact_query(query),
        redact_headers(headers),
        redact_json(decode_body(raw)),
        answer.status_code,
        redact_headers(kept),
    )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                exchange.chunks.append(Chunk(time.monotonic() - started, chunk))
                yield chunk
        finally:
            await answer.aclose()
            if answer.headers.get("content-type", "").startswith("application/json"):
                _redact_answer(exchange)
            writer.write(exchange)

    return StreamingResponse(body(), status_code=answer.status_code, headers=dict(kept))


async def _relay_socket(
    websocket: WebSocket, base: str, writer: CassetteWriter, origin: float
) -> None:
    started = time.monotonic()
    query = list(websocket.query_params.multi_items())
    headers = [(k, v) for k, v in websocket.headers.items() if k.lower() in _WS_HEADERS]
    target = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    url = target + websocket.url.path.removeprefix("/v1")
    if websocket.url.query:
        url += "?" + websocket.url.query
    exchange = WebSocketExchange(
        started - origin, websocket.url.path, redact_query(query), redact_headers(headers)
    )
    try:
        async with connect(url, additional_headers=headers, max_size=_MAX_FRAME) as upstream:
            await websocket.accept()
            await _pump_both(websocket, upstream, exchange, lambda: time.monotonic() - started)
    finally:
        for frame in exchange.frames:
            frame.data = _redacted_frame(frame.data, frame.sender)
        writer.write(exchange)


async def _pump_both(
    websocket: WebSocket,
    upstream: ClientConnection,
    exchange: WebSocketExchange,
    clock: Callable[[], float],
) -> None:
    async def from_client() -> None:
        try:
            while True:
                text = await websocket.receive_text()
                exchange.frames.append(Frame(clock(), "client", text))
                await upstream.send(text)
        except (WebSocketDisconnect, ConnectionClosed):
            await upstream.close()

    async def from_server() -> None:
        try:
            async for message in upstream:
                text = message if isinstance(message, str) else message.decode()
                exchange.frames.append(Frame(clock(), "server", text))
                await websocket.send_text(text)
            await websocket.close()
        except (WebSocketDisconnect, ConnectionClosed):
            pass  # the client left: from_client ends the upstream side

    # Whichever side ends first ends the session: it cancels the other pump.
    tasks: list[asyncio.Task[None]] = []

    async def ending(pump: Callable[[], Awaitable[None]]) -> None:
        try:
            await pump()
        finally:
            for task in tasks:
                if task is not asyncio.current_task():
                    task.cancel()

    async with asyncio.TaskGroup() as group:
        tasks.append(group.create_task(ending(from_client)))
        tasks.append(group.create_task(ending(from_server)))


def _redact_answer(exchange: HttpExchange) -> None:
    """Issued secrets out of a JSON answer: it is kept as one chunk, at the time of its last."""
    if not exchange.chunks:
        return
    redacted = redact_answer(b"".join(chunk.data for chunk in exchange.chunks))
    if redacted is not None:
        exchange.chunks[:] = [Chunk(exchange.chunks[-1].t, redacted)]


def _redacted_frame(text: str, sender: str) -> str:
    if sender == "server":  # kept byte for byte unless it carries an issued secret
        redacted = redact_answer(text.encode())
        return text if redacted is None else redacted.decode()
    try:
        return json.dumps(redact_json(json.loads(text)), separators=(",", ":"))
    except ValueError:
        return text
