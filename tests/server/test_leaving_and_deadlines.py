"""The app in memory when clients leave and upstreams never finish.

A client that leaves a non-streaming request cancels its run, which closes the upstream request
and stores the response ``cancelled``; one that leaves mid-upload is one info line, no stack
trace. An upstream that never ends (silent, or trickling) fails the response at the upstream
call's deadline or the response's, and the error names which one.

Requests go to the ASGI app directly: a ``receive`` callable reports the disconnect (neither
httpx's ASGI transport nor Starlette's test client can); the upstream is an
``httpx.MockTransport`` whose bodies record when they are closed. No socket anywhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message, Scope

from antiphon.server.app import create_app
from antiphon.server.settings import ModelRoute, ServerSettings, UpstreamLimits
from antiphon.testing.upstream import chat_chunks

_GUARD = 10.0  # the old behaviour hangs; the tests fail instead
_UPSTREAM = "http://upstream.test/v1"
_ROLE_CHUNK = b"data: " + json.dumps(chat_chunks(content=["x"])[0]).encode() + b"\n\n"


class _Held(httpx.AsyncByteStream):
    """An upstream body: a first chunk, then nothing (or a comment per tick) until closed."""

    def __init__(self, started: asyncio.Event, *, trickle: bool) -> None:
        self._trickle = trickle
        self.started = started  # set once the first chunk was read
        self.closed = asyncio.Event()
        self.read_to_end = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield _ROLE_CHUNK
        self.started.set()
        while self._trickle:
            yield b":\n"
            await asyncio.sleep(0)  # one loop tick
        await asyncio.Event().wait()  # never set: only a cancellation gets past this
        self.read_to_end = True

    async def aclose(self) -> None:
        self.closed.set()


class HeldUpstream:
    """Answers every chat request with a :class:`_Held` body, kept for the test to look at."""

    def __init__(self, *, trickle: bool = False) -> None:
        self._trickle = trickle
        self.bodies: list[_Held] = []
        self.started = asyncio.Event()  # a body's first chunk was read

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = _Held(self.started, trickle=self._trickle)
        self.bodies.append(body)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)


def app_over(model_server: HeldUpstream, **options: object) -> Starlette:
    settings = ServerSettings(
        models=(ModelRoute("m", "chat", upstream_url=_UPSTREAM),),
        store="memory",
        code_interpreter=False,
        **options,  # pyright: ignore[reportArgumentType]
    )
    return create_app(settings, upstream_transport=model_server.transport())


@asynccontextmanager
async def _running(app: Starlette) -> AsyncGenerator[httpx.AsyncClient]:
    async with (
        asyncio.timeout(_GUARD),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as client,
    ):
        yield client


def _scope(body: bytes) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/responses",
        "raw_path": b"/v1/responses",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def _receiver(messages: list[Message], gone: asyncio.Event) -> Callable[[], Awaitable[Message]]:
    """``receive``: ``messages`` in order, then ``http.disconnect`` once ``gone`` is set."""

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await gone.wait()
        return {"type": "http.disconnect"}

    return receive


_BODY = json.dumps({"model": "m", "input": "Hi"}).encode()


async def test_a_client_leaving_a_non_streaming_request_cancels_it_and_the_upstream() -> None:
    upstream = HeldUpstream()
    app = app_over(upstream)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    gone = asyncio.Event()
    receive = _receiver([{"type": "http.request", "body": _BODY, "more_body": False}], gone)
    async with _running(app) as http:
        async with asyncio.TaskGroup() as group:
            group.create_task(app(_scope(_BODY), receive, send))
            await upstream.started.wait()  # the first chunk was read
            gone.set()
        (body,) = upstream.bodies
        assert body.closed.is_set()
        assert not body.read_to_end
        answer = json.loads(b"".join(m.get("body", b"") for m in sent if "body" in m))
        assert answer["status"] == "cancelled"
        stored = (await http.get(f"/v1/responses/{answer['id']}")).json()
    assert stored["status"] == "cancelled"


async def test_a_background_run_goes_on_when_its_client_leaves() -> None:
    upstream = HeldUpstream()
    app = app_over(upstream)
    body = json.dumps({"model": "m", "input": "Hi", "background": True}).encode()
    gone = asyncio.Event()
    gone.set()  # the client leaves as soon as it is answered
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    receive = _receiver([{"type": "http.request", "body": body, "more_body": False}], gone)
    async with _running(app) as http:
        await app(_scope(body), receive, send)
        response_id = json.loads(b"".join(m.get("body", b"") for m in sent if "body" in m))["id"]
        await upstream.started.wait()
        live = (await http.get(f"/v1/responses/{response_id}")).json()
        (held,) = upstream.bodies
        assert not held.closed.is_set()
        cancelled = (await http.post(f"/v1/responses/{response_id}/cancel")).json()
    assert live["status"] == "in_progress"
    assert cancelled["status"] == "cancelled"
    assert held.closed.is_set()


async def test_a_client_that_stays_gets_its_answer_while_the_watcher_waits() -> None:
    upstream = HeldUpstream()
    app = app_over(upstream, response_deadline_seconds=0.2)
    async with _running(app) as http:
        answer = await http.post("/v1/responses", json={"model": "m", "input": "Hi"})
    # The client never left: the run ended on its own (here at its deadline), not cancelled.
    assert answer.status_code == 200
    assert answer.json()["status"] == "failed"


async def test_a_client_leaving_mid_upload_is_one_info_line_without_a_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_over(HeldUpstream())
    gone = asyncio.Event()
    gone.set()
    partial: list[Message] = [{"type": "http.request", "body": _BODY[:5], "more_body": True}]
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async with _running(app):
        with caplog.at_level(logging.INFO):
            await app(_scope(_BODY), _receiver(partial, gone), send)
    assert not [record for record in caplog.records if record.exc_info]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    (line,) = [record for record in caplog.records if record.name == "antiphon.server"]
    assert line.levelno == logging.INFO
    assert line.getMessage() == (
        "the client left during POST /v1/responses before its request was read whole"
    )


async def test_a_trickling_upstream_is_a_504_naming_the_upstream_deadline() -> None:
    upstream = HeldUpstream(trickle=True)
    app = app_over(upstream, upstream=UpstreamLimits(deadline_seconds=0.2))
    async with _running(app) as http:
        answer = await http.post("/v1/responses", json={"model": "m", "input": "Hi"})
    assert answer.status_code == 504
    error = answer.json()["error"]
    assert error["code"] == "upstream_timeout"
    assert error["message"] == (
        "The upstream model server failed: the upstream call exceeded its 0.2 s deadline "
        "(upstream_deadline_seconds)"
    )
    (body,) = upstream.bodies
    assert body.closed.is_set()


async def test_a_response_past_its_deadline_fails_naming_the_response_deadline() -> None:
    upstream = HeldUpstream()  # silent after its first chunk, for ever
    app = app_over(upstream, response_deadline_seconds=0.2)
    async with _running(app) as http:
        answer = (await http.post("/v1/responses", json={"model": "m", "input": "Hi"})).json()
        stored = (await http.get(f"/v1/responses/{answer['id']}")).json()
    assert answer["status"] == stored["status"] == "failed"
    assert stored["error"] == {
        "code": "server_error",
        "message": "the response exceeded its 0.2 s deadline (response_deadline_seconds)",
    }
    (body,) = upstream.bodies
    assert body.closed.is_set()
