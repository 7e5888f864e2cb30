"""A deliberately broken Realtime server: antiphon's app behind an ASGI middleware that breaks
one rule in the events its WebSocket sends."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REALTIME_BREAKS", "BreakingEvents", "Frame"]

Frame = dict[str, object]
#: one server event in, the events sent instead out (a fresh state per connection)
Breaker = Callable[[Frame], list[Frame]]


def _drop_session_created() -> Breaker:
    return lambda frame: [] if frame["type"] == "session.created" else [frame]


def _delta_after_done() -> Breaker:
    last: list[Frame] = []

    def breaks(frame: Frame) -> list[Frame]:
        if frame["type"] == "response.output_text.delta":
            last[:] = [copy.deepcopy(frame)]
        if frame["type"] == "response.output_text.done" and last:
            return [frame, {**last[0], "event_id": "event_late"}]
        return [frame]

    return breaks


def _two_done() -> Breaker:
    def breaks(frame: Frame) -> list[Frame]:
        if frame["type"] == "response.done":
            return [frame, {**copy.deepcopy(frame), "event_id": f"{frame['event_id']}_again"}]
        return [frame]

    return breaks


def _extra_field() -> Breaker:
    def breaks(frame: Frame) -> list[Frame]:
        return [{**frame, "obfuscation": "x"} if frame["type"] == "response.done" else frame]

    return breaks


def _wrong_output_index() -> Breaker:
    def breaks(frame: Frame) -> list[Frame]:
        if frame["type"] == "response.output_item.added":
            return [{**frame, "output_index": 1}]
        return [frame]

    return breaks


#: name -> (a fresh breaker per connection, the check that must catch it, the rule it names)
REALTIME_BREAKS: dict[str, tuple[Callable[[], Breaker], str, str]] = {
    "no session.created": (_drop_session_created, "session lifecycle", "realtime.first"),
    "delta after done": (_delta_after_done, "text turn", "delta.after-done"),
    "two response.done": (_two_done, "text turn", "realtime.response-unknown"),
    "a field outside the spec": (_extra_field, "text turn", "schema.extra-field"),
    "wrong output_index": (_wrong_output_index, "text turn", "item.output-index"),
}


class BreakingEvents:
    """ASGI middleware: every WebSocket text frame the app sends goes through a breaker."""

    def __init__(self, app: ASGIApp, breaker: Callable[[], Breaker]) -> None:
        self._app = app
        self._breaker = breaker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self._app(scope, receive, send)
            return
        breaks = self._breaker()

        async def sending(message: Message) -> None:
            if message["type"] != "websocket.send" or message.get("text") is None:
                await send(message)
                return
            for frame in breaks(json.loads(message["text"])):
                await send({"type": "websocket.send", "text": json.dumps(frame)})

        await self._app(scope, receive, sending)
