"""Deliberately broken Responses servers, for ``antiphon check``'s tests.

Antiphon's real app behind an ASGI middleware that breaks one rule in the event streams it
answers, or answers a bad field with a 500.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from antiphon.wire.sse import SSEDecoder
from tests.grammar_items import as_json

__all__ = ["BREAKS", "BreakingServer", "Payloads"]

Payloads = list[dict[str, object]]


def _at(payloads: Payloads, kind: str) -> int:
    return next(i for i, p in enumerate(payloads) if p["type"] == kind)


def _drop_sequence_number(payloads: Payloads) -> None:
    payloads[1].pop("sequence_number")


def _delta_after_done(payloads: Payloads) -> None:
    late = copy.deepcopy(payloads[_at(payloads, "response.output_text.delta")])
    payloads.insert(_at(payloads, "response.output_text.done") + 1, late)
    _renumber(payloads)


def _two_terminals(payloads: Payloads) -> None:
    payloads.append(copy.deepcopy(payloads[-1]))
    _renumber(payloads)


def _wrong_output_index(payloads: Payloads) -> None:
    payloads[_at(payloads, "response.output_item.added")]["output_index"] = 1


def _aliased_field(payloads: Payloads) -> None:
    # What a server that dumps by Python field name sends: text.format's "schema" as "schema_".
    for payload in payloads:
        fmt = as_json(as_json(as_json(payload.get("response")).get("text")).get("format"))
        if isinstance(fmt, dict) and "schema" in fmt:
            fmt["schema_"] = fmt.pop("schema")


def _renumber(payloads: Payloads) -> None:
    for number, payload in enumerate(payloads):
        payload["sequence_number"] = number


#: name -> (how the streams are broken, the check that must catch it, the rule it must name)
BREAKS: dict[str, tuple[Callable[[Payloads], None], str, str]] = {
    "missing sequence number": (_drop_sequence_number, "streamed text", "schema.invalid"),
    "delta after done": (_delta_after_done, "streamed text", "delta.after-done"),
    "two terminal events": (_two_terminals, "streamed text", "lifecycle.terminal"),
    "wrong output_index": (_wrong_output_index, "streamed text", "item.output-index"),
    "aliased field name": (_aliased_field, "structured output", "schema.alias"),
}


class BreakingServer:
    """ASGI middleware in front of antiphon's app: breaks every event stream it answers with
    ``breaks`` (buffered to its end, then sent broken), and with ``fail_bad_field`` answers a
    request with ``temperature: "hot"`` with a bare 500."""

    def __init__(
        self,
        app: ASGIApp,
        breaks: Callable[[Payloads], None] | None = None,
        *,
        fail_bad_field: bool = False,
    ) -> None:
        self._app = app
        self._breaks = breaks
        self._fail_bad_field = fail_bad_field

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body = await _body(receive)
        if self._fail_bad_field and b'"temperature":"hot"' in body.replace(b" ", b""):
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            return
        replayed = False

        async def again() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, again, _StreamBreaker(send, self._breaks))


class _StreamBreaker:
    """The ``send`` of one response: an event stream is held to its end, broken, then sent."""

    def __init__(self, send: Send, breaks: Callable[[Payloads], None] | None) -> None:
        self._send = send
        self._breaks = breaks
        self._start: Message | None = None
        self._held = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            kind = headers.get(b"content-type", b"").decode()
            if self._breaks is not None and kind.startswith("text/event-stream"):
                self._start = message
                return
        elif message["type"] == "http.response.body" and self._start is not None:
            self._held += message.get("body", b"")
            if message.get("more_body", False):
                return
            assert self._breaks is not None
            payloads: Payloads = [json.loads(m.data) for m in SSEDecoder().feed(bytes(self._held))]
            self._breaks(payloads)
            text = "".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in payloads)
            await self._send(self._start)
            await self._send({"type": "http.response.body", "body": text.encode()})
            return
        await self._send(message)


async def _body(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(body)
