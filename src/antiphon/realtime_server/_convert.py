"""Realtime conversation items as the Responses input items engines read, and tool settings.

A realtime conversation holds ``openai.types.realtime`` items; an :class:`EngineRequest` carries
Responses input items. Only the text-bearing kinds are converted: system, user and assistant
messages (their text parts), function calls and their outputs (an output whose call is not
in the history is left out: engines cannot render it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from openai.types.realtime import (
    ConversationItem,
    RealtimeConversationItemAssistantMessage,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemFunctionCallOutput,
    RealtimeConversationItemSystemMessage,
    RealtimeConversationItemUserMessage,
    RealtimeFunctionTool,
    RealtimeToolChoiceConfig,
)
from openai.types.responses import ResponseInputItemParam

from antiphon.engines.base import ForcedTool, FunctionTool, ToolChoice
from antiphon.exceptions import InvalidRequestError

__all__ = ["function_tools", "history_items", "tool_choice"]


def history_items(items: Iterable[ConversationItem]) -> tuple[ResponseInputItemParam, ...]:
    """The Responses input items of a realtime conversation, in order."""
    converted: list[ResponseInputItemParam] = []
    calls: set[str] = set()
    for item in items:
        if isinstance(item, RealtimeConversationItemAssistantMessage):
            text = "".join(part.text or part.transcript or "" for part in item.content)
            converted.append({"type": "message", "role": "assistant", "content": text})
        elif isinstance(
            item, RealtimeConversationItemUserMessage | RealtimeConversationItemSystemMessage
        ):
            text = "".join(part.text or "" for part in item.content)
            converted.append({"type": "message", "role": item.role, "content": text})
        elif isinstance(item, RealtimeConversationItemFunctionCall):
            calls.add(item.call_id or "")
            converted.append(
                {
                    "type": "function_call",
                    "call_id": item.call_id or "",
                    "name": item.name,
                    "arguments": item.arguments,
                }
            )
        elif isinstance(item, RealtimeConversationItemFunctionCallOutput):
            if item.call_id not in calls:
                continue  # its call was dropped from the bounded history (or never made)
            converted.append(
                {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
            )
    return tuple(converted)


def function_tools(tools: Sequence[object], param: str) -> tuple[FunctionTool, ...]:
    """The function tools of a session or response; any other tool is refused, naming it."""
    found: list[FunctionTool] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, RealtimeFunctionTool):
            raise InvalidRequestError(
                f"Tool type {getattr(tool, 'type', None)!r} is not supported over /v1/realtime yet "
                "(only function tools).",
                param=f"{param}[{index}].type",
            )
        if not tool.name:
            raise InvalidRequestError(
                "A function tool needs a name.", param=f"{param}[{index}].name"
            )
        raw: object = tool.parameters
        parameters = cast(Mapping[str, object], raw) if isinstance(raw, dict) else None
        found.append(FunctionTool(tool.name, tool.description or "", parameters))
    return tuple(found)


def tool_choice(choice: RealtimeToolChoiceConfig, param: str) -> ToolChoice:
    """The engine's tool choice for a session's or response's ``tool_choice``."""
    if isinstance(choice, str):
        return choice
    if choice.type == "function":
        return ForcedTool("function", name=choice.name)
    raise InvalidRequestError(
        f"tool_choice of type {choice.type!r} is not supported over /v1/realtime yet.",
        param=param,
    )
