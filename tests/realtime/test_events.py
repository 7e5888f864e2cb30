from __future__ import annotations

import dataclasses
import typing

import pytest

from antiphon.exceptions import ServerError
from antiphon.realtime import events
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.events import (
    LOSSY_EVENT_TYPES,
    AgentStartEvent,
    AudioEvent,
    ErrorEvent,
    HistoryUpdatedEvent,
    RawModelEvent,
    RealtimeSessionEvent,
)

EVENT_CLASSES = typing.get_args(RealtimeSessionEvent)


def type_literal(cls: type) -> str:
    field = next(f for f in dataclasses.fields(cls) if f.name == "type")
    assert isinstance(field.default, str)
    return field.default


def test_every_session_event_named_by_the_issue_exists_once() -> None:
    expected = {
        "agent_start",
        "agent_end",
        "handoff",
        "tool_start",
        "tool_end",
        "audio",
        "audio_end",
        "audio_interrupted",
        "history_added",
        "history_updated",
        "guardrail_tripped",
        "raw_model_event",
        "error",
    }
    assert sorted(type_literal(cls) for cls in EVENT_CLASSES) == sorted(expected)


@pytest.mark.parametrize("cls", EVENT_CLASSES)
def test_events_are_frozen_slotted_and_their_type_is_not_an_argument(cls: type) -> None:
    params = dataclasses.fields(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert hasattr(cls, "__slots__")
    assert all(f.init is False for f in params if f.name == "type")
    assert cls.__name__ in events.__all__


def test_an_event_cannot_be_mutated() -> None:
    event = ErrorEvent(ServerError("boom"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.error = ServerError("other")  # type: ignore[misc]


def test_events_narrow_by_their_type_literal() -> None:
    agent = RealtimeAgent(name="a")
    received: list[RealtimeSessionEvent] = [
        AgentStartEvent(agent, "resp_1"),
        AudioEvent(b"x", "i", 0, "r"),
    ]
    kinds = [event.type for event in received]
    assert kinds == ["agent_start", "audio"]


def test_only_frequent_replayable_events_are_lossy() -> None:
    assert {"audio", "history_updated", "raw_model_event"} == LOSSY_EVENT_TYPES
    # Each lossy name is the type of a real event: a renamed event cannot silently stop being
    # droppable (the queue matches on these strings).
    assert {type_literal(cls) for cls in (AudioEvent, HistoryUpdatedEvent, RawModelEvent)} == (
        LOSSY_EVENT_TYPES
    )
