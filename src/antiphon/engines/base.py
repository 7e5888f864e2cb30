"""The engine seam: one request object in, an async stream of engine events out.

An :class:`Engine` turns one model turn into a stream of :data:`EngineEvent` values: items that
start, receive text and finish, then exactly one :class:`TurnFinished`. Engines speak to a model
(an upstream server or a script); they do not classify tool calls, run tools or build Responses
events: the turn loop does, from these events. Upstream failures raise the typed
:class:`~antiphon.EngineError` subclasses; an engine that raised before yielding anything never
reached the model's first token.

Tool names. ``ItemStarted.name`` of a tool call is always a harmony *recipient*, whichever engine
produced it, so one classifier maps every engine's calls back to tools:

==========================  ======================  ===============================
tool in the request          chat function name      recipient in ``ItemStarted``
==========================  ======================  ===============================
function ``f``               ``f``                   ``functions.f``
MCP tool ``t`` of label L    ``{ns}__{t}``           ``{ns}.{t}``
code interpreter             ``python``              ``python``
web search                   ``web_search``          ``browser.search``
==========================  ======================  ===============================

``ns`` is :func:`antiphon.harmony.messages.mcp_namespace` of the server label. A chat name the
request never declared is passed through unchanged (the classifier reports it as unknown).
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from openai.types.responses import ResponseInputItemParam

from antiphon.harmony.tools import FunctionTool, McpServerTools

__all__ = [
    "HISTORY_ITEM_TYPES",
    "Engine",
    "EngineEvent",
    "EngineRequest",
    "FinishReason",
    "ForcedTool",
    "FunctionTool",
    "HistorySegment",
    "ItemDelta",
    "ItemFinished",
    "ItemKind",
    "ItemStarted",
    "McpServerTools",
    "Phase",
    "ReasoningEffort",
    "TextFormat",
    "ToolChoice",
    "TurnFinished",
    "Usage",
]

ItemKind = Literal["reasoning", "message", "tool_call"]
Phase = Literal["commentary", "final_answer"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]
ReasoningEffort = Literal["minimal", "low", "medium", "high"]

#: The Responses input item types engines accept in a history segment. The turn loop rejects
#: others (``item_reference`` must be resolved before an engine sees the history).
HISTORY_ITEM_TYPES: Final = frozenset(
    {
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "code_interpreter_call",
        "web_search_call",
    }
)


@dataclass(frozen=True, slots=True)
class ForcedTool:
    """A ``tool_choice`` that forces one tool: a function, an MCP tool or a built-in."""

    kind: Literal["function", "mcp", "code_interpreter", "web_search"]
    name: str = ""
    server_label: str = ""


ToolChoice = Literal["auto", "none", "required"] | ForcedTool


@dataclass(frozen=True, slots=True)
class TextFormat:
    """``text.format``: plain text, any JSON object, or JSON matching ``schema``."""

    kind: Literal["text", "json_object", "json_schema"] = "text"
    name: str = ""
    schema: Mapping[str, object] | None = None
    description: str | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class HistorySegment:
    """A run of conversation items, with the exact text the upstream generated for them.

    ``items`` are Responses input items (messages, function calls and outputs, reasoning, MCP
    and code interpreter calls). ``raw_text``, when set, is what a harmony upstream generated
    for the assistant items of this segment; the harmony engine replays it verbatim instead of
    re-rendering the items, so the upstream's prefix cache stays valid. Other engines ignore it.
    """

    items: tuple[ResponseInputItemParam, ...]
    raw_text: str | None = None


@dataclass(frozen=True, slots=True)
class EngineRequest:
    """Everything one model turn needs. Engines honour what their upstream can express."""

    model: str
    history: tuple[HistorySegment, ...] = ()
    instructions: str | None = None
    tools: tuple[FunctionTool, ...] = ()
    mcp_servers: tuple[McpServerTools, ...] = ()
    code_interpreter: bool = False
    web_search: bool = False
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    reasoning_effort: ReasoningEffort | None = None
    text_format: TextFormat = TextFormat()
    current_date: datetime.date | None = None


@dataclass(frozen=True, slots=True)
class ItemStarted:
    """An output item begins.

    ``name`` is the recipient of a tool call (see the module docstring), ``call_id`` its id (the
    upstream's when it sent one). ``phase`` is known only to harmony engines (``None``: the
    upstream did not say). ``channel`` and ``content_type`` are the harmony header's.
    """

    kind: ItemKind
    name: str | None = None
    call_id: str | None = None
    channel: str | None = None
    phase: Phase | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class ItemDelta:
    """Text of the open item: message or reasoning text, or tool-call arguments. Never empty."""

    text: str


@dataclass(frozen=True, slots=True)
class ItemFinished:
    """The open item is complete."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one turn, as the upstream reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True, slots=True)
class TurnFinished:
    """The turn ended; always the last event. No item is open when it arrives.

    ``raw_text`` is the exact text a harmony turn generated (``<|return|>`` stored as
    ``<|end|>``, a stripped ``<|call|>`` restored), to store with the turn's items.
    """

    reason: FinishReason
    usage: Usage | None = None
    raw_text: str | None = None


EngineEvent = ItemStarted | ItemDelta | ItemFinished | TurnFinished


class Engine(Protocol):
    """A model behind one small interface.

    :meth:`stream` is an async generator. Consume it inside ``contextlib.aclosing`` (or cancel
    the task): closing or cancelling it stops the upstream request at once. Items never nest:
    every ``ItemStarted`` is followed by its deltas and one ``ItemFinished`` before the next.
    """

    @property
    def name(self) -> str:
        """A short label for logs and errors (``"chat"``, ``"harmony"``, ``"scripted"``)."""
        ...

    def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """Run one model turn, yielding its events; raises :class:`~antiphon.EngineError`."""
        ...

    async def aclose(self) -> None:
        """Release connections; the engine is not used afterwards."""
        ...
