"""Parsing and checking a ``POST /v1/responses`` body before anything runs.

The body is validated against the official ``openai.types.responses`` models (input items,
tools, tool choice, reasoning, text config). Then every field is sorted into one of three kinds:
honoured (the run uses it), accepted hints that by definition change no output
(``prompt_cache_key``, ``safety_identifier``), and everything else, which is rejected with a 400
that names the field: antiphon never silently ignores a parameter a client relies on.

An ``mcp`` tool's ``headers`` and ``authorization`` are credentials for the MCP server only: they
are taken out of ``tools`` as soon as the body is parsed (``tools`` is echoed in the response
object and stored with it) and kept aside for :meth:`CreateResponseBody.mcp_tool`.

Hostile bodies are refused here with a 400 naming the field, before anything deeper can trip on
them (:class:`RequestLimits`): JSON nested past a bound (recursion), lone UTF-16 surrogates (they
cannot be encoded as UTF-8 for the store, the upstream or the answer), ``NaN`` and infinities,
too many input items or tools, oversized tool schemas. Types are strict, as OpenAI's are
(``"yes"`` is not a boolean, ``1.5`` not an integer) and integers are bounded. ``input_image``
URLs must be http(s) or ``data:`` and, unless the operator allows it, must not name a loopback,
private or link-local address: the upstream fetches them, from inside the operator's network.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast
from urllib.parse import urlsplit

from openai.types.responses import ResponseInputItem, ResponseTextConfig, Tool
from openai.types.responses.response import ToolChoice
from openai.types.responses.tool import Mcp
from openai.types.shared import Reasoning
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from antiphon.exceptions import InvalidRequestError

__all__ = [
    "CreateResponseBody",
    "RequestLimits",
    "check_json",
    "decode_body",
    "parse_create_body",
]

#: OpenAI's integers are 32-bit: a larger count is refused, not passed on to an upstream.
INT32_MAX: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """Bounds on one create request, checked before anything runs.

    ``max_json_depth`` counts nested objects and arrays of the whole body; the schema bounds apply
    to each function's ``parameters`` and to ``text.format.schema`` (depth in objects and arrays,
    size in bytes of compact JSON). ``allow_private_media_urls`` lets ``input_image`` URLs name
    loopback, private and link-local addresses.
    """

    max_json_depth: int = 64
    max_input_items: int = 10_000
    max_tools: int = 128
    max_schema_depth: int = 32
    max_schema_bytes: int = 256 * 1024
    allow_private_media_urls: bool = False


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
    max_tool_calls: int | None = Field(default=None, ge=1, le=INT32_MAX)
    max_output_tokens: int | None = Field(default=None, ge=1, le=INT32_MAX)
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


def decode_body(data: bytes, limits: RequestLimits | None = None) -> object:
    """The JSON value of a request body; :class:`InvalidRequestError` unless it is plain JSON.

    ``NaN`` and ``Infinity`` (which Python's decoder accepts) are refused, and so is nesting deep
    enough to exhaust the decoder's recursion (far past ``limits.max_json_depth``, which
    :func:`parse_create_body` checks with the field's name).
    """
    try:
        return json.loads(data, parse_constant=_no_constant)
    except RecursionError as exc:
        depth = (limits or RequestLimits()).max_json_depth
        raise InvalidRequestError(
            f"The JSON body of your request nests deeper than {depth} levels.",
            code="invalid_json",
        ) from exc
    except ValueError as exc:  # malformed JSON, bad UTF-8, an integer of over 4300 digits
        raise InvalidRequestError(
            "We could not parse the JSON body of your request.", code="invalid_json"
        ) from exc


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_create_body(raw: object, limits: RequestLimits | None = None) -> CreateResponseBody:
    """Validate a decoded JSON body; raise :class:`InvalidRequestError` naming the bad field."""
    limits = limits or RequestLimits()
    if not isinstance(raw, dict):
        raise InvalidRequestError("The request body must be a JSON object.", param=None)
    fields = cast(dict[str, object], raw)  # JSON boundary: decoded objects have string keys
    check_json(fields, limits.max_json_depth)
    _check_counts(fields, limits)
    try:
        body = CreateResponseBody.model_validate(fields, strict=True)
    except ValidationError as exc:
        raise _from_validation_error(exc) from exc
    _reject_unknown_fields(body)
    _check_tools(body)
    _check_schemas(body, limits)
    _check_media(fields.get("input"), allow_private=limits.allow_private_media_urls)
    _check_consistency(body)
    return body


# -- the decoded JSON, before validation ---------------------------------------------------------

# A lone surrogate: Python's decoder turns "\ud800" into one; it has no UTF-8 encoding.
_SURROGATE = re.compile("[\ud800-\udfff]")
# A path as a linked list (parent, key), built cheaply and joined only for an error.
_Path = tuple["_Path", str | int] | None


def check_json(body: dict[str, object], max_depth: int) -> None:
    """Depth, strings and numbers of a whole decoded body, in one pass without recursion.

    Refuses (naming the field) what no JSON encoder can send back: a lone surrogate, a
    non-finite number; and nesting deeper than ``max_depth``.
    """
    stack: list[tuple[object, int, _Path]] = [(body, 1, None)]
    while stack:
        node, depth, path = stack.pop()
        if depth > max_depth:
            shown = _render(path, limit=3)
            raise InvalidRequestError(
                f"'{shown}' nests JSON deeper than {max_depth} levels.",
                param=shown,
                code="invalid_value",
            )
        children: Iterable[tuple[str | int, object]]
        if isinstance(node, dict):
            children = cast(dict[str | int, object], node).items()
        elif isinstance(node, list):
            children = enumerate(cast(list[object], node))
        else:
            continue
        for key, child in children:
            where = (path, key)
            if isinstance(key, str):
                _check_string(key, where)
            if isinstance(child, str):
                _check_string(child, where)
            elif isinstance(child, float) and not math.isfinite(child):
                # 1e999 decodes to infinity: no upstream or client can take it back.
                raise InvalidRequestError(
                    f"Invalid value for '{_render(where)}': numbers must be finite.",
                    param=_render(where),
                    code="invalid_value",
                )
            elif isinstance(child, dict | list):
                stack.append((cast(object, child), depth + 1, where))


def _check_string(text: str, where: _Path) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise InvalidRequestError(
            f"Invalid value for '{_render(where)}': the string holds a lone UTF-16 surrogate.",
            param=_render(where),
            code="invalid_value",
        )


def _render(path: _Path, *, limit: int | None = None) -> str:
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    keys.reverse()
    if limit is not None:
        keys = keys[:limit]
    # A key may hold the very surrogate being reported: escape it, so the error can be sent.
    return "".join(
        f"[{key}]" if isinstance(key, int) else f".{_printable(key)}" for key in keys
    ).lstrip(".")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_counts(body: Mapping[str, object], limits: RequestLimits) -> None:
    # Before validation: a body of 300,000 empty items is cheap to send and slow to validate.
    for name, limit in (("input", limits.max_input_items), ("tools", limits.max_tools)):
        value = body.get(name)
        if isinstance(value, list) and len(cast(list[object], value)) > limit:
            raise InvalidRequestError(
                f"'{name}' has {len(cast(list[object], value))} entries; the limit is {limit}.",
                param=name,
                code="array_above_max_length",
            )


# -- the validated body -----------------------------------------------------------------------


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


def _check_schemas(body: CreateResponseBody, limits: RequestLimits) -> None:
    schemas: list[tuple[str, object]] = [
        (f"tools[{index}].parameters", tool.parameters)
        for index, tool in enumerate(body.tools)
        if tool.type == "function"
    ]
    text_format = body.text.format if body.text is not None else None
    if text_format is not None and text_format.type == "json_schema":
        schemas.append(("text.format.schema", text_format.schema_))
    for param, schema in schemas:
        if schema is None:
            continue
        depth = _depth(schema)
        if depth > limits.max_schema_depth:
            raise InvalidRequestError(
                f"'{param}' nests {depth} levels deep; the limit is {limits.max_schema_depth}.",
                param=param,
                code="invalid_value",
            )
        size = len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False).encode())
        if size > limits.max_schema_bytes:
            raise InvalidRequestError(
                f"'{param}' is {size} bytes of JSON; the limit is {limits.max_schema_bytes}.",
                param=param,
                code="invalid_value",
            )


def _depth(value: object) -> int:
    # Recursion is safe here: check_json bounded the depth of the whole body already.
    if isinstance(value, dict):
        children: list[object] = list(cast(dict[str, object], value).values())
    elif isinstance(value, list):
        children = cast(list[object], value)
    else:
        return 0
    return 1 + max((_depth(child) for child in children), default=0)


_MEDIA_SCHEMES: Final = frozenset({"http", "https"})
# Names that reach the machine itself or its private network without any DNS lookup.
_PRIVATE_NAMES: Final = ("localhost", "local", "internal", "home.arpa")
# An authority antiphon can judge the way any HTTP client will read it: no credentials, no
# percent-escapes or backslashes that parsers disagree on.
_AUTHORITY = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")


def _check_media(value: object, *, allow_private: bool) -> None:
    """``input_image`` URLs checked; ``input_file`` refused (no engine can send files)."""
    if not isinstance(value, list):
        return
    for i, item in enumerate(cast(list[object], value)):
        if not isinstance(item, dict):
            continue
        for field in ("content", "output"):  # a message's parts, a function output's parts
            parts = cast(dict[str, object], item).get(field)
            if not isinstance(parts, list):
                continue
            for j, part in enumerate(cast(list[object], parts)):
                if isinstance(part, dict):
                    where = f"input[{i}].{field}[{j}]"
                    _check_part(cast(dict[str, object], part), where, allow_private)


def _check_part(part: Mapping[str, object], where: str, allow_private: bool) -> None:
    kind = part.get("type")
    if kind == "input_file":
        name = next((k for k in ("file_url", "file_id", "file_data") if k in part), "type")
        raise InvalidRequestError(
            "antiphon does not support input_file content; send the text as input_text.",
            param=f"{where}.{name}",
            code="unsupported_value",
        )
    if kind != "input_image":
        return
    url = part.get("image_url")
    if not isinstance(url, str):
        raise InvalidRequestError(
            "antiphon supports input_image by image_url only, not by file_id.",
            param=f"{where}.file_id" if "file_id" in part else f"{where}.image_url",
            code="unsupported_value",
        )
    problem = _media_url_problem(url, allow_private=allow_private)
    if problem is not None:
        raise InvalidRequestError(
            f"Invalid 'image_url': {problem}.", param=f"{where}.image_url", code="invalid_value"
        )


def _media_url_problem(url: str, *, allow_private: bool) -> str | None:
    scheme, colon, _ = url.partition(":")
    if colon and scheme.lower() == "data":
        return None
    if not colon or scheme.lower() not in _MEDIA_SCHEMES:
        return "only http, https and data URLs are accepted"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return "the URL is malformed"
    if not url.isascii() or not _AUTHORITY.fullmatch(parts.netloc) or "\\" in url:
        return "the host must be a plain DNS name or IP address, without credentials"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host"
    if not allow_private and _is_private_host(host):
        return "the URL names a loopback, private or link-local address"
    return None


def _is_private_host(host: str) -> bool:
    """Whether ``host`` (lower case) is an address outside the public internet, or a local name.

    DNS is not consulted: a public name that resolves to a private address is for the network
    to stop (see README, Security).
    """
    if any(host == name or host.endswith(f".{name}") for name in _PRIVATE_NAMES):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        if not _NUMERIC_HOST.fullmatch(host):
            return False
        try:  # forms every resolver reads as IPv4: 127.1, 0x7f.0.0.1, 2130706433
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
        elif address.teredo is not None:
            address = address.teredo[1]
    return not address.is_global or address.is_multicast or address.is_reserved


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
