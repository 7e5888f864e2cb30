"""PendingCall: a server-side call runs after its turn, and fails plainly past the budget."""

from __future__ import annotations

from openai.types.responses.response_code_interpreter_tool_call import OutputLogs

from antiphon.responses.bindings import ContainerBinding
from antiphon.responses.server_tools import PendingCall, RequestTools
from antiphon.tools.code_interpreter import ContainerManager
from antiphon.wire.ledger import ResponseLedger
from tests.responses.support import binding, check_batches, ledger, mcp_pool


def _code_call(book: ResponseLedger, bound: ContainerBinding, code: str) -> PendingCall:
    handle = book.add_code_interpreter_call(bound.container_id)
    handle.delta(code)
    handle.code_done()
    return PendingCall(handle, code=bound)


def _logs(book: ResponseLedger) -> list[tuple[str | None, list[str]]]:
    book.complete()
    final = check_batches([book.drain()])
    found: list[tuple[str | None, list[str]]] = []
    for item in final.output:
        assert item.type == "code_interpreter_call"
        logs = [o.logs for o in item.outputs or () if isinstance(o, OutputLogs)]
        found.append((item.status, logs))
    return found


async def test_code_calls_complete_fail_or_stop_at_the_budget() -> None:
    async with ContainerManager() as manager:
        bound = ContainerBinding(manager, None)
        await bound.prepare()
        book = ledger()
        await _code_call(book, bound, "print('hi')").execute(over_budget=False)
        await _code_call(book, bound, "quiet = 1").execute(over_budget=False)
        await _code_call(book, bound, "raise ValueError('bad')").execute(over_budget=False)
        await _code_call(book, bound, "print('never')").execute(over_budget=True)
    found = _logs(book)
    assert found[0] == ("completed", ["hi"])
    assert found[1] == ("completed", [])
    assert found[2][0] == "failed"
    assert "ValueError: bad" in found[2][1][0]
    assert found[3] == ("failed", ["max_tool_calls reached: the code was not run."])


async def test_an_mcp_tool_error_is_a_failed_call_the_model_can_read() -> None:
    async with mcp_pool() as pool:
        bound = binding(pool, require_approval="never")
        tools = RequestTools(mcp=(bound,))
        assert tools.binding("calc") is bound
        assert tools.binding("other") is None
        book = ledger()
        handle = book.add_mcp_call("calc", "fail")
        handle.delta('{"message": "disk full"}')
        handle.arguments_done()
        await PendingCall(handle, mcp=bound).execute(over_budget=False)
    book.complete()
    final = check_batches([book.drain()])
    failed = final.output[0]
    assert failed.type == "mcp_call"
    assert failed.status == "failed"
    assert "disk full" in str(failed.error)
