"""The upstream engines over a real socket: what an in-process transport cannot show.

Stalls (the stall timeout is the HTTP transport's), bodies cut mid-stream, the upstream seeing a
client go away, connection reuse between turns, refused connections. Everything else about the
chat and harmony engines runs in-process in ``tests/engines``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from antiphon.engines import (
    ChatEngine,
    EngineEvent,
    EngineRequest,
    HarmonyEngine,
    HistorySegment,
    ItemDelta,
    ItemStarted,
    UpstreamConfig,
)
from antiphon.exceptions import (
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antiphon.testing.upstream import (
    UpstreamControl,
    UpstreamProcess,
    chat_chunks,
    completion_chunks,
    turn,
)
from tests.engines.conftest import collect, drain

pytestmark = pytest.mark.e2e

CALL_TEXT = (
    "<|channel|>analysis<|message|>Need weather.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city":"Paris"}'
)


@pytest.fixture
def model(request: pytest.FixtureRequest) -> str:
    """A model name unique to the test, so scripts and records never mix."""
    return request.node.name.replace("[", "-").replace("]", "")


@pytest.fixture
async def chat(upstream: UpstreamProcess) -> AsyncIterator[ChatEngine]:
    engine = ChatEngine(UpstreamConfig(upstream.base_url, stall_timeout=5))
    yield engine
    await engine.aclose()


@pytest.fixture
async def harmony(upstream: UpstreamProcess) -> AsyncIterator[HarmonyEngine]:
    engine = HarmonyEngine(UpstreamConfig(upstream.base_url, stall_timeout=5))
    yield engine
    await engine.aclose()


def _ask(model: str, text: str = "Hi") -> EngineRequest:
    return EngineRequest(
        model=model, history=(HistorySegment(({"role": "user", "content": text},)),)
    )


def _ask_harmony(model: str) -> EngineRequest:
    return _ask(model, "Weather in Paris?")


def _pieces(text: str, size: int = 5) -> list[str]:
    return [text[at : at + size] for at in range(0, len(text), size)]


async def test_chat_turns_reuse_one_upstream_connection(
    chat: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=[word])) for word in ("a", "b", "c")])
    for _ in range(3):
        await collect(chat, _ask(model))
    peers = {str(record["peer"]) for record in await control.requests(model)}
    assert len(peers) == 1  # each body was read past [DONE], so its connection went back


async def test_a_paced_chat_turn_spaces_its_frames(
    chat: ChatEngine, control: UpstreamControl, model: str
) -> None:
    frames = chat_chunks(content=["a", "b", "c"])  # role, 3 pieces, finish: 4 gaps
    await control.script(model, [turn(frames, interval=0.05)])
    started = time.perf_counter()
    events = await collect(chat, _ask(model))
    assert time.perf_counter() - started >= 4 * 0.05
    assert [event for event in events if isinstance(event, ItemDelta)] == [
        ItemDelta("a"),
        ItemDelta("b"),
        ItemDelta("c"),
    ]


async def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = holder.getsockname()[1]
        engine = ChatEngine(UpstreamConfig(f"http://127.0.0.1:{port}/v1"))
        with pytest.raises(UpstreamConnectError):
            await collect(engine, _ask("m"))
        await engine.aclose()


async def test_chat_stream_cut_mid_way_is_a_protocol_error(
    chat: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["a", "b", "c"]), cut_after=2)])
    seen: list[EngineEvent] = []
    with pytest.raises(UpstreamProtocolError):
        await drain(chat, _ask(model), seen)
    assert seen == [ItemStarted("message"), ItemDelta("a")]
    assert await control.wait_ended(model) == "cut"


async def test_chat_stall_past_the_timeout_raises_and_disconnects(
    upstream: UpstreamProcess, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["a", "b"]), stall_after=2)])
    engine = ChatEngine(UpstreamConfig(upstream.base_url, stall_timeout=0.3))
    with pytest.raises(UpstreamTimeout):
        await collect(engine, _ask(model))
    await engine.aclose()
    assert await control.wait_ended(model) == "disconnected"


async def test_closing_a_chat_stream_early_disconnects_from_the_upstream(
    chat: ChatEngine, control: UpstreamControl, model: str
) -> None:
    await control.script(model, [turn(chat_chunks(content=["a", "b"]), stall_after=2)])
    async with aclosing(chat.stream(_ask(model))) as events:
        first = await anext(events)
    assert first == ItemStarted("message")
    assert await control.wait_ended(model) == "disconnected"


async def test_harmony_faults_raise_typed_errors(
    harmony: HarmonyEngine, control: UpstreamControl, model: str
) -> None:
    chunks = completion_chunks(_pieces(CALL_TEXT))
    await control.script(model, [turn(status=500), turn(chunks, cut_after=8)])
    with pytest.raises(UpstreamHTTPError):
        await collect(harmony, _ask_harmony(model))
    seen: list[EngineEvent] = []
    with pytest.raises(UpstreamProtocolError):
        await drain(harmony, _ask_harmony(model), seen)
    assert isinstance(seen[0], ItemStarted)
    assert await control.wait_ended(model, 1) == "cut"


async def test_harmony_stall_times_out_and_early_close_disconnects(
    upstream: UpstreamProcess, control: UpstreamControl, model: str
) -> None:
    chunks = completion_chunks(_pieces(CALL_TEXT))
    await control.script(model, [turn(chunks, stall_after=1), turn(chunks, stall_after=7)])
    engine = HarmonyEngine(UpstreamConfig(upstream.base_url, stall_timeout=0.3))
    with pytest.raises(UpstreamTimeout):
        await collect(engine, _ask_harmony(model))
    assert await control.wait_ended(model, 0) == "disconnected"
    async with aclosing(engine.stream(_ask_harmony(model))) as events:
        assert isinstance(await anext(events), ItemStarted)
    assert await control.wait_ended(model, 1) == "disconnected"
    await engine.aclose()
