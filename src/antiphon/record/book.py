"""Which recorded exchange answers a request: the sans-I/O core of replay.

A request takes the first unused exchange, in the order the recorded requests started, that it
matches exactly (method, path, query and body, each redacted as the recorder redacted them;
WebSocket sessions by path and query). When none matches, the error names the first difference
from the first unused exchange of the same kind (a concurrent client may send its requests in a
slightly different order than the recording, which is why matching is not strictly in order).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from antiphon.exceptions import AntiphonError
from antiphon.record._json import is_mapping
from antiphon.record.cassette import Exchange, HttpExchange, WebSocketExchange
from antiphon.record.diff import first_difference
from antiphon.record.redact import redact_json, redact_query

__all__ = ["ReplayBook", "ReplayMismatch", "client_frame_difference"]


class ReplayMismatch(AntiphonError):
    """The request departs from the recording; ``str()`` names the first difference."""


class ReplayBook:
    """The cassette's exchanges and which of them were used."""

    def __init__(self, exchanges: Sequence[Exchange]) -> None:
        self._exchanges = list(exchanges)
        self._used: set[int] = set()

    def take_http(
        self, method: str, path: str, query: list[tuple[str, str]], body: object
    ) -> HttpExchange:
        """The recorded exchange for this request, now used; :class:`ReplayMismatch` if none."""
        got = {
            "method": method,
            "path": path,
            "query": redact_query(query),
            "body": redact_json(body),
        }
        first: HttpExchange | None = None
        for index, exchange in enumerate(self._exchanges):
            if index in self._used or not isinstance(exchange, HttpExchange):
                continue
            first = first or exchange
            if first_difference(_http_key(exchange), got) is None:
                self._used.add(index)
                return exchange
        raise ReplayMismatch(_missing("request", got, None if first is None else _http_key(first)))

    def take_websocket(self, path: str, query: list[tuple[str, str]]) -> WebSocketExchange:
        """The recorded session opened at this path and query, now used."""
        got: dict[str, object] = {"path": path, "query": _pairs(query)}
        first: WebSocketExchange | None = None
        for index, exchange in enumerate(self._exchanges):
            if index in self._used or not isinstance(exchange, WebSocketExchange):
                continue
            first = first or exchange
            if first_difference(_ws_key(exchange), got) is None:
                self._used.add(index)
                return exchange
        raise ReplayMismatch(_missing("session", got, None if first is None else _ws_key(first)))

    def unused(self) -> int:
        """How many recorded exchanges no request has taken yet."""
        return len(self._exchanges) - len(self._used)


def client_frame_difference(recorded: str, got: object) -> str | None:
    """How a client event departs from the recorded one, or ``None``.

    ``event_id`` is left out: clients draw fresh ones.
    """
    try:
        expected: object = json.loads(recorded)
    except ValueError:
        expected = recorded
    return first_difference(_without_event_id(expected), _without_event_id(redact_json(got)))


def _without_event_id(value: object) -> object:
    if is_mapping(value):
        return {k: v for k, v in value.items() if k != "event_id"}
    return value


def _pairs(query: list[tuple[str, str]]) -> list[list[str]]:
    return [list(pair) for pair in redact_query(query)]


def _http_key(exchange: HttpExchange) -> dict[str, object]:
    return {
        "method": exchange.method,
        "path": exchange.path,
        "query": [list(pair) for pair in exchange.query],
        "body": exchange.body,
    }


def _ws_key(exchange: WebSocketExchange) -> dict[str, object]:
    return {"path": exchange.path, "query": [list(pair) for pair in exchange.query]}


def _missing(what: str, got: dict[str, object], first: dict[str, object] | None) -> str:
    if first is None:
        return f"no recorded {what} is left for {got.get('method', 'WS')} {got['path']}"
    difference = first_difference(first, got)
    return f"the {what} departs from the recording at {difference}"
