"""Tool calls as owned tasks: run, answer exactly once, report, apply the failure policy.

The reader hands each completed ``function_call`` item to :meth:`ToolCallRunner.start`, which
starts one task per call id in the session's task owner (a second event for a call id already
claimed is ignored; the runner's own executor also refuses completed ids). The task asks the
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

from collections.abc import Callable

from openai.types.realtime import (
    ConversationItemCreateEvent,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemFunctionCallOutput,
)

from antiphon.exceptions import ToolExecutionError
from antiphon.realtime._agent_slot import AgentSlot
from antiphon.realtime._link import Link
from antiphon.realtime._queue import EventQueue
from antiphon.realtime._responses import Responses
from antiphon.realtime._tasks import TaskOwner
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig, build_session_update
from antiphon.realtime.events import ErrorEvent, HandoffEvent, ToolEndEvent, ToolStartEvent
from antiphon.realtime.executor import ToolCall, ToolExecutor, ToolOutcome

__all__ = ["ToolCallRunner"]


class ToolCallRunner:
    """Starts and finishes tool-call tasks for one session; owns the calls it has claimed."""

    def __init__(
        self,
        *,
        agent: AgentSlot,
        link: Link,
        responses: Responses,
        events: EventQueue,
        tasks: TaskOwner,
        config: RealtimeRunConfig,
        end: Callable[[BaseException], None],
    ) -> None:
        self._agent = agent
        self._link = link
        self._responses = responses
        self._events = events
        self._tasks = tasks
        self._config = config
        self._end = end
        self._executor = ToolExecutor()
        self._claimed: set[str] = set()
        self._raise = config.get("tool_failure", "continue") == "raise"

    async def start(self, item: RealtimeConversationItemFunctionCall) -> None:
        """Start the task for one ``function_call`` item, unless its call id is known."""
        call_id = item.call_id or item.id
        if call_id is None:
            error = ToolExecutionError(
                "function_call without call_id cannot be answered", call_id="", tool_name=item.name
            )
            await self._events.put(ErrorEvent(error))
            return
        if call_id in self._claimed or self._executor.is_known(call_id):
            return
        self._claimed.add(call_id)
        call = ToolCall(call_id=call_id, name=item.name, arguments=item.arguments)
        # The agent is captured now: a handoff while the tool runs must not re-route the call.
        agent = self._agent.current
        self._tasks.spawn(self._run(agent, call), name=f"antiphon-tool-{call_id}")

    async def _run(self, agent: RealtimeAgent, call: ToolCall) -> None:
        try:
            if _resolves(agent, call.name):
                start = ToolStartEvent(agent, call.name, call.call_id, call.arguments)
                await self._events.put(start)
            outcome = await self._executor.execute(agent, call)
        finally:
            self._claimed.discard(call.call_id)
        if outcome.kind == "duplicate":
            return
        if outcome.new_agent is not None:
            outcome = await self._switch(agent, outcome)
        await self._answer(agent, outcome)

    async def _switch(self, agent: RealtimeAgent, outcome: ToolOutcome) -> ToolOutcome:
        """Make the handoff's agent current on the server; a failure becomes the outcome."""
        new_agent = outcome.new_agent
        assert new_agent is not None  # the caller checked
        try:
            update = await build_session_update(new_agent, self._config)
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
        self._agent.switch(new_agent)
        if await self._link.send_quietly(update):
            await self._events.put(HandoffEvent(agent, new_agent, outcome.call_id))
        return outcome

    async def _answer(self, agent: RealtimeAgent, outcome: ToolOutcome) -> None:
        answer = ConversationItemCreateEvent(
            type="conversation.item.create",
            item=RealtimeConversationItemFunctionCallOutput(
                type="function_call_output", call_id=outcome.call_id, output=outcome.output
            ),
        )
        if not await self._link.send_quietly(answer):
            return  # the socket is gone; the session is already ending with that error
        if outcome.request_response:
            self._responses.request_auto()
        end = ToolEndEvent(agent, outcome.tool_name, outcome.call_id, outcome.output, outcome.error)
        await self._events.put(end)
        if outcome.error is None:
            return
        await self._events.put(ErrorEvent(outcome.error))
        if outcome.escalate and self._raise:
            self._end(outcome.error)


def _resolves(agent: RealtimeAgent, name: str) -> bool:
    """Whether ``name`` is a tool or handoff of ``agent`` (an ``is_enabled`` bug counts as no)."""
    try:
        return agent.find_tool(name) is not None
    except Exception:
        return False
