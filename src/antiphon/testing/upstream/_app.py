"""The stand-in upstream as a Starlette app: scripted SSE streams with fault injection.

Role: serve ``POST /v1/chat/completions`` and ``POST /v1/completions`` the way OpenAI-compatible
servers do (``text/event-stream``, ``data: {...}`` frames, a final ``data: [DONE]``), replaying
turns that tests register per model name through the control endpoints under ``/_control``:

* ``POST /_control/scripts/{model}`` ``{"turns": [turn, ...]}`` appends turns; each upstream
  request for that model plays the next one (none left: a 404 like vLLM's unknown model).
* ``GET /_control/requests/{model}`` lists the requests received (path, body, peer, outcome).
* ``GET /_control/requests/{model}/{index}/ended`` waits until that request's stream has ended
  and returns its outcome: ``completed``, ``cut``, ``disconnected`` (the client went away) or
  ``status`` (an error status was answered).
* ``POST /_control/release/{model}`` releases the model's stalled streams.

A turn is ``{"frames": [...], "status": int, "error": str, "cut_after": n, "stall_after": n,
"interval": seconds, "done": bool}``: JSON-object frames go out as ``data:`` lines, string frames
verbatim (malformed input); ``status`` answers an error before any byte; ``cut_after`` closes the
connection after ``n`` frames; ``stall_after`` goes silent after ``n`` frames until released or
disconnected; ``interval`` paces the frames (that many seconds between two, as a model emits
tokens; benchmarks use it).
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from antiphon.engines._http import JSONObject, as_int, as_list, as_object
from antiphon.testing.upstream._book import (
    DONE_FRAME,
    Record,
    ScriptBook,
    encode_frames,
    error_body,
)

__all__ = ["CUT_LOG_MESSAGE", "build_app"]

#: What uvicorn logs when a stream is cut on purpose (the entry point filters it out).
CUT_LOG_MESSAGE: Final = "ASGI callable returned without completing response."
_WAIT_LIMIT: Final = 30.0  # seconds a control long-poll may wait


class _ScriptedStream(Response):
    """Plays one turn's frames, watching for the client's disconnect while it does."""

    def __init__(self, turn: JSONObject, record: Record, release: asyncio.Event) -> None:
        super().__init__(media_type="text/event-stream")
        self._turn = turn
        self._record = record
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        outcome = "disconnected"
        try:
            async with asyncio.TaskGroup() as group:
                player = group.create_task(self._play(send))
                gone = group.create_task(_wait_disconnect(receive))
                await asyncio.wait({player, gone}, return_when=asyncio.FIRST_COMPLETED)
                if player.done():
                    outcome = player.result()
                player.cancel()
                gone.cancel()
        finally:
            self._record.end(outcome)
        # Returning without the final body frame makes the server drop the connection: a cut.

    async def _play(self, send: Send) -> str:
        frames = encode_frames(self._turn)
        cut_after = as_int(self._turn.get("cut_after"))
        stall_after = as_int(self._turn.get("stall_after"))
        interval = _seconds(self._turn.get("interval"))
        for index in range(len(frames) + 1):
            if interval and 0 < index < len(frames):
                await asyncio.sleep(interval)
            if index == stall_after:
                await self._release.wait()
            if index == cut_after:
                return "cut"
            if index < len(frames):
                await send({"type": "http.response.body", "body": frames[index], "more_body": True})
        if self._turn.get("done", True):
            await send({"type": "http.response.body", "body": DONE_FRAME, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return "completed"


def _seconds(value: object) -> float:
    """A turn's ``interval``: a number of seconds, 0 when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _error(message: str, status: int, kind: str = "BadRequestError") -> JSONResponse:
    return JSONResponse(error_body(message, status, kind), status)


def build_app() -> Starlette:
    """A fresh stand-in upstream app with its own scripts and records."""
    book = ScriptBook()

    async def serve(request: Request) -> Response:
        client = request.client
        peer = f"{client.host}:{client.port}" if client is not None else ""
        answer = book.answer(request.url.path, await request.body(), peer)
        if answer.turn is None:
            return JSONResponse(answer.error, answer.status)
        return _ScriptedStream(answer.turn, answer.record, book.release(answer.model))

    async def add_script(request: Request) -> Response:
        payload = as_object(await request.json()) or {}
        turns = [as_object(turn) for turn in as_list(payload.get("turns"))]
        if any(turn is None for turn in turns):
            return _error("turns must be JSON objects", 400)
        queued = book.add(request.path_params["model"], [t for t in turns if t is not None])
        return JSONResponse({"queued": queued})

    async def list_requests(request: Request) -> Response:
        records = book.records(request.path_params["model"])
        return JSONResponse([record.as_json() for record in records])

    async def wait_ended(request: Request) -> Response:
        records = book.records(request.path_params["model"])
        index = int(request.path_params["index"])
        if not -len(records) <= index < len(records):
            return _error(f"no request {index}", 404, "NotFoundError")
        record = records[index]
        try:
            async with asyncio.timeout(_WAIT_LIMIT):
                await record.ended.wait()
        except TimeoutError:
            return _error("the stream is still running", 408, "Timeout")
        return JSONResponse({"outcome": record.outcome})

    async def release(request: Request) -> Response:
        book.release(request.path_params["model"]).set()
        return JSONResponse({"released": True})

    async def list_models(request: Request) -> Response:
        data = [
            {"id": name, "object": "model", "owned_by": "antiphon"} for name in book.model_names
        ]
        return JSONResponse({"object": "list", "data": data})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", serve, methods=["POST"]),
            Route("/v1/completions", serve, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/_control/scripts/{model:path}", add_script, methods=["POST"]),
            Route("/_control/requests/{model:path}/{index:int}/ended", wait_ended, methods=["GET"]),
            Route("/_control/requests/{model:path}", list_requests, methods=["GET"]),
            Route("/_control/release/{model:path}", release, methods=["POST"]),
        ]
    )
