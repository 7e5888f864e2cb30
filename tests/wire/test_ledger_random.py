"""Random legal operation sequences: every stream the ledger builds passes the grammar checker."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.responses import ResponseOutputMessage

from antiphon.wire import (
    CodeInterpreterHandle,
    FunctionCallHandle,
    ItemHandle,
    McpCallHandle,
    McpListToolsHandle,
    MessageHandle,
    ReasoningHandle,
    ResponseLedger,
    WebSearchHandle,
)
from tests.grammar import check_stream, to_wire
from tests.wire.test_ledger_catalogue import (
    CITATION,
    SEARCH,
    SERVER_ERROR,
    TOOL,
    TOOL_ERROR,
    make_ledger,
)

Op = Callable[[], object]
_pieces = st.text(max_size=4)


def _has_parts(message: MessageHandle) -> bool:
    item = message.item
    return isinstance(item, ResponseOutputMessage) and bool(item.content)


def _item_steps(item: ItemHandle, data: st.DataObject) -> list[Op]:
    """The steps the item's current stage allows (the state machine, seen from outside)."""
    piece = data.draw(_pieces)
    steps: list[Op] = [lambda: item.abandon(failed=data.draw(st.booleans()))]
    match item, item.stage:
        case MessageHandle() as m, "idle":
            steps += [m.open_text, m.open_refusal] + ([m.done] if _has_parts(m) else [])
        case MessageHandle() as m, "text":
            steps += [lambda: m.delta(piece), lambda: m.annotate(CITATION), m.close_part, m.done]
        case MessageHandle() as m, _:
            steps += [lambda: m.delta(piece), m.close_part, m.done]
        case (ReasoningHandle() | FunctionCallHandle()) as h, _:
            steps += [lambda: h.delta(piece), h.done]
        case McpListToolsHandle() as h, _:
            steps += [lambda: h.complete([TOOL]), lambda: h.fail("down")]
        case McpCallHandle() as h, "arguments":
            steps += [lambda: h.delta(piece), h.arguments_done]
        case McpCallHandle() as h, _:
            steps += [lambda: h.complete(piece), lambda: h.fail(TOOL_ERROR)]
        case CodeInterpreterHandle() as h, "code":
            steps += [lambda: h.delta(piece), h.code_done]
        case CodeInterpreterHandle() as h, _:
            steps += [h.complete, h.fail]
        case WebSearchHandle() as h, "pending":
            steps += [h.searching, h.fail]
        case WebSearchHandle() as h, _:
            steps += [h.complete, h.fail]
        case _:
            raise AssertionError(f"unexpected item {item!r}")
    return steps


def _ledger_steps(ledger: ResponseLedger) -> list[Op]:
    return [
        ledger.add_message,
        lambda: ledger.add_message(phase="commentary"),
        ledger.add_reasoning,
        lambda: ledger.add_function_call("lookup"),
        lambda: ledger.add_mcp_list_tools("dice"),
        lambda: ledger.add_mcp_call("dice", "roll"),
        lambda: ledger.add_mcp_approval_request("dice", "roll", "{}"),
        lambda: ledger.add_code_interpreter_call("cntr"),
        lambda: ledger.add_web_search_call(SEARCH),
        lambda: ledger.set_usage(input_tokens=3, output_tokens=2),
    ]


def _end(ledger: ResponseLedger, data: st.DataObject) -> None:
    ends: list[Op] = [ledger.incomplete, lambda: ledger.fail(SERVER_ERROR), ledger.cancel]
    if all(item.closed for item in ledger.items):
        ends.append(ledger.complete)
    data.draw(st.sampled_from(ends))()


@settings(max_examples=150, deadline=None)
@given(data=st.data(), background=st.booleans(), steps=st.integers(0, 40))
def test_random_legal_operations_always_build_a_valid_stream(
    data: st.DataObject, background: bool, steps: int
) -> None:
    ledger = make_ledger({"model": "gpt-oss-20b", "background": background})
    if background:
        ledger.enqueue()
    if not background or data.draw(st.booleans()):
        ledger.start()
        for _ in range(steps):
            open_items = [item for item in ledger.items if not item.closed]
            choices = _ledger_steps(ledger)
            for item in open_items:
                choices += _item_steps(item, data)
            data.draw(st.sampled_from(choices))()
        _end(ledger, data)
    else:
        data.draw(st.sampled_from([ledger.cancel, lambda: ledger.fail(SERVER_ERROR)]))()
    final = check_stream(to_wire(ledger.drain()))
    assert final.model_dump(exclude_unset=True) == ledger.response.model_dump(exclude_unset=True)
