"""Driving the realtime conversation core in-process: the shipped scripted engine, a spy on
the requests it gets, and a helper that runs a planned response's turn loop to its end."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Annotated, Any

from openai.types.realtime import RealtimeServerEvent
from pydantic import Field, TypeAdapter

from antiphon.check.schema import REALTIME_SCHEMA
from antiphon.engines.base import EngineEvent, EngineRequest
from antiphon.engines.scripted import Chunking, Script, ScriptedEngine, ScriptedTurn
from antiphon.realtime_server.conversation import RealtimeConversation, Step
from antiphon.realtime_server.voice import SpeakJob
from antiphon.responses.catalog import ServedModel
from antiphon.wire.json import dump_json

SERVER_EVENTS: TypeAdapter[RealtimeServerEvent] = TypeAdapter(
    Annotated[RealtimeServerEvent, Field(discriminator="type")]
)
Frame = dict[str, Any]


class Spy:
    """The scripted engine, and every request it was asked to answer."""

    def __init__(self, *turns: ScriptedTurn, chunk: int = 6) -> None:
        self.engine = ScriptedEngine(Script(tuple(turns), Chunking("fixed", chunk)))
        self.requests: list[EngineRequest] = []

    @property
    def name(self) -> str:
        """The wrapped engine's name."""
        return self.engine.name

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """Record ``request`` and play the engine's answer."""
        self.requests.append(request)
        async with aclosing(self.engine.stream(request)) as events:
            async for event in events:
                yield event

    async def aclose(self) -> None:
        """Nothing to release."""

    def served(self) -> ServedModel:
        """The model as the catalog would serve it."""
        return ServedModel(self, "upstream-model")


def wire(events: Sequence[RealtimeServerEvent | SpeakJob]) -> list[Frame]:
    """The events as sent, each checked against the official GA server union, strict and with no
    field outside the spec, by :mod:`antiphon.check` (text mode: no sentence to speak)."""
    frames: list[Frame] = []
    for event in events:
        assert not isinstance(event, SpeakJob), event
        frame = json.loads(dump_json(event))
        checked, violations = REALTIME_SCHEMA.validate(len(frames), frame)
        assert not violations, violations  # the rules antiphon check applies, strict
        assert checked is not None
        assert SERVER_EVENTS.validate_python(checked).type == event.type
        frames.append(frame)
    return frames


def types(events: Sequence[RealtimeServerEvent]) -> list[str]:
    """The types of ``events``, validated."""
    return [frame["type"] for frame in wire(events)]


def send(conversation: RealtimeConversation, frame: Frame) -> Step:
    """Feed one client frame."""
    return conversation.receive(json.dumps(frame))


async def run(conversation: RealtimeConversation, step: Step) -> list[Frame]:
    """The events of ``step``'s response after its first ones, its turn run to the end."""
    assert step.turn is not None
    events: list[RealtimeServerEvent | SpeakJob] = []
    async with aclosing(step.turn.events()) as batches:
        async for batch in batches:
            events += conversation.run_events(step.response_id, batch)
    return wire(events)


def user(text: str, **extra: object) -> Frame:
    """A ``conversation.item.create`` of a user text message."""
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"type": "conversation.item.create", "item": item, **extra}


def error_of(step: Step) -> Frame:
    """The one ``error`` a refused frame produced (and no response was started)."""
    [frame] = wire(step.events)
    assert frame["type"] == "error"
    assert step.turn is None
    return frame["error"]
