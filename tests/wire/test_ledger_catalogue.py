"""A catalogue of representative ledger streams, each checked on the wire by the official types.

Every stream is encoded with the SSE encoder, decoded, validated in strict mode, checked against
the grammar and replayed through the official client's accumulator, whose final response must
equal the ledger's. The builders here are shared by the other ledger tests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from openai.types.responses import (
    ResponseError,
    ResponseIncompleteEvent,
    ResponseOutputItemDoneEvent,
)
from openai.types.responses.mcp_tool_call_error import McpToolExecutionError
from openai.types.responses.response_code_interpreter_tool_call import OutputLogs
from openai.types.responses.response_function_web_search import (
    ActionFind,
    ActionOpenPage,
    ActionSearch,
)
from openai.types.responses.response_output_item import McpListToolsTool
from openai.types.responses.response_output_text import AnnotationURLCitation, Logprob

from antiphon.wire import ResponseLedger, ResponseParams, SequentialIds
from tests.grammar import check_stream, to_wire

CREATED_AT = 1_700_000_000


def make_ledger(params: ResponseParams | None = None) -> ResponseLedger:
    """A ledger with sequential ids and a fixed clock."""
    options = params or {"model": "gpt-oss-20b"}
    return ResponseLedger(options, ids=SequentialIds(), clock=lambda: float(CREATED_AT))


def started(params: ResponseParams | None = None) -> ResponseLedger:
    """A ledger whose stream has started (created, in_progress)."""
    ledger = make_ledger(params)
    ledger.start()
    return ledger


SEARCH = ActionSearch(type="search", query="antiphon")
OPEN_PAGE = ActionOpenPage(type="open_page", url="https://example.com/")
FIND = ActionFind(type="find_in_page", pattern="needle", url="https://example.com/")
CITATION = AnnotationURLCitation(
    type="url_citation", start_index=0, end_index=5, title="Example", url="https://example.com/"
)
LOGPROB = Logprob(token="Hi", bytes=[72, 105], logprob=-0.1, top_logprobs=[])
TOOL = McpListToolsTool(name="roll", input_schema={"type": "object"}, description="Roll dice")
TOOL_ERROR = McpToolExecutionError(type="mcp_tool_execution_error", content=[{"text": "boom"}])
SERVER_ERROR = ResponseError(code="server_error", message="upstream closed the stream")


def _text(ledger: ResponseLedger) -> None:
    message = ledger.add_message(phase="final_answer")
    message.open_text()
    for piece in ("He", "llo", "", " wor", "ld"):
        message.delta(piece, [LOGPROB] if piece == "He" else ())
    message.annotate(CITATION)
    message.done()
    ledger.complete()


def _reasoning_preamble_and_function_call(ledger: ResponseLedger) -> None:
    reasoning = ledger.add_reasoning()
    reasoning.delta("The user wants ")
    reasoning.delta("the weather.")
    reasoning.done()
    preamble = ledger.add_message(phase="commentary")
    preamble.open_text()
    preamble.delta("Checking.")
    preamble.done()
    call = ledger.add_function_call("get_weather")
    for piece in ('{"ci', 'ty": "', 'Paris"}'):
        call.delta(piece)
    call.done()
    ledger.set_usage(input_tokens=50, output_tokens=20, cached_tokens=10, reasoning_tokens=8)
    ledger.complete()


def _multi_part_refusal(ledger: ResponseLedger) -> None:
    message = ledger.add_message()
    message.open_text()
    message.delta("I can say this")
    message.close_part()
    message.open_refusal()
    message.delta("but not ")
    message.delta("that.")
    message.close_part()
    message.open_text()
    message.done()
    ledger.complete()


def _mcp(ledger: ResponseLedger) -> None:
    listing = ledger.add_mcp_list_tools("dice")
    listing.complete([TOOL])
    broken = ledger.add_mcp_list_tools("offline")
    broken.fail("connection refused")
    call = ledger.add_mcp_call("dice", "roll", approval_request_id="mcpr_earlier")
    call.delta('{"sides": 6}')
    call.arguments_done()
    call.complete("4")
    failing = ledger.add_mcp_call("dice", "roll")
    failing.arguments_done()
    failing.fail(TOOL_ERROR)
    ledger.add_mcp_approval_request("dice", "roll", '{"sides": 20}')
    ledger.complete()


def _builtin_tools(ledger: ResponseLedger) -> None:
    code = ledger.add_code_interpreter_call("cntr_1")
    code.delta("print(")
    code.delta("6 * 7)")
    code.code_done()
    code.complete([OutputLogs(type="logs", logs="42\n")])
    crash = ledger.add_code_interpreter_call("cntr_1")
    crash.delta("1/0")
    crash.code_done()
    crash.fail([OutputLogs(type="logs", logs="ZeroDivisionError")])
    for action in (SEARCH, OPEN_PAGE, FIND):
        search = ledger.add_web_search_call(action)
        search.searching()
        search.complete()
    lost = ledger.add_web_search_call(SEARCH)
    lost.fail()
    ledger.complete()


def _open_items(ledger: ResponseLedger) -> None:
    """One item of every kind left open, in a state past its first step."""
    ledger.add_reasoning().delta("thinking")
    message = ledger.add_message()
    message.open_text()
    message.delta("partial")
    ledger.add_message()
    ledger.add_function_call("f").delta('{"a"')
    ledger.add_mcp_list_tools("dice")
    ledger.add_mcp_call("dice", "roll").delta("{")
    ledger.add_mcp_call("dice", "roll").arguments_done()
    ledger.add_code_interpreter_call("cntr").delta("x")
    ledger.add_code_interpreter_call("cntr").code_done()
    ledger.add_web_search_call(SEARCH)
    ledger.add_web_search_call(SEARCH).searching()


def _incomplete(ledger: ResponseLedger) -> None:
    _open_items(ledger)
    ledger.incomplete("max_output_tokens")


def _failed(ledger: ResponseLedger) -> None:
    _open_items(ledger)
    ledger.fail(SERVER_ERROR)


def _cancelled(ledger: ResponseLedger) -> None:
    _open_items(ledger)
    ledger.cancel()


def _empty_completed(ledger: ResponseLedger) -> None:
    ledger.complete()


#: name -> (background?, what to do once started)
CATALOGUE: dict[str, tuple[bool, Callable[[ResponseLedger], None]]] = {
    "text with logprobs and annotation": (False, _text),
    "reasoning, preamble, function call": (False, _reasoning_preamble_and_function_call),
    "multi-part message with refusal": (False, _multi_part_refusal),
    "mcp list, call, failure, approval": (False, _mcp),
    "code interpreter and web search": (False, _builtin_tools),
    "incomplete with open items": (False, _incomplete),
    "failed with open items": (False, _failed),
    "cancelled with open items": (True, _cancelled),
    "background queued then completed": (True, _text),
    "no output": (False, _empty_completed),
}


def run(name: str) -> ResponseLedger:
    """Play the catalogue entry ``name`` on a fresh ledger."""
    background, play = CATALOGUE[name]
    ledger = make_ledger({"model": "gpt-oss-20b", "background": background})
    if background:
        ledger.enqueue()
    ledger.start()
    play(ledger)
    return ledger


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_catalogued_stream_passes_the_official_types_and_client(name: str) -> None:
    ledger = run(name)
    events = ledger.drain()
    final = check_stream(to_wire(events))
    assert final.model_dump(exclude_unset=True) == ledger.response.model_dump(exclude_unset=True)
    assert [e.sequence_number for e in events] == list(range(ledger.events_emitted))


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_final_output_is_exactly_the_done_items(name: str) -> None:
    ledger = run(name)
    done = [e.item for e in ledger.drain() if isinstance(e, ResponseOutputItemDoneEvent)]
    assert len(done) == len(ledger.response.output)
    assert all(a is b for a, b in zip(done, ledger.response.output, strict=True))


def test_a_background_stream_is_created_queued_then_in_progress() -> None:
    types = [event.type for event in run("background queued then completed").drain()]
    assert types[:3] == ["response.created", "response.queued", "response.in_progress"]


def test_a_cancelled_stream_ends_with_one_incomplete_event_of_status_cancelled() -> None:
    ledger = run("cancelled with open items")
    last = ledger.drain()[-1]
    assert isinstance(last, ResponseIncompleteEvent)
    assert last.response.status == "cancelled"
    assert last.response.incomplete_details is None
