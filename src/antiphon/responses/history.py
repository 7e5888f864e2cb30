"""From a create request and its stored conversation to one :class:`EngineRequest`.

Input items get ids and a normal form (string content becomes typed parts) before they are
stored, so ``GET .../input_items`` lists what OpenAI would. The conversation of a
``previous_response_id`` chain becomes history segments in order (each response's input, then
its output with the exact text the upstream generated for it), and the new request's
instructions, tools and reasoning apply to the new turn only.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from openai.types.responses import ResponseInputItemParam

from antiphon.engines.base import (
    EngineRequest,
    ForcedTool,
    FunctionTool,
    HistorySegment,
    ReasoningEffort,
    TextFormat,
    ToolChoice,
)
from antiphon.exceptions import InvalidRequestError
from antiphon.responses.request import CreateResponseBody
from antiphon.store.base import ConversationSegment, StoredItem
from antiphon.wire.json import dump

__all__ = ["engine_request", "normalize_input"]

_ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}
_EFFORT: dict[str, ReasoningEffort] = {
    "none": "low",
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}


def normalize_input(body: CreateResponseBody, ids: Callable[[str], str]) -> tuple[StoredItem, ...]:
    """The request's input items as stored: JSON with ids, string content as typed parts."""
    if isinstance(body.input, str):
        raw: list[dict[str, object]] = [{"type": "message", "role": "user", "content": body.input}]
    else:
        raw = [dump(item, exclude_unset=False, exclude_none=True) for item in body.input]
    stored: list[StoredItem] = []
    for item in raw:
        kind = str(item.setdefault("type", "message"))
        if kind == "message" and isinstance(item.get("content"), str):
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": part, "text": item["content"]}]
        if kind in ("message", "function_call", "function_call_output"):
            item.setdefault("status", "completed")  # OpenAI lists stored input items with one
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            item_id = ids(_ID_PREFIX.get(kind, "item"))
            item["id"] = item_id
        stored.append(StoredItem(item_id, json.dumps(item, separators=(",", ":"))))
    return tuple(stored)


def engine_request(
    body: CreateResponseBody,
    chain: Sequence[ConversationSegment],
    new_input: Sequence[StoredItem],
    *,
    upstream_model: str,
    today: datetime.date,
) -> EngineRequest:
    """One model turn: history from ``chain`` and ``new_input``, settings from ``body``."""
    history: list[HistorySegment] = []
    for segment in chain:
        history.append(HistorySegment(_items(segment.input_items)))
        # One upstream turn's exact text covers the output; a response that looped over several
        # turns interleaved tool answers with it, so it is re-rendered instead.
        raw = segment.raw_turns[0] if len(segment.raw_turns) == 1 else None
        history.append(HistorySegment(_items(segment.output_items), raw))
    history.append(HistorySegment(_items(new_input)))
    _check_call_outputs(history)
    reasoning = body.reasoning.effort if body.reasoning is not None else None
    return EngineRequest(
        model=upstream_model,
        history=tuple(segment for segment in history if segment.items),
        instructions=body.instructions,
        tools=tuple(
            FunctionTool(t.name, t.description or "", t.parameters)
            for t in body.tools
            if t.type == "function"
        ),
        tool_choice=_tool_choice(body),
        parallel_tool_calls=body.parallel_tool_calls,
        temperature=body.temperature,
        top_p=body.top_p,
        max_output_tokens=body.max_output_tokens,
        reasoning_effort=_EFFORT[reasoning] if reasoning is not None else None,
        text_format=_text_format(body),
        current_date=today,
    )


def _items(stored: Iterable[StoredItem]) -> tuple[ResponseInputItemParam, ...]:
    # Stored JSON was produced from the official models, so the TypedDict shape holds.
    return tuple(cast(ResponseInputItemParam, json.loads(item.data)) for item in stored)


def _check_call_outputs(history: Sequence[HistorySegment]) -> None:
    calls: set[object] = set()
    for segment in history:
        for item in segment.items:
            if item.get("type") == "function_call":
                calls.add(item.get("call_id"))
            elif item.get("type") == "function_call_output" and item.get("call_id") not in calls:
                raise InvalidRequestError(
                    f"No tool call found for function call output with call_id "
                    f"{item.get('call_id')}.",
                    param="input",
                )


def _tool_choice(body: CreateResponseBody) -> ToolChoice:
    choice = body.tool_choice
    if isinstance(choice, str):
        return choice
    return ForcedTool("function", name=getattr(choice, "name", ""))


def _text_format(body: CreateResponseBody) -> TextFormat:
    fmt = body.text.format if body.text is not None else None
    if fmt is None or fmt.type == "text":
        return TextFormat()
    if fmt.type == "json_object":
        return TextFormat("json_object")
    return TextFormat(
        "json_schema",
        name=fmt.name,
        schema=fmt.schema_,
        description=fmt.description,
        strict=fmt.strict,
    )
