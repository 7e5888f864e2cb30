"""Tool calls as owned tasks: run, answer exactly once, report, apply the failure policy.

The reader hands each completed ``function_call`` item to :meth:`ToolCallRunner.start`, which
starts one task per call id in the session's task owner (a second event for a call id already
claimed is ignored; the executor also refuses completed ids). The task asks the
:class:`~antiphon.realtime.executor.ToolExecutor` for an outcome (always an output string, even
on failure) and then, in this order:

1. for a handoff, switches the agent and sends ``session.update`` first, so the response the
   output requests already runs with the new agent's instructions and tools (openai-agents
   issue #1388);
2. sends the one ``function_call_output`` for the call id and requests a response;
3. emits ``tool_end`` (and ``handoff``), then ``error`` when the call failed;
4. applies ``tool_failure="raise"`` by ending the session with the error.

Cancellation (the session closing) propagates from the executor and is never answered.
"""

from __future__ import annotations

from openai.types.realtime import (
    ConversationItemCreateEvent,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemFunctionCallOutput,
)

from antiphon.exceptions import ResponseRequestRejected, ToolExecutionError
from antiphon.realtime._core import SessionCore
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import build_session_update
from antiphon.realtime.events import ErrorEvent, HandoffEvent, ToolEndEvent, ToolStartEvent
from antiphon.realtime.executor import ToolCall, ToolOutcome

__all__ = ["ToolCallRunner", "request_response"]


def request_response(core: SessionCore) -> None:
    """Ask the sequencer for an automatic response; a full queue is reported, not raised."""
    try:
        core.sequencer.request()
    except ResponseRequestRejected as exc:
        core.queue.push(ErrorEvent(exc))


class ToolCallRunner:
    """Starts and finishes tool-call tasks for one session."""

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._claimed: set[str] = set()
        self._raise = core.config.get("tool_failure", "continue") == "raise"

    async def start(self, item: RealtimeConversationItemFunctionCall) -> None:
        """Start the task for one ``function_call`` item, unless its call id is known."""
        core = self._core
        call_id = item.call_id or item.id
        if call_id is None:
            error = ToolExecutionError(
                "function_call without call_id cannot be answered", call_id="", tool_name=item.name
            )
            await core.queue.put(ErrorEvent(error))
            return
        if call_id in self._claimed or core.executor.is_known(call_id):
            return
        self._claimed.add(call_id)
        call = ToolCall(call_id=call_id, name=item.name, arguments=item.arguments)
        # The agent is captured now: a handoff while the tool runs must not re-route the call.
        core.tasks.spawn(self._run(core.agent, call), name=f"antiphon-tool-{call_id}")

    async def _run(self, agent: RealtimeAgent, call: ToolCall) -> None:
        core = self._core
        try:
            if _resolves(agent, call.name):
                start = ToolStartEvent(agent, call.name, call.call_id, call.arguments)
                await core.queue.put(start)
            outcome = await core.executor.execute(agent, call)
        finally:
            self._claimed.discard(call.call_id)
        if outcome.kind == "duplicate":
            return
        if outcome.new_agent is not None:
            outcome = await self._switch(agent, outcome)
        await self._answer(agent, outcome)

    async def _switch(self, agent: RealtimeAgent, outcome: ToolOutcome) -> ToolOutcome:
        """Make the handoff's agent current on the server; a failure becomes the outcome."""
        core = self._core
        new_agent = outcome.new_agent
        assert new_agent is not None  # the caller checked
        try:
            update = await build_session_update(new_agent, core.config)
        except Exception as exc:  # dynamic instructions of the new agent raised: still answered
            error = ToolExecutionError(
                f"Handoff to '{new_agent.name}' failed: {str(exc) or type(exc).__name__}",
                call_id=outcome.call_id,
                tool_name=outcome.tool_name,
            )
            error.__cause__ = exc
            return ToolOutcome(
                "handoff",
                outcome.call_id,
                outcome.tool_name,
                output=str(error),
                error=error,
                request_response=True,
                escalate=True,
            )
        core.agent = new_agent
        if await core.send_quietly(update):
            await core.queue.put(HandoffEvent(agent, new_agent, outcome.call_id))
        return outcome

    async def _answer(self, agent: RealtimeAgent, outcome: ToolOutcome) -> None:
        core = self._core
        answer = ConversationItemCreateEvent(
            type="conversation.item.create",
            item=RealtimeConversationItemFunctionCallOutput(
                type="function_call_output", call_id=outcome.call_id, output=outcome.output
            ),
        )
        if not await core.send_quietly(answer):
            return  # the socket is gone; the session is already ending with that error
        if outcome.request_response:
            request_response(core)
        end = ToolEndEvent(agent, outcome.tool_name, outcome.call_id, outcome.output, outcome.error)
        await core.queue.put(end)
        if outcome.error is None:
            return
        await core.queue.put(ErrorEvent(outcome.error))
        if outcome.escalate and self._raise:
            core.end(outcome.error)


def _resolves(agent: RealtimeAgent, name: str) -> bool:
    """Whether ``name`` is a tool or handoff of ``agent`` (an ``is_enabled`` bug counts as no)."""
    try:
        return agent.find_tool(name) is not None
    except Exception:
        return False
