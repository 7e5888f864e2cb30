"""The bounds of ``/v1/realtime`` over a real uvicorn socket in process: tiny limits, each
ending with its ``error`` event and close code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from antiphon.server.app import create_app
from antiphon.server.realtime_bounds import RealtimeSessions, idle_timeout, session_expired
from antiphon.server.settings import ModelRoute, RealtimeLimits, ServerSettings
from tests.server.support import serving
from tests.server.test_realtime import STALL, TEXT, Frame, receive, receive_until, ws_url

pytestmark = pytest.mark.e2e


def _serve(tmp_path: Path, limits: RealtimeLimits) -> AbstractAsyncContextManager[str]:
    routes: list[ModelRoute] = []
    for name, script in (("text", TEXT), ("stall", STALL)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(script), encoding="utf-8")
        routes.append(ModelRoute(name, "scripted", script=path))
    settings = ServerSettings(
        models=tuple(routes), code_interpreter=False, store="memory", realtime=limits
    )
    return serving(create_app(settings))


async def _ended(ws: ClientConnection) -> tuple[Frame, int]:
    """The ``error`` event the server ends with (after any others), and its close code."""
    frames: list[Frame] = []
    closed: ConnectionClosed | None = None
    while closed is None:
        try:
            frames.append(await receive(ws))
        except ConnectionClosed as exc:
            closed = exc
    assert closed.rcvd is not None
    assert frames
    assert frames[-1]["type"] == "error"
    return frames[-1], closed.rcvd.code


@pytest.fixture
async def one_session(tmp_path: Path) -> AsyncGenerator[str]:
    async with _serve(tmp_path, RealtimeLimits(max_sessions=1)) as url:
        yield url


async def test_past_the_session_limit_a_client_is_told_to_come_back(one_session: str) -> None:
    async with connect(ws_url(one_session, "text")) as first:
        assert (await receive(first))["type"] == "session.created"
        async with connect(ws_url(one_session, "text")) as second:
            error, code = await _ended(second)
        assert error["error"]["code"] == "session_limit_reached"
        assert code == 1013
        # The first session is unaffected.
        await first.send(json.dumps({"type": "response.create"}))
        assert (await receive_until(first, "response.done"))[-1]["response"]["status"] == (
            "completed"
        )


async def test_an_idle_session_is_closed_but_not_one_waiting_for_a_response(
    tmp_path: Path,
) -> None:
    async with _serve(tmp_path, RealtimeLimits(idle_seconds=0.3)) as url:
        async with connect(ws_url(url, "text")) as ws:
            assert (await receive(ws))["type"] == "session.created"
            error, code = await _ended(ws)
        assert error["error"]["code"] == "idle_timeout"
        assert code == 1008
        # A stalled response outlives the idle limit: the session ends only when it is cancelled.
        async with connect(ws_url(url, "stall")) as ws:
            await receive(ws)
            await ws.send(json.dumps({"type": "response.create"}))
            await receive_until(ws, "response.output_text.delta")
            # Three idle limits pass with nothing sent either way: no idle_timeout arrives.
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.9):
                    await ws.recv()
            await ws.send(json.dumps({"type": "response.cancel"}))
            assert (await receive_until(ws, "response.done"))[-1]["response"]["status"] == (
                "cancelled"
            )
            error, code = await _ended(ws)
        assert (error["error"]["code"], code) == ("idle_timeout", 1008)


async def test_a_session_ends_at_its_maximum_duration_even_mid_response(tmp_path: Path) -> None:
    limits = RealtimeLimits(session_seconds=0.5)
    async with _serve(tmp_path, limits) as url, connect(ws_url(url, "stall")) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "response.create"}))
        await receive_until(ws, "response.output_text.delta")
        error, code = await _ended(ws)
    assert error["error"]["code"] == "session_expired"
    assert "0.5 seconds" in error["error"]["message"]
    assert code == 1008


def test_the_session_count_is_bounded_and_given_back() -> None:
    sessions = RealtimeSessions(RealtimeLimits(max_sessions=2))
    assert [sessions.try_open() for _ in range(3)] == [True, True, False]
    assert sessions.open == 2
    sessions.close()
    assert sessions.try_open()
    assert not sessions.try_open()


def test_endings_say_how_long_the_limit_was() -> None:
    assert session_expired(3600).message == "Your session hit the maximum duration of 60 minutes."
    assert "1 second " in idle_timeout(1).message
    assert session_expired(3600).reason == "session_expired"
