"""Builders of the frames a stand-in upstream plays: real chunk shapes, validated.

Role: produce ``chat.completion.chunk`` and ``text_completion`` stream chunks the way vLLM emits
them (a role-only first chunk, one delta per piece, the finish chunk, a usage-only chunk with no
choices), each validated against the official ``openai.types`` model before it is dumped, plus
the turn objects the control API takes. Tests write variants (no ``index``, whole tool calls in
one chunk) by editing the dicts these return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from openai.types import Completion, CompletionUsage
from openai.types.chat import ChatCompletionChunk

from antiphon.engines._http import JSONObject
from antiphon.wire.json import dump

__all__ = ["ToolCallScript", "chat_chunks", "completion_chunks", "turn", "usage"]

ChatFinish = Literal["stop", "length", "tool_calls", "content_filter"]
_CHAT_ID = "chatcmpl-standin"
_CREATED = 1_700_000_000


@dataclass(frozen=True, slots=True)
class ToolCallScript:
    """One tool call to stream: its id, name and argument pieces (one delta each)."""

    name: str
    arguments: Sequence[str]
    call_id: str | None = None


def usage(
    prompt: int, completion: int, *, reasoning: int | None = None, cached: int | None = None
) -> JSONObject:
    """An OpenAI ``usage`` object."""
    data: JSONObject = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if reasoning is not None:
        data["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    if cached is not None:
        data["prompt_tokens_details"] = {"cached_tokens": cached}
    return dump(CompletionUsage.model_validate(data))


def _chunk(delta: JSONObject, finish: str | None = None, model: str = "stand-in") -> JSONObject:
    data: JSONObject = {
        "id": _CHAT_ID,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return dump(ChatCompletionChunk.model_validate(data))


def chat_chunks(
    *,
    reasoning: Sequence[str] = (),
    content: Sequence[str] = (),
    tool_calls: Sequence[ToolCallScript] = (),
    finish_reason: ChatFinish = "stop",
    usage_data: JSONObject | None = None,
    reasoning_key: str = "reasoning_content",
) -> list[JSONObject]:
    """A whole chat stream in vLLM's shape: role, reasoning, content, calls, finish, usage."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({reasoning_key: piece}) for piece in reasoning]
    chunks += [_chunk({"content": piece}) for piece in content]
    for index, call in enumerate(tool_calls):
        head = {
            "index": index,
            "id": call.call_id or f"call_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(_chunk({"tool_calls": [head]}))
        chunks += [
            _chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in call.arguments
        ]
    chunks.append(_chunk({}, finish_reason))
    if usage_data is not None:
        last: JSONObject = {
            "id": _CHAT_ID,
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": "stand-in",
            "choices": [],
            "usage": usage_data,
        }
        chunks.append(dump(ChatCompletionChunk.model_validate(last)))
    return chunks


def completion_chunks(
    texts: Sequence[str],
    *,
    finish_reason: Literal["stop", "length"] = "stop",
    usage_data: JSONObject | None = None,
) -> list[JSONObject]:
    """A ``/v1/completions`` stream: one chunk per text piece, the finish, then usage."""
    pieces = [*((text, None) for text in texts), ("", finish_reason)]
    chunks: list[JSONObject] = []
    for text, finish in pieces:
        choice: JSONObject = {
            "index": 0,
            "text": text,
            "logprobs": None,
            "finish_reason": finish or "stop",
        }
        data: JSONObject = {
            "id": "cmpl-standin",
            "object": "text_completion",
            "created": _CREATED,
            "model": "stand-in",
            "choices": [choice],
        }
        dumped = dump(Completion.model_validate(data))
        # Streamed chunks carry a null finish_reason until the last, which the model forbids.
        choice_out = dumped["choices"][0]
        choice_out["finish_reason"] = finish
        chunks.append(dumped)
    if usage_data is not None:
        chunks.append(
            {
                "id": "cmpl-standin",
                "object": "text_completion",
                "created": _CREATED,
                "model": "stand-in",
                "choices": [],
                "usage": usage_data,
            }
        )
    return chunks


def turn(
    frames: Sequence[JSONObject | str] = (),
    *,
    status: int | None = None,
    error: str | None = None,
    cut_after: int | None = None,
    stall_after: int | None = None,
    interval: float | None = None,
    done: bool = True,
) -> JSONObject:
    """One scripted turn for the control API (see :mod:`antiphon.testing.upstream._app`)."""
    data: JSONObject = {"frames": list(frames), "done": done}
    optional = {
        "status": status,
        "error": error,
        "cut_after": cut_after,
        "stall_after": stall_after,
        "interval": interval,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data
