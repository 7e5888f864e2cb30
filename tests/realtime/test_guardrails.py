from __future__ import annotations

import pytest

from antiphon.exceptions import ConfigurationError, GuardrailError
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.guardrails import (
    GuardrailGate,
    GuardrailResult,
    output_guardrail,
    run_guardrails,
)

AGENT = RealtimeAgent(name="Assistant")


@output_guardrail
def no_secrets(agent: RealtimeAgent, text: str) -> GuardrailResult:
    return GuardrailResult(tripwire_triggered="secret" in text, output_info={"len": len(text)})


@output_guardrail(name="polite")
async def polite_check(agent: RealtimeAgent, text: str) -> GuardrailResult:
    return GuardrailResult(tripwire_triggered="stupid" in text)


@output_guardrail
def broken(agent: RealtimeAgent, text: str) -> GuardrailResult:
    raise RuntimeError("classifier offline")


def test_decorator_names_guardrails() -> None:
    assert (no_secrets.name, polite_check.name) == ("no_secrets", "polite")


async def test_guardrails_that_do_not_trip_report_their_results_in_order() -> None:
    checks = await run_guardrails([no_secrets, polite_check], AGENT, "hello there")
    assert [check.guardrail.name for check in checks] == ["no_secrets", "polite"]
    assert [check.tripped for check in checks] == [False, False]
    assert checks[0].result == GuardrailResult(False, {"len": 11})
    assert all(check.error is None for check in checks)


async def test_a_guardrail_trips_on_matching_text() -> None:
    checks = await run_guardrails([no_secrets, polite_check], AGENT, "that is stupid")
    assert [check.tripped for check in checks] == [False, True]


async def test_a_raising_guardrail_is_reported_and_does_not_trip() -> None:
    checks = await run_guardrails([broken, no_secrets], AGENT, "the secret is 42")
    failed, ok = checks
    assert failed.tripped is False
    assert failed.result is None
    assert isinstance(failed.error, GuardrailError)
    assert failed.error.guardrail_name == "broken"
    assert str(failed.error) == "guardrail 'broken' raised: classifier offline"
    assert isinstance(failed.error.__cause__, RuntimeError)
    assert ok.tripped is True


async def test_a_guardrail_returning_the_wrong_type_is_reported() -> None:
    @output_guardrail
    def sloppy(agent: RealtimeAgent, text: str) -> GuardrailResult:
        return True  # pyright: ignore[reportReturnType]

    (check,) = await run_guardrails([sloppy], AGENT, "x")
    assert check.tripped is False
    assert check.error is not None
    assert "returned bool, not GuardrailResult" in str(check.error)


def test_gate_runs_each_time_the_text_crosses_a_multiple_of_the_debounce() -> None:
    gate = GuardrailGate(debounce_chars=10)
    assert gate.feed("r1", "i1", "hello") is False
    assert gate.feed("r1", "i1", " world") is True  # 11 chars: crossed 10
    assert gate.feed("r1", "i1", "!!!") is False  # 14
    assert gate.feed("r1", "i1", "x" * 20) is True  # 34: crossed 20 and 30, one run
    assert gate.feed("r1", "i1", "") is False
    assert gate.text("r1", "i1") == "hello world!!!" + "x" * 20


def test_gate_counts_items_separately() -> None:
    gate = GuardrailGate(debounce_chars=4)
    assert gate.feed("r1", "a", "abc") is False
    assert gate.feed("r1", "b", "abc") is False
    assert gate.feed("r1", "a", "d") is True
    assert gate.text("r1", "b") == "abc"


def test_gate_finish_asks_for_a_last_run_only_for_unchecked_text() -> None:
    gate = GuardrailGate(debounce_chars=5)
    gate.feed("r1", "i1", "abc")
    assert gate.finish("r1", "i1") is True
    assert gate.finish("r1", "i1") is False
    assert gate.finish("r1", "unknown") is False
    gate.feed("r1", "i2", "abcde")
    assert gate.finish("r1", "i2") is False


def test_gate_stops_asking_once_a_response_tripped() -> None:
    gate = GuardrailGate(debounce_chars=1)
    assert gate.trip("r1") is True
    assert gate.trip("r1") is False
    assert gate.feed("r1", "i1", "more text") is False
    assert gate.finish("r1", "i1") is False
    assert gate.feed("r2", "i1", "x") is True


def test_gate_memory_is_bounded_and_forget_drops_a_response() -> None:
    gate = GuardrailGate(debounce_chars=100, max_items=2)
    for item in ("a", "b", "c"):
        gate.feed("r1", item, "text")
    assert gate.text("r1", "a") == ""
    assert gate.text("r1", "c") == "text"
    gate.forget("r1")
    assert gate.text("r1", "c") == ""
    for response in ("r1", "r2", "r3"):
        gate.trip(response)
    assert gate.trip("r1") is True  # the oldest trip mark was forgotten


def test_gate_rejects_a_zero_debounce() -> None:
    with pytest.raises(ConfigurationError):
        GuardrailGate(debounce_chars=0)
