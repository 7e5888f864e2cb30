"""The one request object the harmony renderer takes, and what it gives back.

Role: frozen descriptions of a prompt: the system settings (identity, dates, reasoning effort,
built-in tools), the developer settings (instructions, function tools, MCP namespaces, response
format), the conversation so far and the ``tool_choice``. Boundary: plain data validated on
construction (:class:`~antiphon.ConfigurationError` for misuse); nothing here reads a clock, a
file or the network: the current date is always injected by the caller.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from antiphon.exceptions import ConfigurationError
from antiphon.harmony.messages import HarmonyMessage
from antiphon.harmony.tools import FunctionTool, McpServerTools

__all__ = [
    "DEFAULT_KNOWLEDGE_CUTOFF",
    "DEFAULT_MODEL_IDENTITY",
    "BuiltinTool",
    "DeveloperConfig",
    "ForcedFunction",
    "HarmonyRequest",
    "RawHarmony",
    "ReasoningEffort",
    "RenderedPrompt",
    "ResponseFormat",
    "SystemConfig",
    "ToolChoice",
]

#: The identity line gpt-oss was trained with; change behaviour through instructions instead.
DEFAULT_MODEL_IDENTITY: Final = "You are ChatGPT, a large language model trained by OpenAI."
DEFAULT_KNOWLEDGE_CUTOFF: Final = "2024-06"

ReasoningEffort = Literal["low", "medium", "high"]
_EFFORTS: Final = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class BuiltinTool:
    """A built-in tool namespace (``browser`` or ``python``) of the system message.

    ``text``, when given, is the body of the tool's section used verbatim (everything after the
    ``## browser`` heading): operators paste the text their model's chat template ships with,
    which works best. Without it a short description of antiphon's own is rendered.
    """

    enabled: bool = False
    text: str | None = None


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """What the system message says. ``current_date`` is injected, never read from a clock."""

    model_identity: str = DEFAULT_MODEL_IDENTITY
    knowledge_cutoff: str | None = DEFAULT_KNOWLEDGE_CUTOFF
    current_date: datetime.date | None = None
    reasoning_effort: ReasoningEffort = "medium"
    browser: BuiltinTool = BuiltinTool()
    python: BuiltinTool = BuiltinTool()

    def __post_init__(self) -> None:
        if self.reasoning_effort not in _EFFORTS:
            raise ConfigurationError(
                f"reasoning_effort must be one of {', '.join(_EFFORTS)}, "
                f"got {self.reasoning_effort!r}"
            )


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """A structured-output format, rendered under ``# Response Formats``."""

    name: str
    schema: Mapping[str, object]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class DeveloperConfig:
    """What the developer message says: instructions, tools and the response format."""

    instructions: str | None = None
    functions: tuple[FunctionTool, ...] = ()
    mcp: tuple[McpServerTools, ...] = ()
    response_format: ResponseFormat | None = None


@dataclass(frozen=True, slots=True)
class RawHarmony:
    """Harmony text a previous turn produced, replayed byte for byte (upstream prefix caching).

    The text may start with ``<|channel|>`` (exactly what the model generated after the prompt's
    ``<|start|>assistant``); the renderer then adds that ``<|start|>assistant``. It only rewrites
    ``<|return|>`` to ``<|end|>`` and closes a last message whose stop token was stripped.
    """

    text: str


@dataclass(frozen=True, slots=True)
class ForcedFunction:
    """``tool_choice`` naming one function: the prompt is prefilled with the call's header."""

    name: str


ToolChoice = Literal["auto", "required", "none"] | ForcedFunction


@dataclass(frozen=True, slots=True)
class HarmonyRequest:
    """Everything the renderer needs for one completion prompt.

    ``tool_choice="none"`` renders no tools at all (instructions stay); ``"auto"`` and
    ``"required"`` render the same prompt (enforcing ``required`` is the caller's loop's job).
    """

    system: SystemConfig = field(default_factory=SystemConfig)
    developer: DeveloperConfig = field(default_factory=DeveloperConfig)
    messages: tuple[HarmonyMessage | RawHarmony, ...] = ()
    tool_choice: ToolChoice = "auto"

    def __post_init__(self) -> None:
        choice = self.tool_choice
        if isinstance(choice, ForcedFunction):
            if choice.name not in {spec.name for spec in self.developer.functions}:
                raise ConfigurationError(f"tool_choice names undeclared function {choice.name!r}")
        elif choice not in ("auto", "required", "none"):
            raise ConfigurationError(f"unknown tool_choice {choice!r}")
        seen: dict[str, str] = {}
        for server in self.developer.mcp:
            other = seen.setdefault(server.namespace, server.server_label)
            if other != server.server_label:
                raise ConfigurationError(
                    f"MCP servers {other!r} and {server.server_label!r} both map to "
                    f"namespace {server.namespace!r}"
                )


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """A rendered prompt.

    ``text`` is the whole prompt to send upstream; it ends with ``<|start|>assistant`` followed by
    ``prefill``. ``prefill`` is header text written for the model (non-empty only for a forced
    function): feed it to the parser before the model's output, and store it with that output.
    """

    text: str
    prefill: str = ""
