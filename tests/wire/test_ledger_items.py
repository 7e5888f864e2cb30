"""The per-item state machines of the ledger: every legal step, every refused one."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from openai.types.responses import (
    ResponseCodeInterpreterToolCall,
    ResponseFunctionWebSearch,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
)
from openai.types.responses.response_output_item import McpCall

from antiphon.exceptions import LedgerStateError
from antiphon.wire import (
    FunctionCallHandle,
    ItemHandle,
    MessageHandle,
    ReasoningHandle,
    ResponseLedger,
)
from tests.wire.test_ledger_catalogue import CITATION, LOGPROB, SEARCH, TOOL, TOOL_ERROR, started


def _types(events: list[ResponseStreamEvent]) -> list[str]:
    return [event.type.removeprefix("response.") for event in events]


def _fresh(ledger: ResponseLedger) -> list[str]:
    return _types(ledger.drain())


def _message(ledger: ResponseLedger) -> MessageHandle:
    message = ledger.add_message()
    message.open_text()
    return message


def test_message_parts_follow_the_grammar() -> None:
    ledger = started()
    ledger.drain()
    message = ledger.add_message(phase="final_answer")
    message.open_text()
    message.delta("Hi", [LOGPROB])
    message.annotate(CITATION)
    message.close_part()
    message.open_refusal()
    message.delta("No.")
    message.done()
    assert _fresh(ledger) == [
        "output_item.added",
        "content_part.added",
        "output_text.delta",
        "output_text.annotation.added",
        "output_text.done",
        "content_part.done",
        "content_part.added",
        "refusal.delta",
        "refusal.done",
        "content_part.done",
        "output_item.done",
    ]
    item = message.item
    assert isinstance(item, ResponseOutputMessage)
    text = item.content[0]
    assert isinstance(text, ResponseOutputText)
    assert (text.text, text.logprobs, text.annotations) == ("Hi", [LOGPROB], [CITATION])
    assert (item.status, item.phase, message.stage) == ("completed", "final_answer", "done")


def test_empty_deltas_emit_nothing_in_any_item() -> None:
    ledger = started()
    message = _message(ledger)
    reasoning = ledger.add_reasoning()
    call = ledger.add_function_call("f")
    mcp = ledger.add_mcp_call("s", "t")
    code = ledger.add_code_interpreter_call("c")
    ledger.drain()
    for handle in (message, reasoning, call, mcp, code):
        handle.delta("")
    assert ledger.drain() == []


def test_text_deltas_carry_their_indexes_and_logprobs() -> None:
    ledger = started()
    ledger.add_reasoning().done()
    message = _message(ledger)
    message.delta("x", [LOGPROB])
    delta = ledger.drain()[-1]
    assert isinstance(delta, ResponseTextDeltaEvent)
    assert (delta.output_index, delta.content_index, delta.item_id) == (1, 0, message.id)
    assert delta.logprobs == [LOGPROB]


def test_server_tools_report_their_stage_in_the_snapshot() -> None:
    ledger = started()
    mcp = ledger.add_mcp_call("dice", "roll")
    mcp.arguments_done()
    code = ledger.add_code_interpreter_call("cntr")
    code.code_done()
    search = ledger.add_web_search_call(SEARCH)
    search.searching()
    assert isinstance(mcp.item, McpCall)
    assert isinstance(code.item, ResponseCodeInterpreterToolCall)
    assert isinstance(search.item, ResponseFunctionWebSearch)
    assert (mcp.item.status, code.item.status, search.item.status) == (
        "calling",
        "interpreting",
        "searching",
    )


def test_mcp_failure_carries_the_typed_error_and_output() -> None:
    ledger = started()
    call = ledger.add_mcp_call("dice", "roll")
    call.delta('{"n": 1}')
    call.arguments_done()
    call.fail(TOOL_ERROR, output="partial")
    item = call.item
    assert isinstance(item, McpCall)
    assert (item.status, item.error, item.output, item.arguments) == (
        "failed",
        TOOL_ERROR,
        "partial",
        '{"n": 1}',
    )


def test_web_search_completion_may_replace_the_action() -> None:
    ledger = started()
    search = ledger.add_web_search_call(SEARCH)
    search.searching()
    sourced = SEARCH.model_copy(update={"query": "refined"})
    search.complete(sourced)
    assert isinstance(search.item, ResponseFunctionWebSearch)
    assert search.item.action == sourced


Step = Callable[[ResponseLedger], Callable[[], object]]


def _open_message(ledger: ResponseLedger) -> Callable[[], object]:
    return _message(ledger).open_refusal


def _refusal_annotation(ledger: ResponseLedger) -> Callable[[], object]:
    message = ledger.add_message()
    message.open_refusal()
    return lambda: message.annotate(CITATION)


def _finished_message(ledger: ResponseLedger) -> MessageHandle:
    message = _message(ledger)
    message.done()
    return message


def _mcp_after_arguments(ledger: ResponseLedger) -> Callable[[], object]:
    call = ledger.add_mcp_call("s", "t")
    call.arguments_done()
    return lambda: call.delta("x")


def _code_after_code(ledger: ResponseLedger) -> Callable[[], object]:
    code = ledger.add_code_interpreter_call("c")
    code.code_done()
    return lambda: code.delta("x")


def _listing_twice(ledger: ResponseLedger) -> Callable[[], object]:
    listing = ledger.add_mcp_list_tools("s")
    listing.complete([TOOL])
    return lambda: listing.fail("late")


def _searching_twice(ledger: ResponseLedger) -> Callable[[], object]:
    search = ledger.add_web_search_call(SEARCH)
    search.searching()
    return search.searching


def _after_response_end(ledger: ResponseLedger) -> Callable[[], object]:
    message = _message(ledger)
    ledger.incomplete()
    return lambda: message.delta("late")


def _abandon_closed(ledger: ResponseLedger) -> Callable[[], object]:
    handle: ItemHandle = _finished_message(ledger)
    return handle.abandon


ILLEGAL: dict[str, tuple[Step, str]] = {
    "message delta with no open part": (
        lambda led: partial(led.add_message().delta, "x"),
        "text or refusal",
    ),
    "message part opened twice": (_open_message, "idle"),
    "message part closed when none is open": (
        lambda led: led.add_message().close_part,
        "text or refusal",
    ),
    "message done without content": (lambda led: led.add_message().done, "at least one content"),
    "annotation on a refusal part": (_refusal_annotation, "text"),
    "message part opened after done": (lambda led: _finished_message(led).open_text, "idle"),
    "reasoning done twice": (lambda led: _finish(led.add_reasoning()), "text"),
    "function call done twice": (lambda led: _finish(led.add_function_call("f")), "arguments"),
    "tool listing ended twice": (_listing_twice, "listing"),
    "mcp result before the arguments are done": (
        lambda led: partial(led.add_mcp_call("s", "t").complete, "x"),
        "calling",
    ),
    "mcp failure before the arguments are done": (
        lambda led: partial(led.add_mcp_call("s", "t").fail, None),
        "calling",
    ),
    "mcp argument delta while calling": (_mcp_after_arguments, "arguments"),
    "code result before the code is done": (
        lambda led: led.add_code_interpreter_call("c").complete,
        "interpreting",
    ),
    "code failure before the code is done": (
        lambda led: led.add_code_interpreter_call("c").fail,
        "interpreting",
    ),
    "code delta while interpreting": (_code_after_code, "code"),
    "search completed before searching": (
        lambda led: led.add_web_search_call(SEARCH).complete,
        "searching",
    ),
    "searching twice": (_searching_twice, "pending"),
    "item step after the response ended": (_after_response_end, "response in_progress"),
    "abandon a closed item": (_abandon_closed, "idle or text or refusal"),
}


def _finish(handle: ReasoningHandle | FunctionCallHandle) -> Callable[[], object]:
    handle.done()
    return handle.done


@pytest.mark.parametrize("case", sorted(ILLEGAL))
def test_illegal_item_steps_raise_naming_the_states_and_emit_nothing(case: str) -> None:
    setup, expected = ILLEGAL[case]
    ledger = started()
    step = setup(ledger)
    before = ledger.events_emitted
    with pytest.raises(LedgerStateError) as raised:
        step()
    assert raised.value.expected.startswith(expected)
    assert raised.value.actual
    assert ledger.events_emitted == before


def test_abandoned_items_close_their_open_parts_and_argument_streams() -> None:
    ledger = started()
    message = _message(ledger)
    message.delta("cut")
    call = ledger.add_mcp_call("s", "t")
    ledger.drain()
    message.abandon()
    call.abandon(failed=True)
    assert _fresh(ledger) == [
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "mcp_call_arguments.done",
        "mcp_call.failed",
        "output_item.done",
    ]
    assert isinstance(message.item, ResponseOutputMessage)
    assert message.item.status == "incomplete"
    assert message.closed
