from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from antiphon.engines import EngineEvent, ItemDelta, ItemFinished, ItemStarted, TurnFinished
from antiphon.engines._chat_events import ChatChunkMapper
from antiphon.engines._http import JSONObject
from antiphon.exceptions import UpstreamProtocolError
from antiphon.testing.upstream import ToolCallScript, chat_chunks
from antiphon.wire.ids import SequentialIds


def _run(chunks: list[JSONObject]) -> list[EngineEvent]:
    mapper = ChatChunkMapper({"f": "functions.f"}, SequentialIds())
    return [event for chunk in chunks for event in mapper.feed(chunk)] + mapper.finish()


def _merged(events: list[EngineEvent]) -> list[EngineEvent]:
    merged: list[EngineEvent] = []
    for event in events:
        last = merged[-1] if merged else None
        if isinstance(event, ItemDelta) and isinstance(last, ItemDelta):
            merged[-1] = ItemDelta(last.text + event.text)
        else:
            merged.append(event)
    return merged


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@given(
    thought=st.text(min_size=1),
    answer=st.text(min_size=1),
    args=st.text(min_size=1),
    cuts=st.lists(st.integers(0, 1000), max_size=8),
)
def test_any_split_of_the_deltas_gives_the_same_items(
    thought: str, answer: str, args: str, cuts: list[int]
) -> None:
    chunks = chat_chunks(
        reasoning=_split(thought, cuts),
        content=_split(answer, cuts),
        tool_calls=[ToolCallScript("f", _split(args, cuts), "c1")],
        finish_reason="tool_calls",
    )
    assert _merged(_run(chunks)) == [
        ItemStarted("reasoning"),
        ItemDelta(thought),
        ItemFinished(),
        ItemStarted("message"),
        ItemDelta(answer),
        ItemFinished(),
        ItemStarted("tool_call", name="functions.f", call_id="c1"),
        ItemDelta(args),
        ItemFinished(),
        TurnFinished("tool_calls", None),
    ]


def _delta(delta: JSONObject, finish: str | None = None, index: int = 0) -> JSONObject:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_arguments_before_the_name_are_held_until_it_arrives() -> None:
    events = _run(
        [
            _delta({"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}),
            _delta({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "}"}}]}),
            _delta({"tool_calls": [{"index": 0, "function": {"name": "f"}}]}),  # repeated name
            _delta({}, "tool_calls"),
        ]
    )
    assert _merged(events) == [
        ItemStarted("tool_call", name="functions.f", call_id="call_0001"),
        ItemDelta("{}"),
        ItemFinished(),
        TurnFinished("tool_calls", None),
    ]


def test_undeclared_names_pass_through_and_other_choices_are_ignored() -> None:
    events = _run(
        [
            _delta({"content": "ignored"}, index=1),
            _delta({"tool_calls": [{"id": "a", "function": {"name": "g", "arguments": "{}"}}]}),
            _delta({"tool_calls": [{"function": {"arguments": ""}}]}),
            _delta({}, "stop"),
        ]
    )
    assert events[0] == ItemStarted("tool_call", name="g", call_id="a")
    assert events[-1] == TurnFinished("tool_calls", None)


def test_a_call_that_never_gets_a_name_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError, match="never received a name"):
        _run(
            [
                _delta({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
                _delta({}, "tool_calls"),
            ]
        )


@pytest.mark.parametrize("reason", ["abort", "error"])
def test_an_aborted_turn_is_a_protocol_error(reason: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=reason):
        _run([_delta({"content": "a"}, reason)])


def test_content_filter_and_unknown_reasons() -> None:
    assert _run([_delta({}, "content_filter")])[-1] == TurnFinished("content_filter", None)
    assert _run([_delta({}, "eos")])[-1] == TurnFinished("stop", None)


@given(code=st.text(min_size=1), cuts=st.lists(st.integers(0, 1000), max_size=8))
def test_a_python_call_streams_its_code_not_its_json_arguments(code: str, cuts: list[int]) -> None:
    arguments = json.dumps({"code": code})
    chunks = chat_chunks(
        tool_calls=[ToolCallScript("python", _split(arguments, cuts), "c1")],
        finish_reason="tool_calls",
    )
    mapper = ChatChunkMapper({"python": "python"}, SequentialIds())
    events = [event for chunk in chunks for event in mapper.feed(chunk)] + mapper.finish()
    assert _merged(events)[:3] == [
        ItemStarted("tool_call", name="python", call_id="c1"),
        ItemDelta(code),
        ItemFinished(),
    ]


@pytest.mark.parametrize("arguments", ["print(1)", '["not", "an object"]', '{"code": 3}'])
def test_a_python_call_without_json_code_keeps_its_raw_arguments(arguments: str) -> None:
    chunks = chat_chunks(
        tool_calls=[ToolCallScript("python", [arguments], "c1")], finish_reason="tool_calls"
    )
    mapper = ChatChunkMapper({"python": "python"}, SequentialIds())
    events = [event for chunk in chunks for event in mapper.feed(chunk)] + mapper.finish()
    assert ItemDelta(arguments) in events
