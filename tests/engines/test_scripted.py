from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.responses import ResponseInputItemParam

from antiphon.engines import (
    Chunking,
    EngineEvent,
    EngineRequest,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    Script,
    ScriptedEngine,
    ScriptedFailure,
    ScriptedItem,
    ScriptedTurn,
    TurnFinished,
    TurnRule,
    Usage,
    load_script,
    parse_script,
)
from antiphon.exceptions import (
    ConfigurationError,
    ScriptExhausted,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antiphon.wire.ids import SequentialIds

from .conftest import collect, drain

DOC = Path(__file__).parents[2] / "docs" / "scripted-engine.md"
HARMONY = (
    "<|channel|>analysis<|message|>Think.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Hello there!<|return|>"
)


def _request(last: str = "Hi", kind: str | None = None) -> EngineRequest:
    if kind == "function_call_output":
        items: tuple[ResponseInputItemParam, ...] = (
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": last},
        )
        return EngineRequest("m", history=(HistorySegment(items),))
    return EngineRequest("m", history=(HistorySegment(({"role": "user", "content": last},)),))


def _merged(events: list[EngineEvent]) -> list[EngineEvent]:
    merged: list[EngineEvent] = []
    for event in events:
        last = merged[-1] if merged else None
        if isinstance(event, ItemDelta) and isinstance(last, ItemDelta):
            merged[-1] = ItemDelta(last.text + event.text)
        else:
            merged.append(event)
    return merged


async def test_harmony_turn_is_parsed_into_items_with_raw_text() -> None:
    engine = ScriptedEngine(Script((ScriptedTurn(harmony=HARMONY),)))
    events = _merged(await collect(engine, _request()))
    assert events == [
        ItemStarted("reasoning", channel="analysis"),
        ItemDelta("Think."),
        ItemFinished(),
        ItemStarted("message", channel="final", phase="final_answer"),
        ItemDelta("Hello there!"),
        ItemFinished(),
        TurnFinished("stop", None, HARMONY.replace("<|return|>", "<|end|>")),
    ]


async def test_fixed_chunking_cuts_deltas_to_size() -> None:
    item = ScriptedItem("message", "abcdefg")
    engine = ScriptedEngine(Script((ScriptedTurn(items=(item,)),), Chunking(size=3)))
    events = await collect(engine, _request())
    assert [e.text for e in events if isinstance(e, ItemDelta)] == ["abc", "def", "g"]


@given(seed=st.integers(0, 2**32), size=st.integers(1, 9))
async def test_any_chunking_gives_the_same_merged_events(seed: int, size: int) -> None:
    events: list[list[EngineEvent]] = []
    for chunking in (Chunking("random", seed=seed), Chunking("fixed", size=size)):
        engine = ScriptedEngine(Script((ScriptedTurn(harmony=HARMONY),), chunking))
        events.append(_merged(await collect(engine, _request())))
    assert events[0] == events[1]


async def test_random_chunking_is_reproducible_from_its_seed() -> None:
    def run() -> ScriptedEngine:
        return ScriptedEngine(Script((ScriptedTurn(harmony=HARMONY),), Chunking("random", seed=3)))

    assert await collect(run(), _request()) == await collect(run(), _request())


async def test_item_turn_ends_with_tool_calls_and_ids_by_default() -> None:
    call = ScriptedItem("tool_call", '{"a":1}', name="functions.f")
    engine = ScriptedEngine(Script((ScriptedTurn(items=(call,)),)), ids=SequentialIds())
    events = _merged(await collect(engine, _request()))
    assert events == [
        ItemStarted("tool_call", name="functions.f", call_id="call_0001", channel="commentary"),
        ItemDelta('{"a":1}'),
        ItemFinished(),
        TurnFinished("tool_calls", None),
    ]


async def test_turns_are_used_once_in_order_then_exhausted() -> None:
    turns = tuple(ScriptedTurn(items=(ScriptedItem("message", text),)) for text in ("one", "two"))
    engine = ScriptedEngine(Script(turns, Chunking(size=10)))
    first = await collect(engine, _request())
    second = await collect(engine, _request())
    assert (first[1], second[1]) == (ItemDelta("one"), ItemDelta("two"))
    with pytest.raises(ScriptExhausted):
        await collect(engine, _request())


async def test_rules_pick_the_turn_for_the_last_input_item() -> None:
    answer = ScriptedTurn(
        items=(ScriptedItem("message", "after tool"),),
        when=TurnRule(last_item_type="function_call_output"),
        repeat=True,
    )
    greet = ScriptedTurn(
        items=(ScriptedItem("message", "hello"),),
        when=TurnRule(last_text_contains="Hi"),
        repeat=True,
    )
    engine = ScriptedEngine(Script((answer, greet), Chunking(size=20)))
    for _ in range(2):
        assert (await collect(engine, _request("Hi there")))[1] == ItemDelta("hello")
        assert (await collect(engine, _request("42", "function_call_output")))[1] == ItemDelta(
            "after tool"
        )
    with pytest.raises(ScriptExhausted):
        await collect(engine, _request("Bye"))


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (ScriptedFailure("connect", after_events=2), UpstreamConnectError),
        (ScriptedFailure("http", after_events=2), UpstreamHTTPError),
        (ScriptedFailure("protocol", after_events=2), UpstreamProtocolError),
        (ScriptedFailure("timeout", after_events=2), UpstreamTimeout),
    ],
)
async def test_failures_raise_after_the_scripted_number_of_events(
    failure: ScriptedFailure, error: type[Exception]
) -> None:
    turn = ScriptedTurn(items=(ScriptedItem("message", "abcdefgh"),), fail=failure)
    seen: list[EngineEvent] = []
    with pytest.raises(error):
        await drain(ScriptedEngine(Script((turn,))), _request(), seen)
    assert seen == [
        ItemStarted("message", channel="final", phase="final_answer"),
        ItemDelta("abcd"),
    ]


async def test_failure_after_the_last_event_still_raises() -> None:
    turn = ScriptedTurn(items=(ScriptedItem("message", "a"),), fail=ScriptedFailure("protocol", 99))
    with pytest.raises(UpstreamProtocolError):
        await collect(ScriptedEngine(Script((turn,))), _request())


async def test_stall_waits_until_the_consumer_gives_up() -> None:
    turn = ScriptedTurn(items=(ScriptedItem("message", "a"),), fail=ScriptedFailure("stall", 1))
    seen: list[EngineEvent] = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await drain(ScriptedEngine(Script((turn,))), _request(), seen)
    assert seen == [ItemStarted("message", channel="final", phase="final_answer")]


def test_the_documented_example_loads(tmp_path: Path) -> None:
    [example] = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    path = tmp_path / "demo.json"
    path.write_text(example, encoding="utf-8")
    script = load_script(path)
    assert script.chunking == Chunking("random", 4, 7)
    assert script.turns[0].when == TurnRule(last_item_type="message")
    assert script.turns[0].usage == Usage(120, 31, 12)
    assert [item.kind for item in script.turns[1].items] == ["reasoning", "message"]


async def test_the_documented_example_plays_a_tool_round_trip() -> None:
    [example] = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    engine = ScriptedEngine(parse_script(example))
    first = await collect(engine, _request("Weather?"))
    second = await collect(engine, _request("sunny", "function_call_output"))
    last = first[-1]
    assert isinstance(last, TurnFinished)
    assert (last.reason, last.usage) == ("tool_calls", Usage(120, 31, 12))
    assert last.raw_text is not None
    assert last.raw_text.endswith("<|call|>")
    assert isinstance(second[-1], TurnFinished)
    assert second[-1].reason == "stop"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not valid JSON"),
        ("[]", "script must be a JSON object"),
        ('{"turns": []}', "non-empty"),
        ('{"turns": [{}]}', "turns[0] needs exactly one of harmony or items"),
        ('{"turns": [{"harmony": "x", "extra": 1}]}', "turns[0] has unknown keys: extra"),
        ('{"turns": [{"items": [{"kind": "image"}]}]}', "turns[0].items[0].kind must be one of"),
        ('{"turns": [{"items": [{"text": "x"}]}]}', "turns[0].items[0].kind is required"),
        ('{"turns": [{"items": [{"kind": "tool_call"}]}]}', "name is required"),
        ('{"turns": [{"harmony": 3}]}', "turns[0].harmony must be of type str"),
        ('{"turns": [{"harmony": "x", "repeat": 1}]}', "repeat must be of type bool"),
        ('{"turns": [{"harmony": "x", "fail": {}}]}', "fail.kind is required"),
        ('{"turns": [{"harmony": "x", "usage": {"input_tokens": true}}]}', "must be of type int"),
        ('{"turns": [{"harmony": "x", "finish_reason": "done"}]}', "finish_reason must be one of"),
        ('{"turns": [{"harmony": "x"}], "chunking": {"size": 0}}', "at least 1"),
    ],
)
def test_bad_scripts_are_rejected_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_script(text)
    assert message in str(caught.value)


def test_full_turn_options_parse() -> None:
    script = parse_script(
        '{"turns": [{"items": [{"kind": "message", "text": "x", "phase": "commentary"},'
        ' {"kind": "tool_call", "name": "python", "call_id": "c9", "text": "{}"}],'
        ' "finish_reason": "length", "repeat": true,'
        ' "when": {"last_text_contains": "go"},'
        ' "fail": {"kind": "http", "after_events": 2, "status": 503, "message": "busy"}}]}'
    )
    [turn] = script.turns
    assert turn.items[1] == ScriptedItem("tool_call", "{}", "python", "c9")
    assert turn.fail == ScriptedFailure("http", 2, 503, "busy")
    assert (turn.finish_reason, turn.repeat) == ("length", True)
