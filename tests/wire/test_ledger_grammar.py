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


BROKEN: dict[str, tuple[Callable[[Payloads], object], str]] = {
    "unknown type": (_set("response.in_progress", "type", "response.brand_new"), "unknown"),
    "extra field": (_set("response.output_text.delta", "name", "x"), "not in the spec"),
    "missing field": (lambda p: p[_index(p, "response.output_text.delta")].pop("logprobs"), "#"),
    "sequence gap": (_set("response.in_progress", "sequence_number", 7), "sequence_number"),
    "created not first": (_swap_first_two, "first event"),
    "two terminals": (_twice_terminal, "terminal events"),
    "no terminal": (lambda p: p.pop(), "terminal events"),
    "item never done": (_drop("response.output_item.done"), "never done"),
    "delta outside its part": (_drop("response.content_part.added"), "not the open part"),
    "empty delta": (_set("response.output_text.delta", "delta", ""), "empty delta"),
    "wrong item id": (_set("response.reasoning_text.delta", "item_id", "rs_x"), "item_id"),
    "arguments differ": (
        _set("response.function_call_arguments.done", "arguments", "{}"),
        "joined deltas",
    ),
    "text differs": (_set("response.output_text.done", "text", "nope"), "joined deltas"),
    "output differs": (lambda p: _response(p[-1]).update(output=[]), "output differs"),
}


def _response(payload: dict[str, object]) -> dict[str, object]:
    response = payload["response"]
    assert isinstance(response, dict)
    return response  # pyright: ignore[reportUnknownVariableType]


def test_the_valid_stream_passes() -> None:
    check_stream(_valid())


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_checker_refuses_a_broken_stream(case: str) -> None:
    breaks, finding = BROKEN[case]
    payloads = _valid()
    breaks(payloads)
    if case not in ("sequence gap", "created not first"):
        _renumber(payloads)
    with pytest.raises(GrammarError) as raised:
        check_stream(payloads)
    assert any(finding in problem for problem in raised.value.problems), raised.value.problems
