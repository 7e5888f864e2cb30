"""Answers: what the model reads back after a turn that called tools."""

from __future__ import annotations

import json

from openai.types.responses import ResponseFunctionToolCall

from antiphon.engines.base import HistorySegment
from antiphon.responses.answers import Answers, UnknownCall
from antiphon.responses.server_tools import ApprovalDecision

_START = (HistorySegment(({"role": "user", "content": "hi"},)),)


def test_an_empty_segment_adds_nothing() -> None:
    answers = Answers(_START)
    answers.close_segment("raw")
    assert answers.history == _START


def test_items_and_answers_form_one_segment_with_the_raw_text() -> None:
    answers = Answers(_START)
    call = ResponseFunctionToolCall(
        type="function_call", call_id="c1", name="f", arguments="{}", id="fc_1", status="completed"
    )
    answers.item(call)
    answers.unknown(UnknownCall("functions.nope", "c2", ['{"a"', ": 1}"]))
    answers.close_segment("<|start|>raw")
    assert answers.history[:1] == _START
    added = answers.history[1]
    assert added.raw_text == "<|start|>raw"
    kinds = [(item.get("type"), item.get("call_id")) for item in added.items]
    assert kinds == [
        ("function_call", "c1"),
        ("function_call", "c2"),
        ("function_call_output", "c2"),
    ]
    unknown_call, unknown_output = added.items[1], added.items[2]
    assert unknown_call.get("arguments") == '{"a": 1}'
    output = json.loads(str(unknown_output.get("output")))
    assert output == {"error": "Tool 'functions.nope' does not exist. Use only the tools provided."}


def test_a_denial_reads_as_a_failed_call_with_the_reason() -> None:
    answers = Answers(())
    answers.denied(ApprovalDecision("mcpr_1", "calc", "add", '{"a": 1}', False, reason="later"))
    answers.denied(ApprovalDecision("mcpr_2", "calc", "add", "{}", False))
    answers.close_segment(None)
    (segment,) = answers.history
    assert segment.raw_text is None
    assert [item.get("error") for item in segment.items] == [
        "The user denied this call. Reason: later",
        "The user denied this call.",
    ]
    assert segment.items[0].get("id") == "mcpr_1"
