"""One behavioural contract, run against every Engine implementation (all in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

import httpx
import pytest

from antiphon.engines import (
    ChatEngine,
    Engine,
    EngineEvent,
    EngineRequest,
    FunctionTool,
    HarmonyEngine,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    Script,
    ScriptedEngine,
    ScriptedItem,
    ScriptedTurn,
    TurnFinished,
    UpstreamConfig,
)
from antiphon.testing.upstream import (
    ScriptedUpstream,
    ToolCallScript,
    chat_chunks,
    completion_chunks,
    turn,
)

from .conftest import collect

REASONING = "Let me check the weather."
ARGUMENTS = '{"city":"Paris"}'
ANSWER = "It is sunny."

Setup = Callable[[ScriptedUpstream, httpx.AsyncClient, str], Awaitable[Engine]]
CONFIG = UpstreamConfig("http://upstream.test/v1")


async def _chat(upstream: ScriptedUpstream, client: httpx.AsyncClient, model: str) -> Engine:
    call = ToolCallScript("get_weather", [ARGUMENTS[:5], ARGUMENTS[5:]])
    await upstream.script(
        model,
        [
            turn(
                chat_chunks(
                    reasoning=[REASONING[:9], REASONING[9:]],
                    tool_calls=[call],
                    finish_reason="tool_calls",
                )
            ),
            turn(chat_chunks(content=[ANSWER[:4], ANSWER[4:]])),
            turn(chat_chunks(content=list(ANSWER))),
        ],
    )
    return ChatEngine(CONFIG, client=client)


def _harmony_pieces(text: str) -> list[str]:
    return [text[at : at + 7] for at in range(0, len(text), 7)]


async def _harmony(upstream: ScriptedUpstream, client: httpx.AsyncClient, model: str) -> Engine:
    call = (
        f"<|channel|>analysis<|message|>{REASONING}<|end|><|start|>assistant<|channel|>"
        f"commentary to=functions.get_weather <|constrain|>json<|message|>{ARGUMENTS}"
    )
    answer = f"<|channel|>final<|message|>{ANSWER}"
    await upstream.script(
        model,
        [
            turn(completion_chunks(_harmony_pieces(call))),
            turn(completion_chunks(_harmony_pieces(answer))),
            turn(completion_chunks(_harmony_pieces(answer))),
        ],
    )
    return HarmonyEngine(CONFIG, client=client)


async def _scripted(upstream: ScriptedUpstream, client: httpx.AsyncClient, model: str) -> Engine:
    call = (
        ScriptedItem("reasoning", REASONING),
        ScriptedItem("tool_call", ARGUMENTS, name="functions.get_weather"),
    )
    answer = (ScriptedItem("message", ANSWER),)
    turns = (
        ScriptedTurn(items=call),
        ScriptedTurn(items=answer),
        ScriptedTurn(harmony=f"<|channel|>final<|message|>{ANSWER}"),
    )
    return ScriptedEngine(Script(turns))


@pytest.fixture(params=[_chat, _harmony, _scripted], ids=["chat", "harmony", "scripted"])
async def engine(
    request: pytest.FixtureRequest,
    upstream: ScriptedUpstream,
    client: httpx.AsyncClient,
    model: str,
) -> AsyncIterator[Engine]:
    setup: Setup = request.param
    made = await setup(upstream, client, model)
    yield made
    await made.aclose()


def _ask(model: str) -> EngineRequest:
    return EngineRequest(
        model=model,
        history=(HistorySegment(({"role": "user", "content": "Weather in Paris?"},)),),
        tools=(FunctionTool("get_weather", "Weather.", {"type": "object"}),),
    )


def _check_grammar(events: list[EngineEvent]) -> list[tuple[ItemStarted, str]]:
    """Items never nest, deltas are non-empty and inside items, one TurnFinished ends it."""
    items: list[tuple[ItemStarted, str]] = []
    open_item = False
    for event in events[:-1]:
        if isinstance(event, ItemStarted):
            assert not open_item
            open_item = True
            items.append((event, ""))
        elif isinstance(event, ItemDelta):
            assert open_item
            assert event.text
            items[-1] = (items[-1][0], items[-1][1] + event.text)
        else:
            assert isinstance(event, ItemFinished)
            assert open_item
            open_item = False
    assert not open_item
    assert isinstance(events[-1], TurnFinished)
    return items


async def test_engine_streams_reasoning_and_a_tool_call_then_an_answer(
    engine: Engine, model: str
) -> None:
    first = await collect(engine, _ask(model))
    items = _check_grammar(first)
    assert [(item.kind, text) for item, text in items] == [
        ("reasoning", REASONING),
        ("tool_call", ARGUMENTS),
    ]
    call = items[1][0]
    assert call.name == "functions.get_weather"
    assert call.call_id
    assert isinstance(first[-1], TurnFinished)
    assert first[-1].reason == "tool_calls"

    second = await collect(engine, _ask(model))
    assert [(item.kind, text) for item, text in _check_grammar(second)] == [("message", ANSWER)]
    assert isinstance(second[-1], TurnFinished)
    assert second[-1].reason == "stop"


async def test_engine_can_be_closed_mid_turn_and_reused(engine: Engine, model: str) -> None:
    await collect(engine, _ask(model))
    await collect(engine, _ask(model))
    async with aclosing(engine.stream(_ask(model))) as events:
        assert isinstance(await anext(events), ItemStarted)
    assert engine.name in ("chat", "harmony", "scripted")
