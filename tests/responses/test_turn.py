"""TurnLoop: every way a response's turns end, with the scripted engine and real MCP tools."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

import pytest
from openai.types.responses import ResponseOutputMessage
from openai.types.responses.response_output_item import McpCall, McpListTools

from antiphon.engines import ScriptedEngine, ScriptedFailure, ScriptedTurn, TurnRule
from antiphon.engines.base import EngineEvent, EngineRequest, TurnFinished, Usage
from antiphon.exceptions import ScriptExhausted, UpstreamHTTPError, UpstreamProtocolError
from antiphon.responses.bindings import ContainerBinding
from antiphon.responses.server_tools import ApprovalDecision, RequestTools
from antiphon.responses.turn import TurnLoop
from antiphon.tools.code_interpreter import ContainerManager
from antiphon.tools.mcp import McpClientPool
from tests.responses.support import (
    BROKEN,
    binding,
    call,
    engine,
    ledger,
    mcp_pool,
    message,
    reasoning,
    request,
    run_loop,
    turn,
)


@pytest.fixture
async def pool() -> AsyncIterator[McpClientPool]:
    """A pool reaching the MCP test server in-process."""
    async with mcp_pool() as made:
        yield made


def _after(kind: str, played: ScriptedTurn) -> ScriptedTurn:
    """``played``, playing only when the history ends with a ``kind`` item."""
    return ScriptedTurn(items=played.items, when=TurnRule(last_item_type=kind))


async def test_text_and_reasoning_complete_with_usage_summed() -> None:
    usage = Usage(input_tokens=5, output_tokens=7, reasoning_tokens=2, cached_tokens=1)
    loop = TurnLoop(
        ledger(), engine(turn(reasoning("Think."), message("Hello there."), usage=usage)), request()
    )
    final = await run_loop(loop)
    assert final.status == "completed"
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output_text == "Hello there."
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (5, 7)
    assert final.usage.output_tokens_details.reasoning_tokens == 2
    assert loop.record.usage == usage
    assert loop.record.produced_output


async def test_a_queued_ledger_is_started_by_the_loop() -> None:
    queued = ledger(started=False)
    queued.enqueue()
    final = await run_loop(TurnLoop(queued, engine(turn(message("Later."))), request()))
    assert final.status == "completed"
    assert final.output_text == "Later."


async def test_a_harmony_turn_keeps_its_raw_text() -> None:
    harmony = ScriptedTurn(harmony="<|channel|>final<|message|>Hi!<|end|>")
    loop = TurnLoop(ledger(), engine(harmony), request())
    final = await run_loop(loop)
    assert final.output_text == "Hi!"
    assert loop.record.raw_turns == ["<|channel|>final<|message|>Hi!<|end|>"]


async def test_a_function_call_ends_the_response() -> None:
    played = engine(turn(message("Let me check.", phase="commentary"), call("functions.weather")))
    loop = TurnLoop(ledger(), played, request(functions=["weather"]))
    final = await run_loop(loop)
    assert final.status == "completed"
    assert [item.type for item in final.output] == ["message", "function_call"]
    assert final.output[1].type == "function_call"
    assert final.output[1].name == "weather"


async def test_an_unknown_tool_is_answered_and_the_model_goes_on() -> None:
    answered = ScriptedTurn(
        items=(message("Sorry, no such tool."),), when=TurnRule(last_text_contains="does not exist")
    )
    loop = TurnLoop(ledger(), engine(turn(call("functions.nope", "{}")), answered), request())
    final = await run_loop(loop)
    assert final.status == "completed"
    assert [item.type for item in final.output] == ["message"]  # the bad call leaves no item
    assert final.output_text == "Sorry, no such tool."


async def test_an_mcp_call_runs_and_the_model_reads_its_result(pool: McpClientPool) -> None:
    tools = RequestTools(mcp=(binding(pool, require_approval="never"),))
    played = engine(
        turn(call("calc.add", '{"a": 2, "b": 3}')),
        _after("mcp_call", turn(message("It is 5."))),
    )
    final = await run_loop(TurnLoop(ledger(), played, request(), tools=tools))
    assert [item.type for item in final.output] == ["mcp_list_tools", "mcp_call", "message"]
    listing, done = final.output[0], final.output[1]
    assert isinstance(listing, McpListTools)
    assert "add" in {tool.name for tool in listing.tools}
    assert isinstance(done, McpCall)
    assert (done.name, done.output, done.error) == ("add", "5", None)


async def test_a_conversation_that_listed_the_server_lists_it_no_more(pool: McpClientPool) -> None:
    tools = RequestTools(
        mcp=(binding(pool, require_approval="never"),), listed_labels=frozenset({"calc"})
    )
    final = await run_loop(TurnLoop(ledger(), engine(turn(message("Hi."))), request(), tools=tools))
    assert [item.type for item in final.output] == ["message"]


@pytest.mark.parametrize("recipient", ["calc.echo", "calc__echo"])
async def test_a_tool_outside_allowed_tools_is_refused_without_running(
    pool: McpClientPool, recipient: str
) -> None:
    tools = RequestTools(mcp=(binding(pool, require_approval="never", allowed_tools=["add"]),))
    played = engine(
        turn(call(recipient, '{"text": "x"}')), _after("mcp_call", turn(message("Ok.")))
    )
    final = await run_loop(TurnLoop(ledger(), played, request(), tools=tools))
    refused = final.output[1]
    assert isinstance(refused, McpCall)
    assert refused.status == "failed"
    assert "not allowed on MCP server 'calc'" in str(refused.error)
    assert final.output_text == "Ok."


async def test_a_server_that_cannot_be_listed_refuses_its_calls(pool: McpClientPool) -> None:
    tools = RequestTools(mcp=(binding(pool, BROKEN, require_approval="never"),))
    played = engine(turn(call("broken.add", "{}")), _after("mcp_call", turn(message("Down."))))
    final = await run_loop(TurnLoop(ledger(), played, request(), tools=tools))
    listing, refused = final.output[0], final.output[1]
    assert isinstance(listing, McpListTools)
    assert listing.error is not None
    assert isinstance(refused, McpCall)
    assert "MCP server 'broken' could not be listed" in str(refused.error)
    assert final.output_text == "Down."


async def test_an_unknown_namespace_is_an_unknown_tool_not_an_mcp_call(pool: McpClientPool) -> None:
    tools = RequestTools(mcp=(binding(pool, require_approval="never"),))
    answered = ScriptedTurn(
        items=(message("Noted."),), when=TurnRule(last_text_contains="does not exist")
    )
    played = engine(turn(call("other.add"), call("calc.")), answered)
    final = await run_loop(TurnLoop(ledger(), played, request(), tools=tools))
    assert [item.type for item in final.output] == ["mcp_list_tools", "message"]


async def test_an_approval_request_ends_the_response(pool: McpClientPool) -> None:
    tools = RequestTools(mcp=(binding(pool, require_approval="always"),))
    played = engine(turn(call("calc.add", '{"a": 1, "b": 1}')))
    final = await run_loop(TurnLoop(ledger(), played, request(), tools=tools))
    assert final.status == "completed"
    assert [item.type for item in final.output] == ["mcp_list_tools", "mcp_approval_request"]
    asked = final.output[1]
    assert asked.type == "mcp_approval_request"
    assert (asked.name, asked.arguments) == ("add", '{"a": 1, "b": 1}')


async def test_an_approved_call_runs_before_the_first_turn(pool: McpClientPool) -> None:
    approved = ApprovalDecision("mcpr_1", "calc", "add", '{"a": 20, "b": 22}', approve=True)
    tools = RequestTools(
        mcp=(binding(pool, require_approval="always"),),
        approvals=(approved,),
        listed_labels=frozenset({"calc"}),
    )
    played = engine(_after("mcp_call", turn(message("42 it is."))))
    final = await run_loop(TurnLoop(ledger(), played, request(), tools=tools))
    ran = final.output[0]
    assert isinstance(ran, McpCall)
    assert (ran.output, ran.approval_request_id) == ("42", "mcpr_1")
    assert final.output_text == "42 it is."


async def test_denied_calls_never_run_and_the_model_is_told(pool: McpClientPool) -> None:
    denied = ApprovalDecision("mcpr_1", "calc", "add", "{}", approve=False, reason="no")
    orphan = ApprovalDecision("mcpr_2", "gone", "add", "{}", approve=True)  # server not declared
    tools = RequestTools(
        mcp=(binding(pool, require_approval="always"),),
        approvals=(denied, orphan),
        listed_labels=frozenset({"calc"}),
    )
    seen: list[EngineRequest] = []
    played = Recording(engine(turn(message("Understood."))), seen)
    loop = TurnLoop(ledger(), played, request(), tools=tools)
    final = await run_loop(loop)
    assert [item.type for item in final.output] == ["message"]
    answers = [item for segment in seen[0].history for item in segment.items][1:]
    assert [(a.get("type"), a.get("error")) for a in answers] == [
        ("mcp_call", "The user denied this call. Reason: no"),
        ("mcp_call", "The user denied this call."),
    ]


async def test_calls_past_max_tool_calls_fail_without_running(pool: McpClientPool) -> None:
    tools = RequestTools(mcp=(binding(pool, require_approval="never"),), max_tool_calls=1)
    played = engine(
        turn(call("calc.add", '{"a": 1, "b": 2}'), call("calc.add", '{"a": 3, "b": 4}')),
        _after("mcp_call", turn(message("One of two."))),
    )
    loop = TurnLoop(ledger(max_tool_calls=1), played, request(), tools=tools)
    final = await run_loop(loop)
    first, second = final.output[1], final.output[2]
    assert isinstance(first, McpCall)
    assert isinstance(second, McpCall)
    assert first.output == "3"
    assert "max_tool_calls reached" in str(second.error)
    assert loop.record.tool_calls == 1


async def test_the_turn_cap_ends_the_response_incomplete() -> None:
    again = ScriptedTurn(items=(call("functions.nope"),), repeat=True)
    loop = TurnLoop(ledger(), engine(again), request(), max_turns=2)
    final = await run_loop(loop)
    assert final.status == "incomplete"
    assert final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"


async def test_length_ends_the_response_incomplete_with_the_cut_item_incomplete() -> None:
    played = engine(
        turn(reasoning("Done thinking."), message("It was a dark and"), finish="length")
    )
    final = await run_loop(TurnLoop(ledger(), played, request()))
    assert final.status == "incomplete"
    cut = final.output[-1]
    assert isinstance(cut, ResponseOutputMessage)
    assert cut.status == "incomplete"
    assert final.output_text == "It was a dark and"


async def test_an_engine_error_fails_the_response_and_is_recorded() -> None:
    failing = turn(
        message("Partial answer"), fail=ScriptedFailure("http", after_events=3, status=503)
    )
    loop = TurnLoop(ledger(), engine(failing), request())
    final = await run_loop(loop)
    assert final.status == "failed"
    assert final.error is not None
    assert final.error.code == "server_error"
    assert "upstream failed" in final.error.message
    assert isinstance(loop.record.upstream_error, UpstreamHTTPError)
    assert loop.record.produced_output
    partial = final.output[0]
    assert isinstance(partial, ResponseOutputMessage)
    assert partial.status == "incomplete"


async def test_an_exhausted_script_fails_before_any_output() -> None:
    loop = TurnLoop(ledger(), engine(), request())
    final = await run_loop(loop)
    assert final.status == "failed"
    assert isinstance(loop.record.upstream_error, ScriptExhausted)
    assert not loop.record.produced_output


async def test_an_engine_that_cuts_the_turn_short_fails_the_response() -> None:
    loop = TurnLoop(ledger(), CutShort(engine(turn(message("Never finished.")))), request())
    final = await run_loop(loop)
    assert final.status == "failed"
    assert isinstance(loop.record.upstream_error, UpstreamProtocolError)
    assert "cut the turn short" in str(loop.record.upstream_error)


async def test_code_runs_in_a_container_and_the_model_reads_its_logs() -> None:
    async with ContainerManager() as manager:
        tools = RequestTools(code=ContainerBinding(manager, None))
        played = engine(
            turn(call("python", "print(6 * 7)")),
            _after("code_interpreter_call", turn(message("Forty-two."))),
        )
        final = await run_loop(TurnLoop(ledger(), played, request(), tools=tools))
    ran = final.output[0]
    assert ran.type == "code_interpreter_call"
    assert ran.status == "completed"
    assert ran.container_id.startswith("cntr")
    assert ran.outputs is not None
    assert [output.type for output in ran.outputs] == ["logs"]
    assert "42" in str(ran.outputs[0])
    assert final.output_text == "Forty-two."


class Recording:
    """An engine that records each request it is given, then plays ``inner``."""

    def __init__(self, inner: ScriptedEngine, seen: list[EngineRequest]) -> None:
        self._inner, self._seen = inner, seen

    @property
    def name(self) -> str:
        return self._inner.name

    def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        self._seen.append(request)
        return self._inner.stream(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class CutShort:
    """An engine that ends its stream without ``TurnFinished``, as a broken upstream might."""

    def __init__(self, inner: ScriptedEngine) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return "cut-short"

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        async for event in self._inner.stream(request):
            if not isinstance(event, TurnFinished):
                yield event

    async def aclose(self) -> None:
        await self._inner.aclose()


class ClosingWatched:
    """An engine that counts its streams closed (where an upstream request would end)."""

    def __init__(self, inner: ScriptedEngine) -> None:
        self._inner = inner
        self.closed = 0

    @property
    def name(self) -> str:
        return self._inner.name

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        try:
            async with aclosing(self._inner.stream(request)) as events:
                async for event in events:
                    yield event
        finally:
            self.closed += 1

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_closing_the_loop_mid_turn_closes_the_engine_stream_before_returning() -> None:
    watched = ClosingWatched(engine(turn(message("One, two, three, four, five."))))
    loop = TurnLoop(ledger(), watched, request())
    async with aclosing(loop.events()) as batches:
        async for batch in batches:
            if any(event.type == "response.output_text.delta" for event in batch):
                break  # the consumer leaves mid-turn, as a cancelled run does
    # Closed by aclose() itself: not later, when the garbage collector finds a generator left
    # suspended (the upstream request would stay open until then).
    assert watched.closed == 1
