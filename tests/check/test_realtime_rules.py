"""The Realtime rules: a real session of the conversation core passes, each breakage is caught.

The session is the sans-I/O realtime core on the scripted engine (a text turn and a function
call), exactly the events ``/v1/realtime`` sends; each case breaks one copy of it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from antiphon.check import RealtimeEventChecker
from tests.realtime_server.support import Frame, Spy, run, send, user, wire
from tests.realtime_server.test_conversation import CALL, TEXT, WEATHER_TOOL, make


async def _session() -> list[Frame]:
    conversation = make(Spy(TEXT, CALL))
    frames = wire(conversation.open())
    frames += wire(
        send(
            conversation,
            {"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER_TOOL]}},
        ).events
    )
    for text in ("Hi.", "Weather?"):
        step = send(conversation, user(text))
        frames += wire(step.events)
        step = send(conversation, {"type": "response.create"})
        frames += wire(step.events) + await run(conversation, step)
    return frames


def _check(frames: list[Frame]) -> set[str]:
    checker = RealtimeEventChecker()
    for frame in frames:
        checker.feed(frame)
    return {violation.rule for violation in checker.finish()}


def _at(frames: list[Frame], kind: str, nth: int = 0) -> int:
    return [i for i, f in enumerate(frames) if f["type"] == kind][nth]


def _delta_after_done(frames: list[Frame]) -> None:
    delta = copy.deepcopy(frames[_at(frames, "response.output_text.delta")])
    delta["event_id"] = "event_late"
    frames.insert(_at(frames, "response.output_text.done") + 1, delta)


def _twice_done(frames: list[Frame]) -> None:
    again = copy.deepcopy(frames[_at(frames, "response.done")])
    again["event_id"] = "event_again"
    frames.append(again)


BROKEN: dict[str, tuple[Callable[[list[Frame]], object], str]] = {
    "not opened by session.created": (lambda f: f.pop(0), "realtime.first"),
    "event id reused": (lambda f: f[1].update(event_id=f[0]["event_id"]), "realtime.event-id"),
    "extra field": (
        lambda f: f[_at(f, "response.output_text.delta")].update(x=1),
        "schema.extra-field",
    ),
    "delta after done": (_delta_after_done, "delta.after-done"),
    "text differs": (
        lambda f: f[_at(f, "response.output_text.done")].update(text="no"),
        "delta.join",
    ),
    "two response.done": (_twice_done, "realtime.response-unknown"),
    "wrong output_index": (
        lambda f: f[_at(f, "response.output_item.added")].update(output_index=2),
        "item.output-index",
    ),
    "response never done": (lambda f: f.pop(_at(f, "response.done", 1)), "realtime.open-response"),
    "item never done": (lambda f: f.pop(_at(f, "response.output_item.done")), "item.never-done"),
}


async def test_a_real_session_passes() -> None:
    frames = await _session()
    assert "response.function_call_arguments.done" in [f["type"] for f in frames]
    assert _check(frames) == set()


@pytest.mark.parametrize("case", sorted(BROKEN))
async def test_each_breakage_is_caught(case: str) -> None:
    breaks, rule = BROKEN[case]
    frames = await _session()
    breaks(frames)
    assert rule in _check(frames)
