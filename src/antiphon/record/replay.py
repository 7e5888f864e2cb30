"""Serving a cassette back: the replay app behind ``antiphon serve --replay``.

Each request is answered by the recorded exchange the :class:`~antiphon.record.book.ReplayBook`
picks: the recorded status, headers and body bytes, chunk by chunk, with the recorded timing
(``original``) or none (``fast``). A WebSocket session plays the recorded server frames and
waits for each recorded client frame in turn. A request that departs from the recording gets a
400 (an ``error`` event and close code 1008 on a WebSocket) whose message names the first
difference.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from antiphon.record.book import ReplayBook, ReplayMismatch, client_frame_difference
from antiphon.record.cassette import Chunk, Exchange
from antiphon.record.proxy import BodyTooLarge, decode_body, read_body, too_large

__all__ = ["Timing", "create_replay_app"]

Timing = Literal["original", "fast"]
_CODE = "replay_mismatch"


def create_replay_app(exchanges: Sequence[Exchange], *, timing: Timing = "fast") -> Starlette:
    """An app answering with ``exchanges`` (:func:`~antiphon.record.cassette.read_cassette`)."""
    book = ReplayBook(exchanges)
    lock = asyncio.Lock()  # one request picks its exchange at a time

    async def answer(request: Request) -> Response:
        try:
            raw = await read_body(request)
        except BodyTooLarge as exc:
            return too_large(exc)
        async with lock:
            try:
                exchange = book.take_http(
                    request.method,
                    request.url.path,
                    list(request.query_params.multi_items()),
                    decode_body(raw),
                )
            except ReplayMismatch as mismatch:
                error = {
                    "message": f"replay: {mismatch}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": _CODE,
                }
                return JSONResponse({"error": error}, status_code=400)
        return StreamingResponse(
            _play(exchange.chunks, timing),
            status_code=exchange.status,
            headers=dict(exchange.response_headers),
        )

    async def session(websocket: WebSocket) -> None:
        async with lock:
            try:
                exchange = book.take_websocket(
                    websocket.url.path, list(websocket.query_params.multi_items())
                )
            except ReplayMismatch:
                await websocket.close(code=1008)
                return
        await websocket.accept()
        started = time.monotonic()
        try:
            for frame in exchange.frames:
                if frame.sender == "server":
                    await _wait_until(started, frame.t, timing)
                    await websocket.send_text(frame.data)
                    continue
                text = await websocket.receive_text()
                difference = client_frame_difference(frame.data, _loads(text))
                if difference is not None:
                    await _refuse(
                        websocket,
                        f"replay: the client event departs from the recording at {difference}",
                    )
                    return
            await websocket.close()
        except WebSocketDisconnect:
            return

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            WebSocketRoute("/v1/{path:path}", session),
            Route("/v1/{path:path}", answer, methods=methods),
        ]
    )


async def _play(chunks: Sequence[Chunk], timing: Timing) -> AsyncIterator[bytes]:
    started = time.monotonic()
    for chunk in chunks:
        await _wait_until(started, chunk.t, timing)
        yield chunk.data


async def _wait_until(started: float, offset: float, timing: Timing) -> None:
    # Pacing, not synchronisation: "original" reproduces the recorded gaps between chunks.
    if timing == "original":
        delay = started + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _refuse(websocket: WebSocket, message: str) -> None:
    event = {
        "type": "error",
        "event_id": "event_replay",
        "error": {"type": "invalid_request_error", "code": _CODE, "message": message},
    }
    await websocket.send_text(json.dumps(event))
    await websocket.close(code=1008, reason="replay mismatch")
