"""A resumed stream (``starting_after=N``) is judged from N+1 on, whatever was cut before."""

from __future__ import annotations

from antiphon.check import check_response_stream
from tests.grammar import to_wire
from tests.wire.test_ledger_catalogue import run


def test_every_resume_point_of_a_valid_stream_passes() -> None:
    payloads = to_wire(run("reasoning, preamble, function call").drain())
    for seen in range(len(payloads) - 1):
        report = check_response_stream(payloads[seen + 1 :], starting_after=seen)
        assert report.violations == (), (seen, report.violations)


def test_a_resumed_stream_that_skips_an_event_fails() -> None:
    payloads = to_wire(run("reasoning, preamble, function call").drain())
    report = check_response_stream(payloads[5:], starting_after=3)
    assert [v.rule for v in report.violations][:1] == ["sequence.number"]
