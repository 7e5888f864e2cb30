"""The battery ``antiphon check realtime`` runs against any Realtime server (text modality).

Each check opens its own session; every server event goes through
:class:`~antiphon.check.realtime_rules.RealtimeEventChecker`. Prompts carry the markers of the
Responses battery (``get_weather``, ``Count from 1``) so one scripted model passes both.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

from antiphon.check._json import JSON, as_json, is_list
from antiphon.check._prompts import HELLO, LONG_TASK, REALTIME_WEATHER_TOOL, WEATHER_PROMPT
from antiphon.check._realtime_session import RealtimeProbe, RealtimeTarget
from antiphon.check.outcome import CheckFailed

__all__ = ["REALTIME_CHECKS", "RealtimeCheck"]

RealtimeCheck = Callable[[RealtimeTarget], Awaitable[str]]

TEXT_SESSION: JSON = {"type": "realtime", "output_modalities": ["text"]}


def _user(text: str) -> JSON:
    content = [{"type": "input_text", "text": text}]
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": content},
    }


async def _text_session(probe: RealtimeProbe, **extra: object) -> None:
    await probe.send({"type": "session.update", "session": {**TEXT_SESSION, **extra}})
    await probe.until("session.updated")


async def _long_task(probe: RealtimeProbe) -> None:
    await _text_session(probe)
    await probe.send(_user(LONG_TASK))


async def _respond(probe: RealtimeProbe, **response: object) -> JSON:
    """``response.create``; the ``response`` of its ``response.done``."""
    await probe.send({"type": "response.create", **({"response": response} if response else {})})
    done = await probe.until("response.done")
    return as_json(done.get("response"))


def _list(value: object) -> list[JSON]:
    return [as_json(entry) for entry in value] if is_list(value) else []


def _texts(response: JSON) -> str:
    found: list[str] = []
    for item in _list(response.get("output")):
        for part in _list(item.get("content")):
            found.append(str(part.get("text") or part.get("transcript") or ""))
    return "".join(found)


async def session_lifecycle(target: RealtimeTarget) -> str:
    """``session.created`` first; ``session.update`` answered by ``session.updated``."""
    async with target.session() as probe:
        await probe.send({"type": "session.update", "session": TEXT_SESSION})
        updated = await probe.until("session.updated")
        modalities = as_json(updated.get("session")).get("output_modalities")
        if modalities != ["text"]:
            raise CheckFailed(f"session.updated shows output_modalities {modalities!r}")
        await probe.finish()
    return "created, updated"


async def text_turn(target: RealtimeTarget) -> str:
    """A user message and ``response.create``: the item is added and a response completes."""
    async with target.session() as probe:
        await _text_session(probe)
        await probe.send(_user(HELLO))
        await probe.until("conversation.item.added")
        response = await _respond(probe)
        if response.get("status") != "completed":
            raise CheckFailed(f"the response ended {response.get('status')!r}")
        if not _texts(response):
            raise CheckFailed("a completed text response without text")
        await probe.finish()
    return f"{len(probe.seen)} events"


async def function_call(target: RealtimeTarget) -> str:
    """A forced function call, its output added, and a second response that completes."""
    async with target.session() as probe:
        await _text_session(probe, tools=[REALTIME_WEATHER_TOOL])
        await probe.send(_user(WEATHER_PROMPT))
        first = await _respond(probe, tool_choice={"type": "function", "name": "get_weather"})
        calls = [i for i in _list(first.get("output")) if i.get("type") == "function_call"]
        if not calls or calls[0].get("name") != "get_weather":
            raise CheckFailed("a forced tool_choice produced no get_weather call")
        try:
            json.loads(str(calls[0].get("arguments")))
        except ValueError as error:
            raise CheckFailed("the call's arguments are not JSON") from error
        output = {
            "type": "function_call_output",
            "call_id": calls[0].get("call_id"),
            "output": "Sunny, 22 C.",
        }
        await probe.send({"type": "conversation.item.create", "item": output})
        second = await _respond(probe)
        if second.get("status") != "completed":
            raise CheckFailed(f"the answer to the call output ended {second.get('status')!r}")
        await probe.finish()
    return "get_weather called, output answered"


async def create_while_active(target: RealtimeTarget) -> str:
    """A second ``response.create`` while one runs is refused with an ``error``; the first ends."""
    async with target.session() as probe:
        await _long_task(probe)
        # Back to back: the second arrives while the first runs, however fast the model is.
        await probe.send({"type": "response.create"})
        await probe.send({"type": "response.create"})
        refused = await probe.until("error")
        await probe.send({"type": "response.cancel"})
        await probe.until("response.done")
        await probe.finish()
    code = as_json(refused.get("error")).get("code")
    return f"refused ({code})"


async def malformed_event(target: RealtimeTarget) -> str:
    """A frame that is not JSON and an unknown event type each get an ``error``; it goes on."""
    async with target.session() as probe:
        await probe.send("this is not JSON")
        await probe.until("error")
        await probe.send({"type": "conversation.nonsense"})
        await probe.until("error")
        await _text_session(probe)
        await probe.finish()
    return "2 errors, session alive"


async def cancel(target: RealtimeTarget) -> str:
    """``response.cancel`` while a response runs ends it ``cancelled``."""
    async with target.session() as probe:
        await _long_task(probe)
        await probe.send({"type": "response.create"})
        await probe.until("response.created")
        await probe.send({"type": "response.cancel"})
        done = as_json((await probe.until("response.done")).get("response"))
        await probe.finish()
    status = done.get("status")
    if status not in ("cancelled", "completed"):
        raise CheckFailed(f"a cancelled response ended {status!r}")
    return f"ended {status}"


#: name -> check, in report order
REALTIME_CHECKS: Sequence[tuple[str, RealtimeCheck]] = (
    ("session lifecycle", session_lifecycle),
    ("text turn", text_turn),
    ("function call", function_call),
    ("response.create while active", create_while_active),
    ("malformed event", malformed_event),
    ("response.cancel", cancel),
)
