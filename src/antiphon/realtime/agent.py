"""Realtime agents and handoffs: what the model is told, which tools it has, whom it can call.

A :class:`RealtimeAgent` is an immutable description (instructions, function tools, handoffs,
output guardrails); the session reads it to build ``session.update`` and the executor reads it
to dispatch calls. A :class:`Handoff` is a tool whose successful invocation yields the agent to
switch to. Nothing here does I/O or owns a task.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast, overload

from openai.types.realtime import RealtimeFunctionTool
from pydantic import TypeAdapter, ValidationError

from antiphon.exceptions import ToolExecutionError
from antiphon.realtime._schema import summarise_errors
from antiphon.realtime.guardrails import OutputGuardrail
from antiphon.realtime.tools import FunctionTool, ToolContext

__all__ = ["Handoff", "Instructions", "RealtimeAgent", "realtime_handoff"]

T = TypeVar("T")

Instructions = str | Callable[["RealtimeAgent"], str | Awaitable[str]]
"""Fixed instructions, or a function of the agent (sync or async) computing them."""


@dataclass(frozen=True, slots=True)
class RealtimeAgent:
    """A realtime agent. Immutable: derive variants with :meth:`clone`.

    ``handoffs`` may mix :class:`Handoff` values and agents; agents are wrapped with
    :func:`realtime_handoff` at construction. Sequences are stored as tuples so an agent can be
    shared between sessions safely. Being immutable, two agents cannot list each other directly:
    for a cycle, give one side a handoff whose ``on_handoff`` returns the other agent.
    """

    name: str
    instructions: Instructions = ""
    tools: Sequence[FunctionTool] = ()
    handoffs: Sequence[Handoff | RealtimeAgent] = ()
    output_guardrails: Sequence[OutputGuardrail] = ()
    handoff_description: str | None = None

    def __post_init__(self) -> None:
        # Freeze caller lists: a later append to the list must not change a running agent.
        for name in ("tools", "output_guardrails"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        # Agents are wrapped once, here, so every lookup sees the same Handoff value.
        wrapped = tuple(h if isinstance(h, Handoff) else realtime_handoff(h) for h in self.handoffs)
        object.__setattr__(self, "handoffs", wrapped)

    def clone(self, **changes: Any) -> RealtimeAgent:
        """A copy with ``changes`` applied (field names as in the constructor)."""
        return dataclasses.replace(self, **changes)

    async def get_instructions(self) -> str:
        """The instructions text, calling (and awaiting) a dynamic instructions function."""
        if isinstance(self.instructions, str):
            return self.instructions
        text = self.instructions(self)
        return await text if inspect.isawaitable(text) else text

    def enabled_handoffs(self) -> tuple[Handoff, ...]:
        """The handoffs this agent offers now: agents wrapped, disabled ones left out."""
        return tuple(h for h in self.handoffs if isinstance(h, Handoff) and h.enabled_for(self))

    def find_tool(self, name: str) -> FunctionTool | Handoff | None:
        """The function tool or enabled handoff called ``name`` (function tools win a clash)."""
        for tool in self.tools:
            if tool.name == name:
                return tool
        return next((h for h in self.enabled_handoffs() if h.tool_name == name), None)

    def session_tools(self) -> list[RealtimeFunctionTool]:
        """The tools to declare in ``session.update``: function tools, then enabled handoffs."""
        return [t.to_session_tool() for t in self.tools] + [
            h.to_session_tool() for h in self.enabled_handoffs()
        ]


@dataclass(frozen=True, slots=True)
class Handoff:
    """A tool that transfers the conversation to another agent.

    ``on_invoke`` receives the context and the raw JSON arguments and returns the agent to switch
    to; :meth:`invoke` checks that it really is a :class:`RealtimeAgent`. ``is_enabled`` is a flag
    or a function of the agent offering the handoff.
    """

    tool_name: str
    tool_description: str
    agent: RealtimeAgent
    input_json_schema: dict[str, object]
    on_invoke: Callable[[ToolContext, str], Awaitable[object]] = field(repr=False)
    is_enabled: bool | Callable[[RealtimeAgent], bool] = True

    def enabled_for(self, agent: RealtimeAgent) -> bool:
        """Whether ``agent`` (the one offering this handoff) may use it now."""
        return self.is_enabled if isinstance(self.is_enabled, bool) else self.is_enabled(agent)

    def to_session_tool(self) -> RealtimeFunctionTool:
        """The GA ``session.update`` tool entry for this handoff."""
        return RealtimeFunctionTool(
            type="function",
            name=self.tool_name,
            description=self.tool_description,
            parameters=self.input_json_schema,
        )

    def transfer_message(self, agent: RealtimeAgent) -> str:
        """The ``function_call_output`` that tells the model the transfer happened."""
        return json.dumps({"assistant": agent.name})

    async def invoke(self, context: ToolContext, arguments: str) -> RealtimeAgent:
        """Run the handoff and return the new agent.

        Raises :class:`~antiphon.ToolExecutionError` (cause chained) when the callback raises,
        the input is invalid, or the result is not a :class:`RealtimeAgent`. Cancellation
        propagates.
        """
        try:
            result = await self.on_invoke(context, arguments)
        except ToolExecutionError:
            raise
        except Exception as exc:
            raise self._failure(context, str(exc) or type(exc).__name__) from exc
        if not isinstance(result, RealtimeAgent):
            raise self._failure(context, f"expected a RealtimeAgent, got {type(result).__name__}")
        return result

    def _failure(self, context: ToolContext, reason: str) -> ToolExecutionError:
        return ToolExecutionError(
            f"Handoff to '{self.agent.name}' failed: {reason}",
            call_id=context.call_id,
            tool_name=self.tool_name,
        )


def default_handoff_tool_name(agent: RealtimeAgent) -> str:
    """``transfer_to_<agent name in snake case>``."""
    return "transfer_to_" + (re.sub(r"[^0-9a-zA-Z]+", "_", agent.name).strip("_").lower())


def _default_description(agent: RealtimeAgent) -> str:
    extra = f" {agent.handoff_description}" if agent.handoff_description else ""
    return f"Hand the conversation over to the {agent.name} agent.{extra}"


_EMPTY_OBJECT: dict[str, object] = {
    "type": "object",
    "properties": {},
    "additionalProperties": False,
}


@overload
def realtime_handoff(
    agent: RealtimeAgent,
    *,
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[[ToolContext], object] | None = None,
    input_type: None = None,
    is_enabled: bool | Callable[[RealtimeAgent], bool] = True,
) -> Handoff: ...


@overload
def realtime_handoff(
    agent: RealtimeAgent,
    *,
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[[ToolContext, T], object],
    input_type: type[T],
    is_enabled: bool | Callable[[RealtimeAgent], bool] = True,
) -> Handoff: ...


def realtime_handoff(
    agent: RealtimeAgent,
    *,
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[[ToolContext], object] | Callable[[ToolContext, T], object] | None = None,
    input_type: type[T] | None = None,
    is_enabled: bool | Callable[[RealtimeAgent], bool] = True,
) -> Handoff:
    """A handoff to ``agent``.

    Args:
        agent: The agent to transfer to.
        tool_name_override: The tool name; defaults to ``transfer_to_<snake agent name>``.
        tool_description_override: The tool description.
        on_handoff: Called (and awaited if async) when the model takes the handoff: with the
            context, plus the parsed input when ``input_type`` is given. Returning ``None`` keeps
            ``agent``; returning a :class:`RealtimeAgent` switches to that one instead; anything
            else, or raising, fails the handoff.
        input_type: The type of the arguments the model must supply (a pydantic model, a
            TypedDict, ...); validated by pydantic.
        is_enabled: A flag, or a function of the offering agent.
    """
    adapter: TypeAdapter[T] | None = None if input_type is None else TypeAdapter(input_type)

    async def on_invoke(context: ToolContext, arguments: str) -> object:
        if on_handoff is None:
            return agent
        if adapter is None:
            # The overloads tie a one-argument callback to input_type=None.
            result = cast("Callable[[ToolContext], object]", on_handoff)(context)
        else:
            try:
                parsed = adapter.validate_json(arguments.strip() or "{}")
            except ValidationError as exc:
                reason = f"invalid arguments: {summarise_errors(exc)}"
                raise ToolExecutionError(
                    f"Handoff to '{agent.name}' failed: {reason}",
                    call_id=context.call_id,
                    tool_name=context.tool_name,
                ) from exc
            result = cast("Callable[[ToolContext, T], object]", on_handoff)(context, parsed)
        if inspect.isawaitable(result):
            result = await result
        return agent if result is None else result

    schema = _EMPTY_OBJECT if adapter is None else _input_schema(adapter)
    return Handoff(
        tool_name=tool_name_override or default_handoff_tool_name(agent),
        tool_description=tool_description_override or _default_description(agent),
        agent=agent,
        input_json_schema=schema,
        on_invoke=on_invoke,
        is_enabled=is_enabled,
    )


def _input_schema(adapter: TypeAdapter[Any]) -> dict[str, object]:
    schema = adapter.json_schema()
    schema.pop("title", None)
    return schema
