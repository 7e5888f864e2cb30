"""The suite's Responses stream check: :mod:`antiphon.check`'s rules, raised as an assertion.

``check_stream(payloads)`` runs :func:`antiphon.check.check_response_stream` (the same rules
``antiphon check`` applies to any server: the official types, strict and by alias, sequence
numbers, lifecycle, indexes, joined deltas, one terminal event) and returns the final response
the official client's stream helper accumulates. Any violation raises :class:`GrammarError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from openai.types.responses import Response

from antiphon.check import Violation, check_response_stream
from antiphon.wire.sse import SSEDecoder, SSEEncoder, StreamEvent
from tests.grammar_items import JSON, is_json

__all__ = ["GrammarError", "check_stream", "to_wire"]


class GrammarError(AssertionError):
    """The stream broke the schema or the grammar; ``violations`` lists every finding."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__("\n".join(v.compact() for v in violations))
        self.violations = list(violations)

    @property
    def rules(self) -> set[str]:
        """The ids of the rules broken."""
        return {v.rule for v in self.violations}


def to_wire(events: Iterable[StreamEvent]) -> list[dict[str, object]]:
    """Encode events with the SSE encoder, decode the bytes, and parse each ``data`` as JSON."""
    encoder, decoder = SSEEncoder(), SSEDecoder()
    payloads: list[dict[str, object]] = []
    for event in events:
        for message in decoder.feed(encoder.encode(event)):
            assert message.event == event.type
            payload: object = json.loads(message.data)  # JSON boundary: checked just below
            assert is_json(payload)
            payloads.append(dict(payload))
    return payloads


def check_stream(payloads: Sequence[JSON]) -> Response:
    """Validate one decoded stream; return the final response the official client accumulates."""
    report = check_response_stream(payloads)
    if report.violations:
        raise GrammarError(report.violations)
    assert report.final is not None, "the official client yielded no final response"
    return report.final
