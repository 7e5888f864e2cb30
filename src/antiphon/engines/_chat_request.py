"""An :class:`EngineRequest` as an OpenAI chat-completions request body.

Role: translate Responses history items into chat messages (assistant text and tool calls merged
into one assistant message, outputs as ``tool`` messages) and the request's tools into function
tools, keeping the table that maps each function name back to its harmony recipient (see
:mod:`antiphon.engines.base`). Boundary: produces a JSON-ready dict; no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from antiphon.engines._http import JSONObject, as_list, as_object, as_str
from antiphon.engines._items import code_logs, mcp_result, output_text, texts
from antiphon.engines.base import EngineRequest, ForcedTool, FunctionTool, TextFormat
from antiphon.exceptions import ConfigurationError
from antiphon.harmony.messages import mcp_namespace

__all__ = ["ChatOptions", "build_chat_body"]

PYTHON_TOOL: Final = FunctionTool(
    "python",
    "Run Python code in a sandbox and return its output.",
    {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
)
WEB_SEARCH_TOOL: Final = FunctionTool(
    "web_search",
    "Search the web and return the results.",
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
# History items the chat format has no place for: the tool list is sent with every request.
_SKIPPED: Final = frozenset(
    {"mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "web_search_call"}
)


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """How the chat engine words requests for a given upstream.

    ``max_tokens_field``: ``"max_tokens"`` is understood by vLLM, SGLang, llama.cpp and Ollama;
    OpenAI reasoning models need ``"max_completion_tokens"``. ``reasoning_field``: the assistant
    message key that replays reasoning items (``"reasoning_content"`` for some templates);
    ``None`` drops them. ``extra_body`` is merged into every request body. ``stream=False``
    asks the upstream for whole answers (llama.cpp with a function-calling chat format refuses
    to stream tool calls: "Automatic streaming tool choice is not supported"); the client still
    gets a stream, of the whole turn at once.
    """

    max_tokens_field: str = "max_tokens"
    reasoning_field: str | None = None
    extra_body: Mapping[str, object] = field(default_factory=dict[str, object])
    stream: bool = True


def build_chat_body(
    request: EngineRequest, options: ChatOptions
) -> tuple[JSONObject, dict[str, str]]:
    """The request body, and the map from each offered function name to its recipient."""
    tools, recipients = _tools(request)
    body: JSONObject = {
        "model": request.model,
        "messages": _Messages(options.reasoning_field).build(request),
        "stream": options.stream,
    }
    if options.stream:
        body["stream_options"] = {"include_usage": True}
    if tools and request.tool_choice != "none":
        body["tools"] = tools
        body["tool_choice"] = _tool_choice(request.tool_choice)
        body["parallel_tool_calls"] = request.parallel_tool_calls
    optional = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        options.max_tokens_field: request.max_output_tokens,
        "reasoning_effort": request.reasoning_effort,
        "response_format": _response_format(request.text_format),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    body.update(options.extra_body)
    return body, recipients


def _tools(request: EngineRequest) -> tuple[list[JSONObject], dict[str, str]]:
    entries = [(tool, f"functions.{tool.name}") for tool in request.tools]
    for server in request.mcp_servers:
        ns = mcp_namespace(server.server_label)
        entries += [
            (FunctionTool(f"{ns}__{t.name}", t.description, t.parameters), f"{ns}.{t.name}")
            for t in server.tools
        ]
    if request.code_interpreter:
        entries.append((PYTHON_TOOL, "python"))
    if request.web_search:
        entries.append((WEB_SEARCH_TOOL, "browser.search"))
    recipients: dict[str, str] = {}
    for tool, recipient in entries:
        if recipients.setdefault(tool.name, recipient) != recipient:
            raise ConfigurationError(f"two tools map to the chat function name {tool.name!r}")
    return [_function(tool) for tool, _ in entries], recipients


def _function(tool: FunctionTool) -> JSONObject:
    function: JSONObject = {
        "name": tool.name,
        "description": tool.description,
        "parameters": dict(tool.parameters or {"type": "object", "properties": {}}),
    }
    return {"type": "function", "function": function}


def _tool_choice(choice: str | ForcedTool) -> object:
    if not isinstance(choice, ForcedTool):
        return choice
    names = {"code_interpreter": PYTHON_TOOL.name, "web_search": WEB_SEARCH_TOOL.name}
    if choice.kind == "mcp":
        name = f"{mcp_namespace(choice.server_label)}__{choice.name}"
    else:
        name = names.get(choice.kind, choice.name)
    return {"type": "function", "function": {"name": name}}


def _response_format(text: TextFormat) -> JSONObject | None:
    if text.kind == "json_object":
        return {"type": "json_object"}
    if text.kind != "json_schema":
        return None
    schema: JSONObject = {"name": text.name or "response", "schema": dict(text.schema or {})}
    if text.description is not None:
        schema["description"] = text.description
    if text.strict is not None:
        schema["strict"] = text.strict
    return {"type": "json_schema", "json_schema": schema}


class _Messages:
    """Builds the message list; consecutive assistant output merges into one message."""

    def __init__(self, reasoning_field: str | None) -> None:
        self._reasoning_field = reasoning_field
        self._messages: list[JSONObject] = []
        self._assistant: JSONObject | None = None
        self._reasoning: list[str] = []

    def build(self, request: EngineRequest) -> list[JSONObject]:
        if request.instructions:
            self._messages.append({"role": "system", "content": request.instructions})
        for segment in request.history:
            for item in segment.items:
                self._item(item)
        self._flush()
        return self._messages

    def _item(self, item: Mapping[str, object]) -> None:
        kind = as_str(item.get("type")) or "message"
        if kind == "message":
            self._message(item)
        elif kind == "function_call":
            self._call(as_str(item.get("call_id")), as_str(item.get("name")), item.get("arguments"))
        elif kind == "function_call_output":
            self._tool_result(as_str(item.get("call_id")), output_text(item.get("output")))
        elif kind == "mcp_call":
            ns = mcp_namespace(as_str(item.get("server_label")) or "")
            name = f"{ns}__{as_str(item.get('name')) or ''}"
            self._call(as_str(item.get("id")), name, item.get("arguments"))
            self._tool_result(as_str(item.get("id")), mcp_result(item))
        elif kind == "code_interpreter_call":
            code = json.dumps({"code": as_str(item.get("code")) or ""})
            self._call(as_str(item.get("id")), PYTHON_TOOL.name, code)
            self._tool_result(as_str(item.get("id")), code_logs(item))
        elif kind == "reasoning":
            self._reasoning += texts(item.get("content")) or texts(item.get("summary"))
        elif kind not in _SKIPPED:
            raise ConfigurationError(
                f"history item type {kind!r} cannot be sent to a chat upstream"
            )

    def _message(self, item: Mapping[str, object]) -> None:
        role = as_str(item.get("role")) or "user"
        content = _content(item.get("content"))
        if role == "assistant":
            self._open_assistant()["content"] = _join(
                self._open_assistant().get("content"), content
            )
            return
        self._flush()
        # Many open-model chat templates know no "developer" role; "system" means the same.
        self._messages.append(
            {"role": "system" if role == "developer" else role, "content": content}
        )

    def _call(self, call_id: str | None, name: str | None, arguments: object) -> None:
        assistant = self._open_assistant()
        calls = as_list(assistant.setdefault("tool_calls", []))
        text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
        calls.append(
            {
                "id": call_id or f"call_{len(self._messages)}_{len(calls)}",
                "type": "function",
                "function": {"name": name or "", "arguments": text},
            }
        )

    def _tool_result(self, call_id: str | None, text: str) -> None:
        self._flush()
        self._messages.append({"role": "tool", "tool_call_id": call_id or "", "content": text})

    def _open_assistant(self) -> JSONObject:
        if self._assistant is None:
            # "" rather than null: llama.cpp's server refuses an assistant message whose content
            # is null, even beside tool_calls; vLLM, SGLang, Ollama and OpenAI accept both.
            self._assistant = {"role": "assistant", "content": ""}
            if self._reasoning_field and self._reasoning:
                self._assistant[self._reasoning_field] = "\n".join(self._reasoning)
            self._reasoning = []
        return self._assistant

    def _flush(self) -> None:
        if self._assistant is not None:
            self._messages.append(self._assistant)
            self._assistant = None


def _content(value: object) -> object:
    """Message content: a string when every part is text (the most widely accepted form)."""
    if isinstance(value, str):
        return value
    parts: list[JSONObject] = []
    for part in as_list(value):
        obj = as_object(part) or {}
        kind = as_str(obj.get("type"))
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": as_str(obj.get("text")) or ""})
        elif kind == "refusal":
            parts.append({"type": "text", "text": as_str(obj.get("refusal")) or ""})
        elif kind == "input_image" and (url := as_str(obj.get("image_url"))):
            parts.append(
                {
                    "type": "image_url",
                    "image_url": {"url": url, "detail": as_str(obj.get("detail")) or "auto"},
                }
            )
        else:
            raise ConfigurationError(f"content part {kind!r} cannot be sent to a chat upstream")
    if all(part["type"] == "text" for part in parts):
        return "".join(as_str(part["text"]) or "" for part in parts)
    return parts


def _join(existing: object, content: object) -> object:
    if existing is None or existing == "":
        return content
    if isinstance(existing, str) and isinstance(content, str):
        return existing + content
    return [*as_list(existing), *as_list(content)]
