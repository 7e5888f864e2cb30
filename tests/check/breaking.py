"""Deliberately broken Responses servers, for ``antiphon check``'s tests.

The real app behind an httpx transport that breaks one rule in the streams it relays, or
answers a bad field with a 500.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import httpx

from antiphon.wire.sse import SSEDecoder
from tests.grammar_items import as_json

__all__ = ["BREAKS", "BreakingTransport", "Payloads"]

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


class BreakingTransport(httpx.AsyncBaseTransport):
    """Relays to the real server; breaks every complete event stream with ``breaks``, and with
    ``fail_bad_field`` answers a request with ``temperature: "hot"`` with a bare 500."""

    def __init__(
        self, breaks: Callable[[Payloads], None] | None = None, *, fail_bad_field: bool = False
    ) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._breaks = breaks
        self._fail_bad_field = fail_bad_field

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._fail_bad_field and b'"temperature":"hot"' in request.content.replace(b" ", b""):
            return httpx.Response(500, text="Internal Server Error")
        answer = await self._inner.handle_async_request(request)
        kind = answer.headers.get("content-type", "")
        if self._breaks is None or not kind.startswith("text/event-stream"):
            return answer
        body = await answer.aread()
        payloads: Payloads = [json.loads(m.data) for m in SSEDecoder().feed(body)]
        self._breaks(payloads)
        text = "".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in payloads)
        return httpx.Response(200, headers={"content-type": kind}, text=text)

    async def aclose(self) -> None:
        await self._inner.aclose()
