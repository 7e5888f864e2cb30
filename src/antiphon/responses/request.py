"""Parsing and checking a ``POST /v1/responses`` body before anything runs.

The body is validated against the official ``openai.types.responses`` models (input items,
tools, tool choice, reasoning, text config). Then every field is sorted into one of three kinds:
honoured (the run uses it), accepted hints that by definition change no output
(``prompt_cache_key``, ``safety_identifier``), and everything else, which is rejected with a 400
that names the field: antiphon never silently ignores a parameter a client relies on.

An ``mcp`` tool's ``headers`` and ``authorization`` are credentials for the MCP server only: they
are taken out of ``tools`` as soon as the body is parsed (``tools`` is echoed in the response
object and stored with it) and kept aside for :meth:`CreateResponseBody.mcp_tool`.
"""

from __future__ import annotations

from typing import Literal

from openai.types.responses import ResponseInputItem, ResponseTextConfig, Tool
from openai.types.responses.response import ToolChoice
from openai.types.responses.tool import Mcp
from openai.types.shared import Reasoning
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from antiphon.exceptions import InvalidRequestError

__all__ = ["CreateResponseBody", "parse_create_body"]

#: Fields of the OpenAI request that antiphon knows but cannot honour (yet).
_UNSUPPORTED = frozenset(
    {
        "access_programs",
        "background_options",
        "context_management",
        "conversation",
        "image",
        "moderation",
        "prompt",
        "prompt_cache_options",
        "prompt_cache_retention",
        "top_logprobs",
    }
)
_SUPPORTED_TOOL_TYPES = frozenset({"function", "mcp", "code_interpreter"})
_SUPPORTED_INCLUDE: frozenset[str] = frozenset({"code_interpreter_call.outputs"})


class CreateResponseBody(BaseModel):
    """The honoured fields of a create request, typed with the official models."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    input: str | list[ResponseInputItem] = ""
    instructions: str | None = None
    tools: list[Tool] = Field(default_factory=list[Tool])
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    max_tool_calls: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    reasoning: Reasoning | None = None
    text: ResponseTextConfig | None = None
    store: bool = True
    previous_response_id: str | None = None
    background: bool = False
    stream: bool = False
    stream_options: dict[str, bool] | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    include: list[str] | None = None
    truncation: Literal["disabled"] | None = None
    service_tier: Literal["auto", "default"] | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    # The mcp tools as sent, credentials included, by index in ``tools``; never serialised.
    _mcp_tools: dict[int, Mcp] = PrivateAttr(default_factory=dict[int, Mcp])

    def model_post_init(self, context: object, /) -> None:
        """Move MCP credentials out of ``tools`` (see the module docstring)."""
        for index, tool in enumerate(self.tools):
            if tool.type == "mcp" and (tool.headers is not None or tool.authorization is not None):
                self._mcp_tools[index] = tool
                # The list is mutable though the model is frozen: swap in the redacted copy.
                self.tools[index] = tool.model_copy(update={"headers": None, "authorization": None})

    def mcp_tool(self, index: int, tool: Mcp) -> Mcp:
        """The ``mcp`` tool at ``index`` with the credentials the client sent."""
        return self._mcp_tools.get(index, tool)


def parse_create_body(raw: object) -> CreateResponseBody:
    """Validate a decoded JSON body; raise :class:`InvalidRequestError` naming the bad field."""
    if not isinstance(raw, dict):
        raise InvalidRequestError("The request body must be a JSON object.", param=None)
    try:
        body = CreateResponseBody.model_validate(raw)
    except ValidationError as exc:
        raise _from_validation_error(exc) from exc
    _reject_unknown_fields(body)
    _check_tools(body)
    _check_consistency(body)
    return body


def _from_validation_error(exc: ValidationError) -> InvalidRequestError:
    first = exc.errors(include_url=False)[0]
    param = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
    ).lstrip(".")
    # Union members each report their own failure; the first line is the one a user can act on.
    message = f"Invalid value for '{param}': {first['msg']}."
    code = "missing_required_parameter" if first["type"] == "missing" else "invalid_value"
    return InvalidRequestError(message, param=param or None, code=code)


def _reject_unknown_fields(body: CreateResponseBody) -> None:
    for name, value in (body.model_extra or {}).items():
        if value is None:
            continue
        if name in _UNSUPPORTED:
            raise InvalidRequestError(
                f"antiphon does not support the parameter '{name}'.",
                param=name,
                code="unsupported_parameter",
            )
        raise InvalidRequestError(
            f"Unrecognized request argument supplied: '{name}'.",
            param=name,
            code="unknown_parameter",
        )


def _check_tools(body: CreateResponseBody) -> None:
    names: set[str] = set()
    for index, tool in enumerate(body.tools):
        if tool.type not in _SUPPORTED_TOOL_TYPES:
            raise InvalidRequestError(
                f"antiphon does not support tools of type '{tool.type}'.",
                param=f"tools[{index}].type",
                code="unsupported_value",
            )
        if tool.type == "mcp" and tool.connector_id is not None:
            raise InvalidRequestError(
                "antiphon does not support MCP connectors; name a configured MCP server.",
                param=f"tools[{index}].connector_id",
                code="unsupported_value",
            )
        name = _tool_key(tool)
        if name in names:
            raise InvalidRequestError(
                f"Duplicate tool '{name}'.", param=f"tools[{index}]", code="invalid_value"
            )
        names.add(name)
    choice = body.tool_choice
    if isinstance(choice, str):
        if choice == "required" and not body.tools:
            raise InvalidRequestError(
                "tool_choice 'required' needs at least one tool.", param="tool_choice"
            )
        return
    if choice.type != "function":
        raise InvalidRequestError(
            f"antiphon does not support tool_choice of type '{choice.type}'.",
            param="tool_choice.type",
            code="unsupported_value",
        )
    if f"function:{getattr(choice, 'name', '')}" not in names:
        raise InvalidRequestError(
            "tool_choice names a function that is not in 'tools'.", param="tool_choice.name"
        )


def _tool_key(tool: Tool) -> str:
    # Tools of one kind must not collide: functions by name, MCP servers by label.
    if tool.type == "function":
        return f"function:{tool.name}"
    if tool.type == "mcp":
        return f"mcp:{tool.server_label}"
    return tool.type


def _check_consistency(body: CreateResponseBody) -> None:
    if body.background and not body.store:
        raise InvalidRequestError("background responses require store=true.", param="background")
    if body.stream_options is not None and not body.stream:
        raise InvalidRequestError("stream_options requires stream=true.", param="stream_options")
    if body.input == "" and body.previous_response_id is None:
        raise InvalidRequestError("Missing required parameter: 'input'.", param="input")
    if body.metadata is not None:
        _check_metadata(body.metadata)
    for value in body.include or ():
        if value not in _SUPPORTED_INCLUDE:
            raise InvalidRequestError(
                f"antiphon does not support include value '{value}'.",
                param="include",
                code="unsupported_value",
            )
    if body.reasoning is not None:
        _check_reasoning(body.reasoning)


def _check_reasoning(reasoning: Reasoning) -> None:
    # Open models stream their raw reasoning; summaries, "pro" modes and replaying the reasoning
    # of earlier turns (harmony drops it by design) are things antiphon cannot do.
    for name, value, allowed in (
        ("summary", reasoning.summary, (None, "auto")),
        ("generate_summary", reasoning.generate_summary, (None, "auto")),
        ("mode", reasoning.mode, (None, "standard")),
        ("context", reasoning.context, (None, "auto", "current_turn")),
    ):
        if value not in allowed:
            raise InvalidRequestError(
                f"antiphon does not support reasoning.{name} '{value}'.",
                param=f"reasoning.{name}",
                code="unsupported_value",
            )


def _check_metadata(metadata: dict[str, str]) -> None:
    # The OpenAI limits: at most 16 pairs, keys up to 64 characters, values up to 512.
    if len(metadata) > 16:
        raise InvalidRequestError("metadata has more than 16 keys.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 64 or len(value) > 512:
            raise InvalidRequestError(f"metadata entry '{key[:64]}' is too long.", param="metadata")
