"""The grammar checker itself: it must refuse broken variants of a valid ledger stream."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from tests.grammar import GrammarError, check_stream, to_wire
from tests.wire.test_ledger_catalogue import run

Payloads = list[dict[str, object]]


def _valid() -> Payloads:
    return to_wire(run("reasoning, preamble, function call").drain())


def _index(payloads: Payloads, event_type: str) -> int:
    return next(i for i, p in enumerate(payloads) if p["type"] == event_type)


def _drop(event_type: str) -> Callable[[Payloads], object]:
    return lambda p: p.pop(_index(p, event_type))


def _set(event_type: str, key: str, value: object) -> Callable[[Payloads], object]:
    return lambda p: p[_index(p, event_type)].__setitem__(key, value)


def _renumber(payloads: Payloads) -> None:
    for number, payload in enumerate(payloads):
        payload["sequence_number"] = number


def _swap_first_two(payloads: Payloads) -> None:
    payloads[0], payloads[1] = payloads[1], payloads[0]


def _twice_terminal(payloads: Payloads) -> None:
    payloads.append(copy.deepcopy(payloads[-1]))


def _delta_after_done(payloads: Payloads) -> None:
    delta = copy.deepcopy(payloads[_index(payloads, "response.output_text.delta")])
    payloads.insert(_index(payloads, "response.output_text.done") + 1, delta)


def _alias_schema(payloads: Payloads) -> None:
    # A server that dumps by Python field name writes text.format's "schema" as "schema_".
    response = _response(payloads[0])
    schema: dict[str, object] = {"type": "object", "properties": {}}
    fmt: dict[str, object] = {
        "type": "json_schema",
        "name": "answer",
        "schema_": schema,
        "strict": True,
    }
    response["text"] = {"format": fmt}


#: each breakage, and the rule of antiphon.check it must trip
BROKEN: dict[str, tuple[Callable[[Payloads], object], str]] = {
    "unknown type": (
        _set("response.in_progress", "type", "response.brand_new"),
        "schema.unknown-type",
    ),
    "extra field": (_set("response.output_text.delta", "name", "x"), "schema.extra-field"),
    "aliased field": (_alias_schema, "schema.alias"),
    "missing field": (
        lambda p: p[_index(p, "response.output_text.delta")].pop("logprobs"),
        "schema.invalid",
    ),
    "sequence gap": (_set("response.in_progress", "sequence_number", 7), "sequence.number"),
    "sequence missing": (
        lambda p: p[_index(p, "response.in_progress")].pop("sequence_number"),
        "schema.invalid",
    ),
    "created not first": (_swap_first_two, "lifecycle.first"),
    "two terminals": (_twice_terminal, "lifecycle.terminal"),
    "no terminal": (lambda p: p.pop(), "lifecycle.no-terminal"),
    "item never done": (_drop("response.output_item.done"), "item.never-done"),
    "delta outside its part": (_drop("response.content_part.added"), "part.not-open"),
    "delta after done": (_delta_after_done, "delta.after-done"),
    "wrong output_index": (
        _set("response.output_item.added", "output_index", 3),
        "item.output-index",
    ),
    "empty delta": (_set("response.output_text.delta", "delta", ""), "delta.empty"),
    "wrong item id": (_set("response.reasoning_text.delta", "item_id", "rs_x"), "item.item-id"),
    "arguments differ": (
        _set("response.function_call_arguments.done", "arguments", "{}"),
        "delta.join",
    ),
    "text differs": (_set("response.output_text.done", "text", "nope"), "delta.join"),
    "output differs": (lambda p: _response(p[-1]).update(output=[]), "output.final"),
}


def _response(payload: dict[str, object]) -> dict[str, object]:
    response = payload["response"]
    assert isinstance(response, dict)
    return response  # pyright: ignore[reportUnknownVariableType]


def test_the_valid_stream_passes() -> None:
    check_stream(_valid())


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_checker_refuses_a_broken_stream(case: str) -> None:
    breaks, rule = BROKEN[case]
    payloads = _valid()
    breaks(payloads)
    if case not in ("sequence gap", "sequence missing", "created not first"):
        _renumber(payloads)
    with pytest.raises(GrammarError) as raised:
        check_stream(payloads)
    assert rule in raised.value.rules, raised.value.violations
