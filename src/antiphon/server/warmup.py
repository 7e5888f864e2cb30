"""Warm-up at start-up: the first request is as fast as the next ones.

The official ``openai`` models build their validators and serialisers on first use (pydantic's
deferred build): measured, the first streamed response of a fresh server took about 100 ms more
to its first token than the second, almost all of it there. So before the server says it is
ready, one response runs end to end in memory on the scripted engine, through the same code as
a client's: the create body is parsed, planned, streamed by the turn loop into the ledger and
serialised as SSE, and one realtime text turn goes through the realtime core. Nothing reaches an
upstream, a store or a client. anyio's event-loop backend, which Starlette's streaming response
imports on first use (about 25 ms), is loaded too.
"""

from __future__ import annotations

import json
from contextlib import aclosing

import anyio

from antiphon.engines.scripted import Script, ScriptedEngine, ScriptedItem, ScriptedTurn
from antiphon.realtime_server.conversation import RealtimeConversation
from antiphon.realtime_server.voice import SpeakJob
from antiphon.responses.catalog import ServedModel
from antiphon.responses.history import normalize_input
from antiphon.responses.plan import plan_response
from antiphon.responses.request import parse_create_body
from antiphon.responses.runtime import ToolRuntime
from antiphon.wire.ids import random_id
from antiphon.wire.json import dump_json
from antiphon.wire.sse import SSEEncoder

__all__ = ["warm_up"]

_TURN = ScriptedTurn(
    items=(ScriptedItem("reasoning", "Warm."), ScriptedItem("message", "Ready.")), repeat=True
)
_USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}


async def warm_up() -> None:
    """Run one Responses stream and one realtime turn in memory (see the module docstring)."""
    async with anyio.create_task_group():
        pass  # what StreamingResponse opens for every stream: its backend loads now
    served = ServedModel(ScriptedEngine(Script((_TURN,))), "warm-up")
    body = parse_create_body(
        {
            "model": "warm-up",
            "input": [_USER],
            "stream": True,
            "store": False,
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        }
    )
    ledger, loop = plan_response(
        body,
        (),
        normalize_input(body, random_id),
        served=served,
        runtime=ToolRuntime(),
        ids=random_id,
        clock=lambda: 0.0,
    )
    ledger.start()
    encoder = SSEEncoder()
    async with aclosing(loop.events()) as batches:
        async for batch in batches:
            for event in batch:
                encoder.encode(event)
    dump_json(ledger.response)  # the stored record and GET
    conversation = RealtimeConversation("warm-up", served)
    for event in conversation.open():
        dump_json(event)
    conversation.receive(json.dumps({"type": "conversation.item.create", "item": _USER}))
    step = conversation.receive(json.dumps({"type": "response.create"}))
    assert step.turn is not None
    async with aclosing(step.turn.events()) as batches:
        async for batch in batches:
            for thing in conversation.run_events(step.response_id, batch):
                if not isinstance(thing, SpeakJob):
                    dump_json(thing)
