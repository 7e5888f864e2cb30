"""A Responses stream checker for tests: schema, grammar, and replay through the official client.

``check_stream(payloads)`` takes the decoded JSON events of one stream and

1. validates each, in strict mode, against the ``ResponseStreamEvent`` member its ``type`` names,
   refusing fields the spec does not have (pydantic would keep them as extras);
2. checks the grammar: sequence numbers 0..N-1; ``response.created`` first (then
   ``response.queued`` if queued), ``response.in_progress`` before any item; exactly one terminal
   event, last, with a matching status; one response id; ``output_item.added``/``done`` pairs
   with contiguous output_index and the same id/type; each item's events in the order the
   Responses streaming spec gives for its type (:data:`tests.grammar_items.ITEM_GRAMMAR`);
   content_index 0, 1, ... per item; no empty delta; joined deltas equal to the
   ``.done`` text/arguments/code and to the done item; the final output equal to the done items;
3. replays the events through ``ResponseStreamState`` (what ``client.responses.stream()`` uses)
   and returns the final response it yields, as a plain ``Response``.

Any violation raises :class:`GrammarError` listing every problem found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Annotated, get_args, get_origin

import pydantic
from openai import omit
from openai.lib.streaming.responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

from antiphon.wire.sse import SSEDecoder, SSEEncoder, StreamEvent
from tests.grammar_items import JSON, ItemTracker, as_json, is_json, is_list

__all__ = ["GrammarError", "check_stream", "to_wire"]

TERMINAL = {"response.completed", "response.incomplete", "response.failed", "error"}
LIFECYCLE = {"response.created", "response.queued", "response.in_progress"} | TERMINAL
TERMINAL_STATUS = {
    "response.completed": {"completed"},
    "response.incomplete": {"incomplete", "cancelled"},
    "response.failed": {"failed"},
}


class GrammarError(AssertionError):
    """The stream broke the schema or the grammar; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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
    problems: list[str] = []
    events = [_validate(index, payload, problems) for index, payload in enumerate(payloads)]
    if not problems:
        problems += _check_grammar(payloads)
    if problems:
        raise GrammarError(problems)
    return _replay([event for event in events if event is not None])


# -- schema ---------------------------------------------------------------------------------


@cache
def _adapters() -> dict[str, pydantic.TypeAdapter[pydantic.BaseModel]]:
    union = ResponseStreamEvent
    members = get_args(get_args(union)[0] if get_origin(union) is Annotated else union)
    table: dict[str, pydantic.TypeAdapter[pydantic.BaseModel]] = {}
    for member in members:
        assert isinstance(member, type)
        assert issubclass(member, pydantic.BaseModel)
        for literal in get_args(member.model_fields["type"].annotation):
            table[str(literal)] = pydantic.TypeAdapter(member)
    return table


@cache
def _union() -> pydantic.TypeAdapter[ResponseStreamEvent]:
    return pydantic.TypeAdapter[ResponseStreamEvent](ResponseStreamEvent)


def _validate(index: int, payload: JSON, problems: list[str]) -> ResponseStreamEvent | None:
    adapter = _adapters().get(str(payload.get("type")))
    if adapter is None:
        problems.append(f"#{index}: unknown event type {payload.get('type')!r}")
        return None
    try:
        event = adapter.validate_json(json.dumps(payload), strict=True)
    except pydantic.ValidationError as error:
        problems.append(f"#{index} {payload.get('type')}: {error}")
        return None
    problems += [f"#{index}: field {path} is not in the spec" for path in _extras(event, "")]
    # The member was picked by ``type`` for precise errors; the union types the result (an
    # instance of a member passes through unchanged).
    return _union().validate_python(event)


def _extras(value: object, path: str) -> list[str]:
    if isinstance(value, pydantic.BaseModel):
        found = [f"{path}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _extras(getattr(value, name), f"{path}.{name}")
        return found
    if is_list(value):
        return [p for i, v in enumerate(value) for p in _extras(v, f"{path}[{i}]")]
    return []


# -- grammar --------------------------------------------------------------------------------


def _check_grammar(events: Sequence[JSON]) -> list[str]:
    problems = [
        f"#{index}: sequence_number {event.get('sequence_number')}"
        for index, event in enumerate(events)
        if event.get("sequence_number") != index
    ]
    problems += _check_lifecycle(events)
    items = ItemTracker(problems)
    for index, event in enumerate(events):
        if event["type"] not in LIFECYCLE:
            items.feed(index, event)
    items.finish()
    response = events[-1].get("response")
    if is_json(response) and response.get("output") != items.done_items():
        problems.append("the terminal response's output differs from the done items")
    return problems


def _check_lifecycle(events: Sequence[JSON]) -> list[str]:
    types = [str(event["type"]) for event in events]
    if not types or types[0] != "response.created":
        return ["the first event is not response.created"]
    problems: list[str] = []
    lifecycle = [as_json(event.get("response")) for event in events if event["type"] in LIFECYCLE]
    if len({response.get("id") for response in lifecycle} - {None}) != 1:
        problems.append("lifecycle events carry several response ids")
    head = ["response.created", "response.queued"]
    head = head if lifecycle[0].get("status") == "queued" else head[:1]
    if types[: len(head)] != head:
        problems.append(f"the stream starts {types[:2]}, expected {head}")
    terminals = [i for i, t in enumerate(types) if t in TERMINAL]
    if terminals != [len(types) - 1]:
        return [*problems, f"terminal events at {terminals}, expected one, last"]
    last, status = types[-1], lifecycle[-1].get("status")
    if last != "error" and status not in TERMINAL_STATUS[last]:
        problems.append(f"{last} carries status {status!r}")
    if last == "response.failed" and not lifecycle[-1].get("error"):
        problems.append("response.failed without an error")
    body = types[len(head) : -1]
    if body and (body[0] != "response.in_progress" or body.count("response.in_progress") > 1):
        problems.append("response.in_progress must come once, right after the stream head")
    return problems


# -- replay ---------------------------------------------------------------------------------


def _replay(events: Sequence[ResponseStreamEvent]) -> Response:
    state = ResponseStreamState[object](input_tools=omit, text_format=omit)
    yielded: list[pydantic.BaseModel] = []
    for event in events:
        yielded += state.handle_event(event)
    final = getattr(yielded[-1], "response", None)
    assert isinstance(final, Response), "the official client yielded no final response"
    # The helper returns a ParsedResponse: drop the fields it adds to text parts and calls.
    wire = _drop_sdk_fields(final.model_dump(mode="json", by_alias=True, exclude_unset=True))
    return Response.model_validate(wire)


_SDK_FIELDS = {"parsed", "parsed_arguments"}


def _drop_sdk_fields(value: object) -> object:
    if is_json(value):
        return {k: _drop_sdk_fields(v) for k, v in value.items() if k not in _SDK_FIELDS}
    if is_list(value):
        return [_drop_sdk_fields(v) for v in value]
    return value
