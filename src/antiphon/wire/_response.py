"""The request parameters a response echoes, and the building of `Response` snapshots.

Boundary: the server turns a validated request body into a :class:`ResponseParams` of official
``openai.types`` models; this module only copies them onto ``Response`` objects. Models are
built with pydantic's own ``model_construct`` (no validation: the ledger sets every field the
wire needs, and tests validate what it emits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Required, TypedDict, TypeVar

import openai
from openai.types.responses import Response, ResponseTextConfig, Tool
from openai.types.responses.response import ToolChoice
from openai.types.responses.response_usage import (
    InputTokensDetails,
    OutputTokensDetails,
    ResponseUsage,
)
from openai.types.responses.service_tier import ServiceTier
from openai.types.shared import Reasoning, ResponseFormatText

__all__ = ["ResponseParams", "build_usage", "construct", "echo_fields"]

_M = TypeVar("_M", bound=openai.BaseModel)


def construct(model: type[_M], /, **fields: object) -> _M:
    """Build ``model`` without validation; exactly the fields given are marked as set.

    openai's ``BaseModel`` overrides ``model_construct`` with a lax recursive parser that is
    about ten times slower and re-parses values that are already models, so the ledger calls
    pydantic's original (through ``super``). When every field is given by its name, as the
    ledger does for each text delta, the instance is built as pydantic's ``model_construct``
    would build it, without its loop over the fields (aliases, defaults): a third of the cost.
    """
    plan = _PLANS.get(model)
    if plan is None:
        plan = _PLANS[model] = _plan(model)
    if plan and fields.keys() == plan[1]:
        built = model.__new__(model)
        # In declaration order, as pydantic fills it: the serialiser writes that order.
        _setattr(built, "__dict__", {name: fields[name] for name in plan[0]})
        _setattr(built, "__pydantic_fields_set__", set(fields))
        _setattr(built, "__pydantic_extra__", {} if plan[2] else None)
        _setattr(built, "__pydantic_private__", None)
        return built
    built = super(openai.BaseModel, model).model_construct(None, **fields)
    assert isinstance(built, model)  # narrows pydantic's ``Self`` for the type checker
    return built


_setattr = object.__setattr__
_Plan = tuple[tuple[str, ...], frozenset[str], bool] | tuple[()]
#: Per model: (its field names in order, the same as a set, whether it allows extra fields), or
#: () when the direct build does not apply (aliases unlike the names, post-init, a root model).
_PLANS: dict[type[openai.BaseModel], _Plan] = {}


def _plan(model: type[openai.BaseModel]) -> _Plan:
    fields = model.__pydantic_fields__
    aliased = any(
        (info.alias is not None and info.alias != name) or info.validation_alias is not None
        for name, info in fields.items()
    )
    if aliased or model.__pydantic_post_init__ or model.__pydantic_root_model__:
        return ()
    return tuple(fields), frozenset(fields), model.model_config.get("extra") == "allow"


class ResponseParams(TypedDict, total=False):
    """The request parameters a response echoes, as official ``openai.types`` models.

    Only ``model`` is required; a key left out takes the default OpenAI reports for it (tools
    ``[]``, tool_choice ``"auto"``, parallel_tool_calls ``True``, temperature and top_p ``1.0``,
    truncation ``"disabled"``, text format ``{"type": "text"}``, background ``False``,
    metadata ``{}``), anything else ``null``. ``store`` is accepted for the server's benefit but
    not echoed, because the ``Response`` model has no such field.
    """

    model: Required[str]
    instructions: str | None
    tools: Sequence[Tool]
    tool_choice: ToolChoice
    parallel_tool_calls: bool
    max_output_tokens: int | None
    max_tool_calls: int | None
    temperature: float | None
    top_p: float | None
    top_logprobs: int | None
    metadata: dict[str, str] | None
    previous_response_id: str | None
    reasoning: Reasoning | None
    text: ResponseTextConfig | None
    truncation: Literal["auto", "disabled"] | None
    user: str | None
    safety_identifier: str | None
    prompt_cache_key: str | None
    background: bool
    store: bool
    service_tier: ServiceTier


_DEFAULT_TEXT = ResponseTextConfig(format=ResponseFormatText(type="text"))


def echo_fields(params: ResponseParams, *, response_id: str, created_at: int) -> dict[str, object]:
    """The fields every snapshot of one response shares, computed once per response."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "model": params["model"],
        "instructions": params.get("instructions"),
        "tools": list(params.get("tools", ())),
        "tool_choice": params.get("tool_choice", "auto"),
        "parallel_tool_calls": params.get("parallel_tool_calls", True),
        "max_output_tokens": params.get("max_output_tokens"),
        "max_tool_calls": params.get("max_tool_calls"),
        "temperature": params.get("temperature", 1.0),
        "top_p": params.get("top_p", 1.0),
        "top_logprobs": params.get("top_logprobs"),
        "metadata": params.get("metadata") or {},
        "previous_response_id": params.get("previous_response_id"),
        "reasoning": params.get("reasoning"),
        "text": params.get("text") or _DEFAULT_TEXT,
        "truncation": params.get("truncation", "disabled"),
        "user": params.get("user"),
        "safety_identifier": params.get("safety_identifier"),
        "prompt_cache_key": params.get("prompt_cache_key"),
        "background": params.get("background", False),
        "service_tier": params.get("service_tier"),
    }


def build_usage(
    *, input_tokens: int, output_tokens: int, cached_tokens: int, reasoning_tokens: int
) -> ResponseUsage:
    """A ``ResponseUsage`` whose total is the sum of input and output tokens."""
    return construct(
        ResponseUsage,
        input_tokens=input_tokens,
        input_tokens_details=construct(
            InputTokensDetails, cached_tokens=cached_tokens, cache_write_tokens=0
        ),
        output_tokens=output_tokens,
        output_tokens_details=construct(OutputTokensDetails, reasoning_tokens=reasoning_tokens),
        total_tokens=input_tokens + output_tokens,
    )


def snapshot(echo: dict[str, object], **state: object) -> Response:
    """A ``Response`` with the echoed fields and this moment's status, output, usage, errors."""
    return construct(Response, **echo, **state)
