from __future__ import annotations

import asyncio
import json

import pytest

from antiphon.exceptions import ConfigurationError, ToolExecutionError, ToolTimeoutError
from antiphon.realtime.agent import RealtimeAgent, realtime_handoff
from antiphon.realtime.executor import (
    GENERIC_FAILURE,
    ToolCall,
    ToolExecutor,
    ToolFailure,
)
from antiphon.realtime.tools import ToolContext, function_tool

BILLING = RealtimeAgent(name="Billing")


@function_tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


@function_tool
async def explode() -> str:
    raise RuntimeError("database unreachable")


async def wait_forever() -> None:
    """An Event nobody sets: the caller runs until it times out or is cancelled."""
    await asyncio.Event().wait()


@function_tool(timeout=0.01)
async def slow_soft() -> str:
    await wait_forever()
    return "unreachable"


@function_tool(timeout=0.01, on_timeout="raise")
async def slow_hard() -> str:
    await wait_forever()
    return "unreachable"


AGENT = RealtimeAgent(name="Triage", tools=[add, explode, slow_soft, slow_hard], handoffs=[BILLING])


def call(name: str, arguments: str = "{}", call_id: str = "call_1") -> ToolCall:
    return ToolCall(call_id=call_id, name=name, arguments=arguments)


async def test_successful_function_call_answers_and_requests_a_response() -> None:
    outcome = await ToolExecutor().execute(AGENT, call("add", '{"a": 1, "b": 2}'))
    assert (outcome.kind, outcome.output, outcome.ok) == ("function", "3", True)
    assert outcome.request_response is True
    assert (outcome.error, outcome.new_agent, outcome.escalate) == (None, None, False)


async def test_tool_failure_still_answers_the_model() -> None:
    outcome = await ToolExecutor().execute(AGENT, call("explode"))
    assert outcome.kind == "function"
    assert outcome.output == "Tool 'explode' failed: database unreachable"
    assert outcome.request_response is True
    assert outcome.escalate is True
    assert isinstance(outcome.error, ToolExecutionError)
    assert (outcome.error.call_id, outcome.error.tool_name) == ("call_1", "explode")
    assert isinstance(outcome.error.__cause__, RuntimeError)


async def test_invalid_arguments_are_answered_with_what_was_wrong() -> None:
    outcome = await ToolExecutor().execute(AGENT, call("add", '{"a": 1}'))
    assert outcome.output == "Tool 'add' failed: invalid arguments: b: Field required"
    assert outcome.request_response is True
    assert outcome.escalate is True


async def test_timeout_as_result_answers_and_reports_without_escalating() -> None:
    outcome = await ToolExecutor().execute(AGENT, call("slow_soft"))
    assert outcome.output == "Tool 'slow_soft' timed out after 0.01s."
    assert isinstance(outcome.error, ToolTimeoutError)
    assert outcome.request_response is True
    assert outcome.escalate is False


async def test_timeout_raise_answers_and_escalates() -> None:
    outcome = await ToolExecutor().execute(AGENT, call("slow_hard"))
    assert outcome.output == "Tool 'slow_hard' timed out after 0.01s."
    assert isinstance(outcome.error, ToolTimeoutError)
    assert outcome.request_response is True
    assert outcome.escalate is True


async def test_unknown_tool_is_answered_reported_and_not_escalated() -> None:
    outcome = await ToolExecutor().execute(AGENT, call("nope"))
    assert outcome.kind == "unknown"
    assert outcome.output == "Tool 'nope' not found."
    assert isinstance(outcome.error, ToolExecutionError)
    assert outcome.request_response is True
    assert outcome.escalate is False


async def test_disabled_handoff_is_answered_as_an_unknown_tool() -> None:
    agent = RealtimeAgent(name="Triage", handoffs=[realtime_handoff(BILLING, is_enabled=False)])
    outcome = await ToolExecutor().execute(agent, call("transfer_to_billing"))
    assert (outcome.kind, outcome.output) == ("unknown", "Tool 'transfer_to_billing' not found.")


async def test_is_enabled_raising_is_still_answered_and_escalated() -> None:
    def flaky(agent: RealtimeAgent) -> bool:
        raise LookupError("feature flags unavailable")

    agent = RealtimeAgent(name="Triage", handoffs=[realtime_handoff(BILLING, is_enabled=flaky)])
    outcome = await ToolExecutor().execute(agent, call("transfer_to_billing"))
    assert outcome.output == (
        "Tool 'transfer_to_billing' could not be resolved: feature flags unavailable"
    )
    assert outcome.escalate is True
    assert outcome.request_response is True


async def test_successful_handoff_returns_the_new_agent_and_a_transfer_message() -> None:
    outcome = await ToolExecutor().execute(AGENT, call("transfer_to_billing"))
    assert outcome.kind == "handoff"
    assert outcome.new_agent is BILLING
    assert json.loads(outcome.output) == {"assistant": "Billing"}
    assert outcome.request_response is True
    assert outcome.ok


async def test_failed_handoff_answers_and_keeps_the_current_agent() -> None:
    def on_handoff(context: ToolContext) -> None:
        raise PermissionError("not allowed")

    agent = RealtimeAgent(
        name="Triage", handoffs=[realtime_handoff(BILLING, on_handoff=on_handoff)]
    )
    outcome = await ToolExecutor().execute(agent, call("transfer_to_billing"))
    assert outcome.kind == "handoff"
    assert outcome.output == "Handoff to 'Billing' failed: not allowed"
    assert outcome.new_agent is None
    assert (outcome.request_response, outcome.escalate) == (True, True)


async def test_handoff_returning_a_non_agent_is_answered_as_a_failure() -> None:
    agent = RealtimeAgent(
        name="Triage", handoffs=[realtime_handoff(BILLING, on_handoff=lambda context: 42)]
    )
    outcome = await ToolExecutor().execute(agent, call("transfer_to_billing"))
    assert outcome.output == "Handoff to 'Billing' failed: expected a RealtimeAgent, got int"
    assert outcome.new_agent is None


async def test_custom_failure_formatter_shapes_the_answer() -> None:
    def formatter(failure: ToolFailure) -> str:
        return f"{failure.kind}:{failure.error.tool_name} unavailable"

    outcome = await ToolExecutor(failure_formatter=formatter).execute(AGENT, call("explode"))
    assert outcome.output == "function:explode unavailable"
    assert isinstance(outcome.error, ToolExecutionError)


async def test_a_raising_formatter_falls_back_to_a_generic_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def formatter(failure: ToolFailure) -> str:
        raise ValueError("bug in formatter")

    outcome = await ToolExecutor(failure_formatter=formatter).execute(AGENT, call("nope"))
    assert outcome.output == GENERIC_FAILURE
    assert "formatter raised" in caplog.text


async def test_cancellation_propagates_and_produces_no_outcome() -> None:
    started = asyncio.Event()

    @function_tool
    async def waits() -> str:
        started.set()
        await wait_forever()
        return "unreachable"

    executor = ToolExecutor()
    agent = RealtimeAgent(name="a", tools=[waits])
    task = asyncio.get_running_loop().create_task(executor.execute(agent, call("waits")))
    async with asyncio.timeout(10):
        await started.wait()
    assert executor.is_known("call_1")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not executor.is_known("call_1")


async def test_a_running_call_id_is_not_run_twice() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    @function_tool
    async def once() -> str:
        runs.append("run")
        started.set()
        await release.wait()
        return "done"

    executor = ToolExecutor()
    agent = RealtimeAgent(name="a", tools=[once])
    async with asyncio.TaskGroup() as group:
        first = group.create_task(executor.execute(agent, call("once")))
        async with asyncio.timeout(10):
            await started.wait()
        duplicate = await executor.execute(agent, call("once"))
        release.set()
    assert (duplicate.kind, duplicate.output, duplicate.request_response) == (
        "duplicate",
        "",
        False,
    )
    assert first.result().output == "done"
    assert (await executor.execute(agent, call("once"))).kind == "duplicate"
    assert runs == ["run"]


async def test_failed_calls_are_remembered_too() -> None:
    executor = ToolExecutor()
    assert (await executor.execute(AGENT, call("explode"))).kind == "function"
    assert (await executor.execute(AGENT, call("explode"))).kind == "duplicate"


async def test_completed_call_ids_are_remembered_up_to_the_capacity() -> None:
    executor = ToolExecutor(completed_capacity=2)
    for call_id in ("c1", "c2", "c3"):
        await executor.execute(AGENT, call("add", '{"a": 1, "b": 1}', call_id))
    assert not executor.is_known("c1")
    assert executor.is_known("c2")
    assert executor.is_known("c3")
    assert (await executor.execute(AGENT, call("add", '{"a": 1, "b": 1}', "c1"))).kind == (
        "function"
    )


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        ToolExecutor(completed_capacity=0)
