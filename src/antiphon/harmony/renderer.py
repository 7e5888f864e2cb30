"""The harmony prompt renderer: one :class:`HarmonyRequest` in, one completion prompt out.

Role: write the system message, the developer message and the conversation as harmony text
(special tokens as their literal text; the upstream tokenizer splits them out again), ending with
``<|start|>assistant`` and, for a forced function, the call's header. History follows the rules
gpt-oss was trained with: ``<|return|>`` is stored as ``<|end|>``; analysis (chain of thought) is
dropped once a later ``final`` answer exists, but kept inside a tool loop; tool calls end with
``<|call|>``; tool results go back on the channel their call used.

Boundary: sans-I/O and deterministic (the same request renders the same bytes, which upstream
prefix caches rely on); no tokenizer, no clock. Structured text from clients cannot smuggle in
control tokens: token-shaped text such as ``<|end|>`` gets a zero-width space after ``<``.
:class:`RawHarmony` entries are trusted model output and are inserted as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from antiphon.harmony._request import (
    DEFAULT_KNOWLEDGE_CUTOFF,
    DEFAULT_MODEL_IDENTITY,
    BuiltinTool,
    DeveloperConfig,
    ForcedFunction,
    HarmonyRequest,
    RawHarmony,
    ReasoningEffort,
    RenderedPrompt,
    ResponseFormat,
    SystemConfig,
    ToolChoice,
)
from antiphon.harmony._sections import developer_body, system_body
from antiphon.harmony.messages import (
    CALL,
    CHANNEL,
    CONSTRAIN,
    END,
    MESSAGE,
    RETURN,
    START,
    HarmonyHeader,
    HarmonyMessage,
)

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
    "render_message",
    "render_prompt",
]

_ROLES: Final = frozenset({"system", "developer", "user", "assistant"})
_BUILTINS: Final = ("python", "browser")
_TOKEN_LIKE: Final = re.compile(r"<\|(?=[A-Za-z0-9_]+\|>)")
_RAW_CHANNEL: Final = re.compile(re.escape(CHANNEL) + r"([^\s<]+)")
_RAW_RECIPIENT: Final = re.compile(r" to=([^\s<]+)")


def render_prompt(request: HarmonyRequest) -> RenderedPrompt:
    """The completion prompt for ``request``: configuration, history, ``<|start|>assistant``."""
    with_tools = request.tool_choice != "none"
    has_functions = with_tools and bool(request.developer.functions)
    system = system_body(request.system, with_tools=with_tools, has_functions=has_functions)
    parts = [_wrap("system", system)]
    if developer := developer_body(request.developer, with_tools=with_tools):
        parts.append(_wrap("developer", developer))
    parts += _render_history(request.messages)
    prefill = _prefill(request.tool_choice)
    parts += [START, "assistant", prefill]
    return RenderedPrompt(text="".join(parts), prefill=prefill)


def render_message(message: HarmonyMessage) -> str:
    """One message exactly as it is rendered into a prompt (header, content, end token)."""
    header = message.header
    head = [START, _neutral(header.role)]
    # "all" is the broadcast recipient, which the format leaves implicit.
    to = header.recipient if header.recipient != "all" else None
    recipient = f" to={_neutral(to)}" if to else ""
    channel = f"{CHANNEL}{_neutral(header.channel)}" if header.channel else ""
    # Tool results name their recipient before the channel, assistant calls after it: each is
    # the order the model itself uses, so prompt and generated text share their spelling.
    head += [recipient, channel] if header.role not in _ROLES else [channel, recipient]
    if header.content_type:
        head.append(f" {_content_type(header.content_type)}")
    head += [MESSAGE, _neutral(message.content), CALL if _is_call(header) else END]
    return "".join(head)


def _render_history(entries: Sequence[HarmonyMessage | RawHarmony]) -> list[str]:
    last_final = max((i for i, entry in enumerate(entries) if _is_final(entry)), default=-1)
    call_channels: dict[str, str] = {}
    parts: list[str] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, RawHarmony):
            if not entry.text:
                continue  # a turn that generated nothing leaves nothing to replay
            text = _raw_text(entry.text)
            call_channels.update(_raw_calls(text))
            parts.append(text)
            continue
        message = _canonical(entry, call_channels)
        # Chain of thought of a turn that reached its final answer is not shown again.
        if index < last_final and message.header.channel == "analysis":
            continue
        parts.append(render_message(message))
    return parts


def _canonical(message: HarmonyMessage, call_channels: dict[str, str]) -> HarmonyMessage:
    """Fill in what history built from API items leaves out, the way the model writes it."""
    header = message.header
    if _is_call(header) and header.recipient:
        channel = header.channel or ("analysis" if _is_builtin(header.recipient) else "commentary")
        content_type = header.content_type
        if not _is_builtin(header.recipient) and content_type in (None, "json"):
            content_type = f"{CONSTRAIN}json"
        call_channels[header.recipient] = channel
        header = HarmonyHeader("assistant", channel, header.recipient, content_type)
    elif header.role not in _ROLES:
        channel = header.channel or call_channels.get(header.role, "commentary")
        recipient = header.recipient or "assistant"
        header = HarmonyHeader(header.role, channel, recipient, header.content_type)
    return HarmonyMessage(header, message.content)


def _is_final(entry: HarmonyMessage | RawHarmony) -> bool:
    if isinstance(entry, RawHarmony):
        return f"{CHANNEL}final" in entry.text
    return entry.header.role == "assistant" and entry.header.channel == "final"


def _is_call(header: HarmonyHeader) -> bool:
    return header.role == "assistant" and header.recipient not in (None, "", "all")


def _is_builtin(recipient: str) -> bool:
    return recipient.split(".", 1)[0] in _BUILTINS


def _raw_text(text: str) -> str:
    text = text.replace(RETURN, END)
    if not text.startswith(START):
        text = f"{START}assistant{text}"
    if not text.endswith((END, CALL)):
        # The upstream stripped the stop token: a message with a recipient was a tool call.
        last_header = text.rsplit(START, 1)[-1].split(MESSAGE, 1)[0]
        text += CALL if " to=" in last_header else END
    return text


def _raw_calls(text: str) -> dict[str, str]:
    """Recipient -> channel for the tool calls in replayed text (their results use that channel)."""
    calls: dict[str, str] = {}
    for segment in text.split(START)[1:]:
        header = segment.split(MESSAGE, 1)[0]
        channel, recipient = _RAW_CHANNEL.search(header), _RAW_RECIPIENT.search(header)
        if header.startswith("assistant") and channel and recipient:
            calls[recipient[1]] = channel[1]
    return calls


def _prefill(choice: ToolChoice) -> str:
    if isinstance(choice, ForcedFunction):
        return f"{CHANNEL}commentary to=functions.{choice.name} {CONSTRAIN}json{MESSAGE}"
    return ""


def _wrap(role: str, body: str) -> str:
    return f"{START}{role}{MESSAGE}{_neutral(body)}{END}"


def _content_type(content_type: str) -> str:
    if content_type.startswith(CONSTRAIN):
        return CONSTRAIN + _neutral(content_type.removeprefix(CONSTRAIN))
    return _neutral(content_type)


def _neutral(text: str) -> str:
    """``text`` with every token-shaped ``<|name|>`` broken by a zero-width space."""
    return _TOKEN_LIKE.sub("<\u200b|", text)
