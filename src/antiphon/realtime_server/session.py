"""The session of one realtime connection: what ``session.update`` set, and what it shows.

A :class:`RealtimeSession` keeps the settings responses use (instructions, tools, tool choice,
output token limit, parallel tool calls, reasoning effort) in the Responses form the shared
turn machinery reads, and the merged GA session object it echoes in ``session.created`` and
``session.updated`` (fields it does not act on, such as ``tracing`` or ``truncation``, are kept
and echoed without effect). Tools are checked when they are set, against the operator's MCP
servers and code interpreter, so a bad tool is an ``error`` naming ``session.tools[N]`` at once
rather than a failed response later.

Tools are the GA ones (``function`` and ``mcp``), plus one extension: the GA protocol has no
code interpreter tool, so a ``{"type": "code_interpreter"}`` entry (the Responses shape) is taken
out of a client frame before it is validated (:func:`take_code_tools`) and put back here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal, cast

from openai.types.realtime import RealtimeSessionCreateRequest

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server.voice_settings import VoiceSettings, voice_settings
from antiphon.responses.request import CreateResponseBody, parse_create_body
from antiphon.wire.json import Dumpable, dump

__all__ = [
    "RealtimeSession",
    "ResponseSettings",
    "merge_tools",
    "take_code_tools",
    "tool_choice",
]

_CODE_TOOL: Final = "code_interpreter"


@dataclass(frozen=True, slots=True)
class ResponseSettings:
    """What one response runs with, in the Responses create-body form."""

    instructions: str | None = None
    tools: tuple[Mapping[str, object], ...] = ()
    tool_choice: object = "auto"
    max_output_tokens: int | Literal["inf"] | None = None
    parallel_tool_calls: bool = True
    reasoning_effort: str | None = None
    modalities: tuple[str, ...] = ("text",)

    def body(self, model: str, items: Sequence[Mapping[str, object]], **extra: object) -> object:
        """The raw create body of a response over ``items`` (validated by the caller)."""
        body: dict[str, object] = {
            "model": model,
            "input": list(items),
            "instructions": self.instructions,
            "tools": list(self.tools),
            "tool_choice": self.tool_choice,
            "parallel_tool_calls": self.parallel_tool_calls,
            "store": False,
            **extra,
        }
        if isinstance(self.max_output_tokens, int):
            body["max_output_tokens"] = self.max_output_tokens
        if self.reasoning_effort is not None:
            body["reasoning"] = {"effort": self.reasoning_effort}
        return body


def take_code_tools(frame: dict[str, object]) -> dict[int, Mapping[str, object]]:
    """Take the ``code_interpreter`` tools out of a client frame, by index in its ``tools``.

    Only ``session.update`` and ``response.create`` carry tools; the official event types would
    refuse this one.
    """
    holder_key = {"session.update": "session", "response.create": "response"}.get(
        str(frame.get("type"))
    )
    holder = frame.get(holder_key) if holder_key else None
    tools = cast(Mapping[str, object], holder).get("tools") if isinstance(holder, dict) else None
    if not isinstance(tools, list):
        return {}
    taken: dict[int, Mapping[str, object]] = {}
    kept: list[object] = []
    for index, tool in enumerate(cast(list[object], tools)):
        entry = cast(dict[str, object], tool) if isinstance(tool, dict) else {}
        if entry.get("type") == _CODE_TOOL:
            taken[index] = entry
        else:
            kept.append(cast(object, tool))
    cast(dict[str, object], holder)["tools"] = kept
    return taken


def merge_tools(
    tools: Sequence[Dumpable], code: Mapping[int, Mapping[str, object]]
) -> list[Mapping[str, object]]:
    """The request's tools in their original order, as Responses tool objects."""
    merged: list[Mapping[str, object]] = [dump(tool, exclude_none=True) for tool in tools]
    for index in sorted(code):
        merged.insert(index, {"type": _CODE_TOOL, "container": {"type": "auto"}, **code[index]})
    return merged


@dataclass(slots=True)
class RealtimeSession:
    """The session's settings and echo (see the module docstring).

    ``check`` validates a create body's server-side tools against the operator's (it raises
    :class:`InvalidRequestError` naming ``tools[N]``). ``speaks``: a speech pipeline is
    configured, so audio output (``output_modalities: ["audio"]``) can be asked for.
    """

    model: str
    check: Callable[[CreateResponseBody], None]
    speaks: bool = False
    settings: ResponseSettings = field(default_factory=ResponseSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    _echo: dict[str, object] = field(default_factory=dict[str, object])

    def update(
        self, session: RealtimeSessionCreateRequest, code: Mapping[int, Mapping[str, object]]
    ) -> None:
        """Apply a ``session.update`` (all or nothing: a refused update changes nothing)."""
        fields = session.model_fields_set
        new = self.settings
        if "output_modalities" in fields and session.output_modalities is not None:
            new = replace(new, modalities=tuple(session.output_modalities))
        if "instructions" in fields:
            new = replace(new, instructions=session.instructions)
        if "tools" in fields or code:
            new = replace(new, tools=tuple(merge_tools(session.tools or [], code)))
        if "tool_choice" in fields and session.tool_choice is not None:
            new = replace(new, tool_choice=tool_choice(session.tool_choice))
        if "max_output_tokens" in fields:
            new = replace(new, max_output_tokens=session.max_output_tokens)
        if session.parallel_tool_calls is not None:
            new = replace(new, parallel_tool_calls=session.parallel_tool_calls)
        if session.reasoning is not None and session.reasoning.effort is not None:
            new = replace(new, reasoning_effort=session.reasoning.effort)
        self.check_modalities(new.modalities, "session.output_modalities")
        self.validate(new, "session")
        self.voice = voice_settings(session, self.voice)
        self.settings = new
        self._echo.update(dump(session, exclude_unset=True))
        if code:
            self._echo["tools"] = list(new.tools)

    def check_modalities(self, modalities: Sequence[str], param: str) -> None:
        """``["text"]``, or ``["audio"]`` (spoken, with its transcript) given a speech pipeline."""
        if list(modalities) == ["text"]:
            return
        if list(modalities) == ["audio"] and self.speaks:
            return
        if self.speaks:
            raise InvalidRequestError(
                f"{param} must be ['text'] or ['audio'] (audio comes with its transcript).",
                param=param,
                code="invalid_value",
            )
        raise InvalidRequestError(
            f"{param} must be ['text']: this server has no speech pipeline configured, so "
            "audio output is not supported.",
            param=param,
            code="unsupported_modality",
        )

    def validate(self, settings: ResponseSettings, where: str) -> None:
        """Check ``settings`` as a response would run them; errors name ``where.FIELD``."""
        try:
            # Only the settings are checked here: any model name stands for the session's.
            self.check(parse_create_body(settings.body(self.model or "model", [])))
        except InvalidRequestError as exc:
            exc.param = f"{where}.{exc.param}" if exc.param else where
            raise

    def view(self) -> RealtimeSessionCreateRequest:
        """The session as ``session.created`` and ``session.updated`` show it."""
        settings = self.settings
        view = dict(self._echo)
        view.update(type="realtime", model=self.model, output_modalities=list(settings.modalities))
        view.setdefault("instructions", settings.instructions or "")
        view.setdefault("tool_choice", "auto")
        view.setdefault("tools", [])
        view.setdefault("max_output_tokens", "inf")
        view["tools"] = [
            tool
            for tool in cast(list[Mapping[str, object]], view["tools"])
            if tool.get("type") != _CODE_TOOL  # the GA session object cannot hold it
        ]
        return RealtimeSessionCreateRequest.model_validate(view)


def tool_choice(choice: str | Dumpable) -> object:
    """A realtime tool choice as the Responses body spells it (the same shapes)."""
    return choice if isinstance(choice, str) else dump(choice, exclude_none=True)
