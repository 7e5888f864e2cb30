"""Between realtime items and Responses items, both ways.

A realtime response runs on the Responses machinery, so the conversation goes in as Responses
input items and the response's output items come back as realtime items. The two item families
are close: messages, function calls and outputs, MCP listings, calls and approvals have the same
fields under the same names. The differences: realtime messages carry audio transcripts, and
the GA protocol has no code interpreter item, so a code interpreter call is shown as an
``mcp_call`` of the pseudo-server ``code_interpreter`` (its ``python`` tool, the code as
``{"code": ...}`` arguments, the printed logs as output). Reasoning stays on the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Literal, cast

from openai.types.realtime import (
    ConversationItem,
    RealtimeConversationItemAssistantMessage,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemFunctionCallOutput,
    RealtimeConversationItemSystemMessage,
    RealtimeConversationItemUserMessage,
    RealtimeMcpApprovalRequest,
    RealtimeMcpApprovalResponse,
    RealtimeMcpListTools,
    RealtimeMcpToolCall,
)
from pydantic import TypeAdapter

from antiphon.wire.json import dump

__all__ = ["CODE_LABEL", "input_items", "realtime_item"]

#: The ``server_label`` under which code interpreter calls are shown.
CODE_LABEL: Final = "code_interpreter"
_ITEMS: TypeAdapter[ConversationItem] = TypeAdapter(ConversationItem)
Status = Literal["in_progress", "completed", "incomplete"]


def input_items(
    items: Iterable[ConversationItem],
    origin_of: Callable[[str | None], Mapping[str, object] | None],
) -> list[dict[str, object]]:
    """The items as Responses input items, in order (see the module docstring).

    ``origin_of`` gives the Responses item a server-produced item was made from.
    """
    converted: list[dict[str, object]] = []
    for item in items:
        origin = origin_of(item.id)
        if origin is not None:  # produced here: the engine sees it again exactly as it was
            if origin.get("type") != "reasoning":
                converted.append(dict(origin))
            continue
        found = _input_item(item)
        if found is not None:
            converted.append(found)
    return converted


def _input_item(item: ConversationItem) -> dict[str, object] | None:
    if isinstance(item, RealtimeConversationItemAssistantMessage):
        text = "".join(part.text or part.transcript or "" for part in item.content)
        return {"type": "message", "role": "assistant", "content": text}
    if isinstance(
        item, RealtimeConversationItemUserMessage | RealtimeConversationItemSystemMessage
    ):
        text = "".join(
            part.text or getattr(part, "transcript", None) or "" for part in item.content
        )
        return {"type": "message", "role": item.role, "content": text}
    if isinstance(item, RealtimeConversationItemFunctionCall):
        return {
            "type": "function_call",
            "call_id": item.call_id or "",
            "name": item.name,
            "arguments": item.arguments,
        }
    if isinstance(item, RealtimeConversationItemFunctionCallOutput):
        return {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
    return _mcp_input(item)


def _mcp_input(
    item: RealtimeMcpListTools
    | RealtimeMcpToolCall
    | RealtimeMcpApprovalRequest
    | RealtimeMcpApprovalResponse,
) -> dict[str, object]:
    data = dump(item, exclude_none=True)
    error = item.error if isinstance(item, RealtimeMcpToolCall) else None
    if error is not None:  # the same errors under Responses' tags
        if error.type == "tool_execution_error":
            data["error"] = {"type": "mcp_tool_execution_error", "content": error.message}
        else:
            kind = "mcp_protocol_error" if error.type == "protocol_error" else "http_error"
            data["error"] = {"type": kind, "code": error.code, "message": error.message}
    return data


def realtime_item(
    output: Mapping[str, object], status: Status, *, spoken: bool = False
) -> ConversationItem | None:
    """The realtime item for a Responses output item (None for reasoning).

    A ``spoken`` message carries its text as the transcript of its audio.
    """
    kind = output.get("type")
    item_id = str(output.get("id") or "")
    if kind == "message":
        parts = cast(list[Mapping[str, object]], output.get("content") or [])
        text = "".join(str(part.get("text") or "") for part in parts)
        part = (
            {"type": "output_audio", "transcript": text}
            if spoken
            else {"type": "output_text", "text": text}
        )
        content = [part] if status != "in_progress" else []
        return _ITEMS.validate_python(
            {
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "role": "assistant",
                "status": status,
                "content": content,
            }
        )
    if kind == "function_call":
        return RealtimeConversationItemFunctionCall(
            id=item_id,
            object="realtime.item",
            type="function_call",
            status=status,
            name=str(output.get("name") or ""),
            call_id=str(output.get("call_id") or ""),
            arguments=str(output.get("arguments") or ""),
        )
    if kind == "code_interpreter_call":
        return _code_call(output, status)
    if kind in ("mcp_list_tools", "mcp_call", "mcp_approval_request"):
        return _mcp_item(output)
    return None


def _code_call(output: Mapping[str, object], status: Status) -> RealtimeMcpToolCall:
    logs = [
        str(part.get("logs") or "")
        for part in cast(list[Mapping[str, object]], output.get("outputs") or [])
        if part.get("type") == "logs"
    ]
    failed = output.get("status") == "failed"
    text = "".join(logs)
    error = {"type": "tool_execution_error", "message": text or "the code failed"}
    return RealtimeMcpToolCall.model_validate(
        {
            "id": str(output.get("id") or ""),
            "type": "mcp_call",
            "server_label": CODE_LABEL,
            "name": "python",
            "arguments": json.dumps({"code": str(output.get("code") or "")}),
            "output": None if failed or status == "in_progress" else text,
            "error": error if failed else None,
        }
    )


def _mcp_item(output: Mapping[str, object]) -> ConversationItem:
    data = {key: value for key, value in output.items() if key != "status"}
    if data.get("type") == "mcp_list_tools":
        # Realtime's listing item has no error field (a failed listing says so in the
        # mcp_list_tools.failed event); sending Responses' one breaks the official type.
        data.pop("error", None)
    error = data.get("error")
    if isinstance(error, Mapping):  # Responses' MCP error tags, as realtime spells them
        fields = cast(Mapping[str, object], error)
        kind = fields.get("type")
        if kind == "mcp_protocol_error" or kind == "http_error":
            data["error"] = {
                "type": "protocol_error" if kind == "mcp_protocol_error" else "http_error",
                "code": fields.get("code"),
                "message": str(fields.get("message") or ""),
            }
        else:
            data["error"] = {
                "type": "tool_execution_error",
                "message": _content_text(fields.get("content")),
            }
    elif error is not None:
        data["error"] = {"type": "tool_execution_error", "message": str(error)}
    return _ITEMS.validate_python(data)


def _content_text(content: object) -> str:
    """The text of an MCP tool's error content (a list of content parts, or a string)."""
    if isinstance(content, list):
        parts = cast(list[object], content)
        return "".join(
            str(cast(Mapping[str, object], part).get("text") or "")
            for part in parts
            if isinstance(part, Mapping)
        )
    return content if isinstance(content, str) else json.dumps(content)
