"""The response lifecycle of the ledger: start, queue, end, ids, echoes, snapshots."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseCreatedEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseStreamEvent,
)
from openai.types.shared import Reasoning

from antiphon.exceptions import LedgerStateError
from antiphon.wire import ResponseLedger, random_id
from tests.wire.test_ledger_catalogue import (
    CREATED_AT,
    SEARCH,
    SERVER_ERROR,
    make_ledger,
    run,
    started,
)


def _types(events: list[ResponseStreamEvent]) -> list[str]:
    return [event.type for event in events]


def test_start_emits_created_then_in_progress_from_sequence_zero() -> None:
    ledger = started()
    events = ledger.drain()
    assert _types(events) == ["response.created", "response.in_progress"]
    assert [event.sequence_number for event in events] == [0, 1]
    assert isinstance(events[0], ResponseCreatedEvent)
    assert events[0].response.status == "in_progress"
    assert events[0].response.output == []


def test_background_run_is_queued_until_it_starts() -> None:
    ledger = make_ledger({"model": "m", "background": True})
    ledger.enqueue()
    assert ledger.status == "queued"
    created, queued = ledger.drain()
    assert isinstance(created, ResponseCreatedEvent)
    assert (created.response.status, queued.type) == ("queued", "response.queued")
    ledger.start()
    assert _types(ledger.drain()) == ["response.in_progress"]
    assert ledger.status == "in_progress"


def test_status_and_closed_follow_the_lifecycle() -> None:
    ledger = make_ledger()
    assert (ledger.status, ledger.closed) == (None, False)
    ledger.start()
    assert (ledger.status, ledger.closed) == ("in_progress", False)
    final = ledger.complete()
    assert (ledger.status, ledger.closed) == ("completed", True)
    assert final is ledger.response
    assert final.completed_at == CREATED_AT


def _queued() -> ResponseLedger:
    ledger = make_ledger()
    ledger.enqueue()
    return ledger


def _done() -> ResponseLedger:
    ledger = started()
    ledger.complete()
    return ledger


ILLEGAL: list[tuple[str, Callable[[], ResponseLedger], Callable[[ResponseLedger], object]]] = [
    ("read the response before start", make_ledger, lambda led: led.response),
    ("complete before start", make_ledger, lambda led: led.complete()),
    ("fail before start", make_ledger, lambda led: led.fail(SERVER_ERROR)),
    ("cancel before start", make_ledger, lambda led: led.cancel()),
    ("add an item before start", make_ledger, lambda led: led.add_message()),
    ("start twice", started, lambda led: led.start()),
    ("enqueue after start", started, lambda led: led.enqueue()),
    ("enqueue twice", _queued, lambda led: led.enqueue()),
    ("complete while queued", _queued, lambda led: led.complete()),
    ("end incomplete while queued", _queued, lambda led: led.incomplete()),
    ("add an item while queued", _queued, lambda led: led.add_reasoning()),
    ("start after the end", _done, lambda led: led.start()),
    ("complete twice", _done, lambda led: led.complete()),
    ("fail after the end", _done, lambda led: led.fail(SERVER_ERROR)),
    ("cancel after the end", _done, lambda led: led.cancel()),
    ("end incomplete after the end", _done, lambda led: led.incomplete()),
    ("set usage after the end", _done, lambda led: led.set_usage(input_tokens=1, output_tokens=1)),
    ("add an item after the end", _done, lambda led: led.add_web_search_call(SEARCH)),
]


@pytest.mark.parametrize(("what", "make", "operation"), ILLEGAL, ids=[c[0] for c in ILLEGAL])
def test_illegal_lifecycle_transitions_raise_and_emit_nothing(
    what: str, make: Callable[[], ResponseLedger], operation: Callable[[ResponseLedger], object]
) -> None:
    ledger = make()
    before = ledger.events_emitted
    with pytest.raises(LedgerStateError) as raised:
        operation(ledger)
    assert raised.value.expected.startswith("response ")
    assert raised.value.actual == f"response {ledger.status or 'new'}", what
    assert ledger.events_emitted == before


def test_legal_lifecycle_ends_from_queued() -> None:
    failed, cancelled = _queued(), _queued()
    assert failed.fail(SERVER_ERROR).status == "failed"
    assert cancelled.cancel().status == "cancelled"
    assert _types(cancelled.drain())[-1] == "response.incomplete"


def test_complete_refuses_open_items_and_names_them() -> None:
    ledger = started()
    message = ledger.add_message()
    with pytest.raises(LedgerStateError, match=message.id) as raised:
        ledger.complete()
    assert raised.value.expected == "every output item done"
    assert ledger.status == "in_progress"


def test_incomplete_closes_open_items_as_incomplete_then_ends() -> None:
    ledger = run("incomplete with open items")
    events = ledger.drain()
    final = events[-1]
    assert isinstance(final, ResponseIncompleteEvent)
    assert final.response.incomplete_details is not None
    assert final.response.incomplete_details.reason == "max_output_tokens"
    done = [e.item for e in events if isinstance(e, ResponseOutputItemDoneEvent)]
    statuses = {getattr(item, "status", None) for item in done}
    assert statuses <= {"incomplete", None}  # mcp_list_tools has no status field
    assert all(item.closed for item in ledger.items)


def test_fail_closes_items_failed_where_their_type_allows() -> None:
    events = run("failed with open items").drain()
    final = events[-1]
    assert isinstance(final, ResponseFailedEvent)
    assert final.response.error == SERVER_ERROR
    done = {
        (e.item.type, getattr(e.item, "status", None))
        for e in events
        if isinstance(e, ResponseOutputItemDoneEvent)
    }
    assert done == {
        ("reasoning", "incomplete"),
        ("message", "incomplete"),
        ("function_call", "incomplete"),
        ("mcp_list_tools", None),
        ("mcp_call", "failed"),
        ("code_interpreter_call", "failed"),
        ("web_search_call", "failed"),
    }


def test_ids_carry_conventional_prefixes() -> None:
    ledger = run("mcp list, call, failure, approval")
    ids = [item.id for item in ledger.response.output]
    assert ledger.id.startswith("resp_")
    assert [str(i).split("_")[0] for i in ids] == ["mcpl", "mcpl", "mcp", "mcp", "mcpr"]
    calls = run("reasoning, preamble, function call").response.output
    assert [str(item.id).split("_")[0] for item in calls] == ["rs", "msg", "fc"]
    assert getattr(calls[2], "call_id", "").startswith("call_")
    code = run("code interpreter and web search").response.output
    assert {str(item.id).split("_")[0] for item in code} == {"ci", "ws"}


def test_random_ids_are_url_safe_fixed_length_and_unique() -> None:
    ids = {random_id("msg") for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"msg_[0-9a-f]{48}", i) for i in ids)
    assert ResponseLedger({"model": "m"}).id.startswith("resp_")


def test_a_given_response_id_is_kept() -> None:
    assert ResponseLedger({"model": "m"}, response_id="resp_given").id == "resp_given"


def test_output_index_is_contiguous_and_content_index_restarts_per_item() -> None:
    events = run("multi-part message with refusal").drain()
    events += run("reasoning, preamble, function call").drain()
    added = [e.output_index for e in events if isinstance(e, ResponseOutputItemAddedEvent)]
    assert added == [0, 0, 1, 2]
    parts = [e.content_index for e in events if isinstance(e, ResponseContentPartAddedEvent)]
    assert parts == [0, 1, 2, 0, 0]


def test_request_parameters_are_echoed_with_defaults() -> None:
    bare = started().response
    assert (bare.tools, bare.tool_choice, bare.parallel_tool_calls) == ([], "auto", True)
    assert (bare.temperature, bare.top_p, bare.truncation) == (1.0, 1.0, "disabled")
    assert (bare.background, bare.metadata, bare.instructions) == (False, {}, None)
    assert bare.text is not None
    assert bare.text.format is not None
    assert bare.text.format.type == "text"
    reasoning = Reasoning(effort="high")
    full = started(
        {
            "model": "gpt-oss-120b",
            "instructions": "Be brief.",
            "temperature": 0.2,
            "max_output_tokens": 64,
            "metadata": {"k": "v"},
            "previous_response_id": "resp_prev",
            "reasoning": reasoning,
            "tool_choice": "none",
            "user": "u1",
            "service_tier": "default",
            "store": False,
        }
    ).response
    assert (full.model, full.instructions, full.temperature) == ("gpt-oss-120b", "Be brief.", 0.2)
    assert (full.max_output_tokens, full.metadata) == (64, {"k": "v"})
    assert (full.previous_response_id, full.reasoning) == ("resp_prev", reasoning)
    assert (full.tool_choice, full.user, full.service_tier) == ("none", "u1", "default")


def test_usage_set_before_the_end_is_on_the_final_response() -> None:
    ledger = started()
    ledger.set_usage(input_tokens=10, output_tokens=4, cached_tokens=3, reasoning_tokens=2)
    final = ledger.complete()
    assert final.usage is not None
    assert (final.usage.total_tokens, final.usage.input_tokens_details.cached_tokens) == (14, 3)
    assert final.usage.output_tokens_details.reasoning_tokens == 2


def test_drain_hands_out_each_event_once_and_counts_them() -> None:
    ledger = started()
    first = ledger.drain()
    message = ledger.add_message()
    message.open_text()
    assert ledger.events_emitted == len(first) + 2
    assert _types(ledger.drain()) == ["response.output_item.added", "response.content_part.added"]
    assert ledger.drain() == []


def test_snapshot_in_progress_shows_open_items_as_they_stand() -> None:
    ledger = started()
    message = ledger.add_message(phase="commentary")
    message.open_text()
    message.delta("so far")
    snapshot = ledger.response
    assert snapshot.status == "in_progress"
    assert snapshot.output_text == "so far"
    assert isinstance(snapshot.output[0], ResponseOutputMessage)
    assert snapshot.output[0].phase == "commentary"
    ledger.items[0].abandon()
    completed = ledger.complete()
    assert isinstance(ledger.drain()[-1], ResponseCompletedEvent)
    assert isinstance(completed.output[0], ResponseOutputMessage)
    assert completed.output[0].status == "incomplete"
