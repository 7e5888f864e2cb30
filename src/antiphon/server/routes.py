"""The HTTP routes of the Responses API: parse, call the service, answer or stream.

No protocol logic lives here: bodies are checked by :mod:`antiphon.responses.request`, runs are
driven by :class:`~antiphon.responses.service.ResponsesService`, events are encoded by
:mod:`antiphon.server.streaming`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import TypedDict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from antiphon.exceptions import (
    InvalidRequestError,
    UpstreamBusy,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamTimeout,
)
from antiphon.responses.request import (
    INT32_MAX,
    RequestLimits,
    decode_body,
    parse_create_body,
)
from antiphon.responses.run import LiveRun
from antiphon.responses.service import ResponsesService
from antiphon.server.errors import error_response
from antiphon.server.streaming import sse_body
from antiphon.store.base import ItemOrder, ItemQuery, ResponseQuery
from antiphon.wire.json import dump_json

__all__ = ["cancel", "create", "delete", "input_items", "list_responses", "retrieve"]

_log = logging.getLogger("antiphon.server")

_INTEGER = re.compile(r"-?[0-9]{1,10}")
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_BEFORE_FIRST_BYTE = (UpstreamConnectError, UpstreamHTTPError, UpstreamTimeout)


def _service(request: Request) -> ResponsesService:
    service: ResponsesService = request.app.state.service
    return service


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="application/json")


async def create(request: Request) -> Response:
    """``POST /v1/responses``."""
    # The guard middleware bounded the body's size and checked its content type.
    limits: RequestLimits = request.app.state.request_limits
    body = parse_create_body(decode_body(await request.body(), limits), limits)
    service = _service(request)
    run = await service.create(body)
    keepalive = request.app.state.keepalive
    if body.stream:
        return StreamingResponse(
            _stream_run(run, keepalive),
            media_type="text/event-stream",
            headers=_SSE_HEADERS,
        )
    if body.background:
        return _json(dump_json(run.final_response()))
    await _until_finished(run, request)
    return _final_answer(run)


async def _until_finished(run: LiveRun, request: Request) -> None:
    """Wait for a foreground run; when its client leaves, the run is cancelled.

    The server does not cancel a handler whose client disconnected (it only reports it on the
    ASGI ``receive`` channel), so a watcher reads that channel while the run goes on.
    """
    try:
        async with asyncio.TaskGroup() as group:
            watcher = group.create_task(_cancel_when_gone(run, request))
            await run.finished.wait()
            watcher.cancel()
    finally:
        if not run.finished.is_set():  # this handler itself was cancelled
            run.cancel()


async def _cancel_when_gone(run: LiveRun, request: Request) -> None:
    # The body was read whole: what comes next on the channel is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass
    _log.info("the client of response %s left before it finished: cancelling it", run.id)
    run.cancel()


async def _stream_run(run: LiveRun, keepalive: float) -> AsyncIterator[bytes]:
    try:
        async for frame in sse_body(run.follow(keepalive=keepalive)):
            yield frame
    finally:
        # Reached early only when the client disconnected (Starlette cancels the body).
        if not run.background and not run.finished.is_set():
            run.cancel()


def _final_answer(run: LiveRun) -> Response:
    record = run.loop.record
    error = record.upstream_error
    if isinstance(error, _BEFORE_FIRST_BYTE) and not record.produced_output:
        # Nothing came from the model: a gateway error says so more plainly than a body with
        # status "failed" (the failed response is stored all the same).
        message = f"The upstream model server failed: {error}"
        if isinstance(error, UpstreamBusy):
            return error_response(503, message, code="upstream_busy")
        if isinstance(error, UpstreamTimeout):
            return error_response(504, message, code="upstream_timeout")
        return error_response(502, message, code="bad_gateway")
    return _json(dump_json(run.final_response()))


async def retrieve(request: Request) -> Response:
    """``GET /v1/responses/{id}``, or its event stream with ``?stream=true&starting_after=N``."""
    response_id = request.path_params["response_id"]
    service = _service(request)
    if request.query_params.get("stream", "false").lower() != "true":
        return _json(await service.get(response_id))
    starting_after = _int_param(request, "starting_after", -1, low=-1)
    await service.get(response_id)  # a 404 before the stream starts, not inside it
    events = service.follow(response_id, starting_after, keepalive=request.app.state.keepalive)
    return StreamingResponse(
        sse_body(events, starting_after=starting_after),
        media_type="text/event-stream",
        headers=_SSE_HEADERS,
    )


async def delete(request: Request) -> Response:
    """``DELETE /v1/responses/{id}``."""
    response_id = request.path_params["response_id"]
    await _service(request).delete(response_id)
    return JSONResponse({"id": response_id, "object": "response.deleted", "deleted": True})


async def cancel(request: Request) -> Response:
    """``POST /v1/responses/{id}/cancel`` (background responses only)."""
    return _json(await _service(request).cancel(request.path_params["response_id"]))


async def input_items(request: Request) -> Response:
    """``GET /v1/responses/{id}/input_items?after=&limit=&order=``."""
    query = ItemQuery(**_page(request))
    page = await _service(request).input_items(request.path_params["response_id"], query)
    data = ",".join(item.data for item in page.items)
    first = json.dumps(page.items[0].id) if page.items else "null"
    last = json.dumps(page.items[-1].id) if page.items else "null"
    more = "true" if page.has_more else "false"
    body = (
        f'{{"object":"list","data":[{data}],"first_id":{first},"last_id":{last},"has_more":{more}}}'
    )
    return _json(body)


async def list_responses(request: Request) -> Response:
    """``GET /v1/responses?after=&limit=&order=``: stored responses, newest first by default."""
    query = ResponseQuery(**_page(request))
    page = await _service(request).list_responses(query)
    data = [
        {
            "id": r.id,
            "object": "response",
            "created_at": int(r.created_at),
            "status": r.status,
            "model": r.model,
            "previous_response_id": r.previous_response_id,
            "background": r.background,
        }
        for r in page.responses
    ]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": page.has_more,
        }
    )


class _Page(TypedDict):
    after: str | None
    limit: int
    order: ItemOrder


def _page(request: Request) -> _Page:
    """The ``after``, ``limit`` and ``order`` of a listing, checked."""
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequestError("order must be 'asc' or 'desc'.", param="order")
    limit = _int_param(request, "limit", 20, low=1, high=100)
    return {"after": request.query_params.get("after"), "limit": limit, "order": order}


def _int_param(
    request: Request, name: str, default: int, *, low: int, high: int = INT32_MAX
) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    # Plain ASCII digits only (int() also takes "1_000", " 7 " and other scripts' digits), and
    # a bounded value: a sequence number past any stream must not reach the store.
    if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
        raise InvalidRequestError(
            f"{name} must be an integer between {low} and {high}.", param=name
        )
    return int(value)
