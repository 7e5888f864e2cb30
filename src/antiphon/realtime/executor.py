"""The tool executor: every function call the model makes gets exactly one answer.

:meth:`ToolExecutor.execute` takes the agent that was active when the call arrived and one
:class:`ToolCall`, dispatches it (function tool, then enabled handoff, else unknown) and returns a
:class:`ToolOutcome` whose ``output`` is always the ``function_call_output`` to send, on failure
too. The session sends it, requests a response when ``request_response`` says so, and reports
``error``; ``escalate`` tells it whether its ``tool_failure`` policy applies.

Decisions, in one place:

- Function tool or handoff failure: answer + response + error, ``escalate=True``.
- Timeout with ``on_timeout="error_as_result"``: answer + response + error reported as an event
  only (``escalate=False``): the tool's own configuration says a timeout is an expected result.
  With ``on_timeout="raise"``: ``escalate=True``.
- Unknown (or disabled) tool name: answer + response + error, ``escalate=False``: the model made
  the mistake, the answer lets it recover, and a model must not be able to end a session.
- A call id already running or completed: kind ``"duplicate"``, nothing to send.
- Cancellation (the session closing) is never turned into an answer: it propagates.

The executor owns no task: the session runs each :meth:`execute` in its own task group.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from antiphon.exceptions import ConfigurationError, ToolExecutionError, ToolTimeoutError
from antiphon.realtime.agent import Handoff, RealtimeAgent
from antiphon.realtime.tools import ToolContext

__all__ = [
    "CallKind",
    "FailureFormatter",
    "ToolCall",
    "ToolExecutor",
    "ToolFailure",
    "ToolOutcome",
    "default_failure_message",
]

_log = logging.getLogger(__name__)

CallKind = Literal["function", "handoff", "unknown", "duplicate"]

GENERIC_FAILURE = "Tool call failed."
"""The answer used when a custom failure formatter itself fails."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call from the model (``response.function_call_arguments.done``)."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolFailure:
    """What a failure formatter is told: the kind of call and the typed error."""

    kind: Literal["function", "handoff", "unknown"]
    error: ToolExecutionError


FailureFormatter = Callable[[ToolFailure], str]
"""Turns a failure into the text the model reads. Must not leak secrets or tracebacks."""


def default_failure_message(failure: ToolFailure) -> str:
    """The error's own message, e.g. ``Tool 'x' failed: <reason>`` or ``... timed out after 2s.``.

    Those messages hold only the exception's ``str``, never a traceback.
    """
    return str(failure.error)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The result of one call: what to answer, what to report, what changed."""

    kind: CallKind
    call_id: str
    tool_name: str
    output: str
    """The ``function_call_output`` text; empty only for a duplicate (nothing to send)."""
    error: ToolExecutionError | None = None
    new_agent: RealtimeAgent | None = None
    request_response: bool = False
    escalate: bool = False
    """Whether ``error`` goes through the session's ``tool_failure`` policy (else: event only)."""

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (a duplicate counts as nothing new, so ``True``)."""
        return self.error is None


class ToolExecutor:
    """Executes function calls for one session; remembers call ids so none runs twice.

    Args:
        failure_formatter: Makes the model-facing text of a failure; if it raises or returns a
            non-string, :data:`GENERIC_FAILURE` is sent instead, so the answer is never lost.
        completed_capacity: How many completed call ids to remember (oldest forgotten first).
    """

    def __init__(
        self,
        *,
        failure_formatter: FailureFormatter = default_failure_message,
        completed_capacity: int = 1024,
    ) -> None:
        if completed_capacity < 1:
            raise ConfigurationError("completed_capacity must be at least 1")
        self._format = failure_formatter
        self._capacity = completed_capacity
        self._running: set[str] = set()
        self._completed: OrderedDict[str, None] = OrderedDict()

    def is_known(self, call_id: str) -> bool:
        """Whether ``call_id`` is running or was completed recently."""
        return call_id in self._running or call_id in self._completed

    async def execute(self, agent: RealtimeAgent, call: ToolCall) -> ToolOutcome:
        """Run ``call`` for ``agent`` and return its outcome; cancellation propagates.

        ``agent`` must be the agent active when the call arrived, so a handoff that happens
        meanwhile does not re-route the call.
        """
        if self.is_known(call.call_id):
            return ToolOutcome("duplicate", call.call_id, call.name, output="")
        # Checked and claimed before the first await: concurrent duplicates cannot both run.
        self._running.add(call.call_id)
        try:
            outcome = await self._dispatch(agent, call)
        finally:
            self._running.discard(call.call_id)
        self._remember(call.call_id)
        return outcome

    async def _dispatch(self, agent: RealtimeAgent, call: ToolCall) -> ToolOutcome:
        try:
            tool = agent.find_tool(call.name)
        except Exception as exc:  # an is_enabled callback raised: an app bug, still answered
            reason = str(exc) or type(exc).__name__
            error = ToolExecutionError(
                f"Tool '{call.name}' could not be resolved: {reason}",
                call_id=call.call_id,
                tool_name=call.name,
            )
            error.__cause__ = exc
            return self._failed("unknown", call, error, escalate=True)
        context = ToolContext(call_id=call.call_id, tool_name=call.name, agent=agent)
        if tool is None:
            error = ToolExecutionError(
                f"Tool '{call.name}' not found.", call_id=call.call_id, tool_name=call.name
            )
            return self._failed("unknown", call, error, escalate=False)
        if isinstance(tool, Handoff):
            try:
                new_agent = await tool.invoke(context, call.arguments)
            except ToolExecutionError as error:
                return self._failed("handoff", call, error, escalate=True)
            return ToolOutcome(
                "handoff",
                call.call_id,
                call.name,
                output=tool.transfer_message(new_agent),
                new_agent=new_agent,
                request_response=True,
            )
        try:
            output = await tool.invoke(context, call.arguments)
        except ToolTimeoutError as error:
            return self._failed("function", call, error, escalate=tool.on_timeout == "raise")
        except ToolExecutionError as error:
            return self._failed("function", call, error, escalate=True)
        return ToolOutcome("function", call.call_id, call.name, output, request_response=True)

    def _failed(
        self,
        kind: Literal["function", "handoff", "unknown"],
        call: ToolCall,
        error: ToolExecutionError,
        *,
        escalate: bool,
    ) -> ToolOutcome:
        output = self._failure_text(ToolFailure(kind, error))
        return ToolOutcome(
            kind,
            call.call_id,
            call.name,
            output,
            error=error,
            request_response=True,
            escalate=escalate,
        )

    def _failure_text(self, failure: ToolFailure) -> str:
        try:
            return self._format(failure)
        except Exception:
            # The answer must go out whatever the formatter does; its bug is logged, not sent.
            _log.exception("tool failure formatter raised; sending a generic answer")
            return GENERIC_FAILURE

    def _remember(self, call_id: str) -> None:
        self._completed[call_id] = None
        if len(self._completed) > self._capacity:
            self._completed.popitem(last=False)
