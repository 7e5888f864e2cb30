"""The bodies of the system and developer messages.

Role: lay out the text sections of the two configuration messages exactly as gpt-oss expects them
(sections joined by a blank line, ``# Tools`` with one ``## name`` block per namespace, tools as
``type name = ...;`` lines inside ``namespace name { ... } // namespace name``). Boundary: text
only; the caller wraps the bodies in ``<|start|>...<|end|>`` and neutralises token-like text.

The built-in tool descriptions below are antiphon's own short wording. The texts the model was
trained with are longer; operators can supply them through :attr:`BuiltinTool.text`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from antiphon.harmony._request import BuiltinTool, DeveloperConfig, SystemConfig
from antiphon.harmony.schema import function_signature
from antiphon.harmony.tools import FunctionTool

__all__ = ["developer_body", "system_body"]

CHANNELS_LINE: Final = (
    "# Valid channels: analysis, commentary, final. Channel must be included for every message."
)
FUNCTIONS_CHANNEL_LINE: Final = (
    "Calls to these tools must go to the commentary channel: 'functions'."
)

_BROWSER_DESCRIPTION: Final = (
    "Search the web and read pages. Each page is shown with its cursor number in brackets."
)
_BROWSER_TOOLS: Final = (
    FunctionTool(
        "search",
        "Search the web for `query` and show the first `topn` results.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "topn": {"type": "number", "default": 10},
                "source": {"type": "string"},
            },
            "required": ["query"],
        },
    ),
    FunctionTool(
        "open",
        "Open link `id` of the page at `cursor`, or a URL, showing `num_lines` lines from `loc`.",
        {
            "type": "object",
            "properties": {
                "id": {"type": ["number", "string"], "default": -1},
                "cursor": {"type": "number", "default": -1},
                "loc": {"type": "number", "default": -1},
                "num_lines": {"type": "number", "default": -1},
                "view_source": {"type": "boolean", "default": False},
                "source": {"type": "string"},
            },
        },
    ),
    FunctionTool(
        "find",
        "Find the exact text `pattern` in the page at `cursor` (the current page by default).",
        {
            "type": "object",
            "properties": {
                "pattern": {"type": "string"},
                "cursor": {"type": "number", "default": -1},
            },
            "required": ["pattern"],
        },
    ),
)
_PYTHON_TEXT: Final = (
    "Run Python code in a stateful notebook session and read its output. Use it while reasoning"
    " (calculations, data work); the user does not see the code."
)


def system_body(config: SystemConfig, *, with_tools: bool, has_functions: bool) -> str:
    """The system message text. Built-in tools appear only when enabled and ``with_tools``."""
    top = [config.model_identity]
    if config.knowledge_cutoff:
        top.append(f"Knowledge cutoff: {config.knowledge_cutoff}")
    if config.current_date is not None:
        top.append(f"Current date: {config.current_date.isoformat()}")
    sections = ["\n".join(line for line in top if line), f"Reasoning: {config.reasoning_effort}"]
    builtins = _builtin_sections(config) if with_tools else []
    if builtins:
        sections.append("\n\n".join(["# Tools", *builtins]))
    channels = CHANNELS_LINE + (f"\n{FUNCTIONS_CHANNEL_LINE}" if has_functions else "")
    sections.append(channels)
    return "\n\n".join(section for section in sections if section)


def developer_body(config: DeveloperConfig, *, with_tools: bool) -> str:
    """The developer message text; empty when there is nothing to say."""
    sections: list[str] = []
    if config.instructions:
        sections += ["# Instructions", config.instructions]
    namespaces: list[str] = []
    if with_tools:
        namespaces.append(namespace_block("functions", config.functions))
        namespaces += [namespace_block(s.namespace, s.tools, s.description) for s in config.mcp]
    if tools := [block for block in namespaces if block]:
        sections.append("\n\n".join(["# Tools", *tools]))
    if (fmt := config.response_format) is not None:
        # Compact JSON, the form structured-output schemas are shown to the model in.
        schema = json.dumps(fmt.schema, ensure_ascii=False, separators=(",", ":"), default=repr)
        lines = [f"## {fmt.name}", "", *_comments(fmt.description), schema]
        sections.append("\n\n".join(["# Response Formats", "\n".join(lines)]))
    return "\n\n".join(sections)


def namespace_block(
    name: str, tools: Sequence[FunctionTool], description: str | None = None
) -> str:
    """``## name`` and its ``namespace name { ... }`` block; empty when there are no tools."""
    if not tools:
        return ""
    lines = [f"## {name}", "", *_comments(description), f"namespace {name} {{", ""]
    for tool in tools:
        lines += [*_comments(tool.description), function_signature(tool.name, tool.parameters), ""]
    lines.append(f"}} // namespace {name}")
    return "\n".join(lines)


def _builtin_sections(config: SystemConfig) -> list[str]:
    sections: list[str] = []
    if config.browser.enabled:
        sections.append(
            _builtin("browser", config.browser)
            or namespace_block("browser", _BROWSER_TOOLS, _BROWSER_DESCRIPTION)
        )
    if config.python.enabled:
        sections.append(_builtin("python", config.python) or f"## python\n\n{_PYTHON_TEXT}")
    return sections


def _builtin(name: str, tool: BuiltinTool) -> str:
    return f"## {name}\n\n{tool.text.strip()}" if tool.text and tool.text.strip() else ""


def _comments(text: str | None) -> list[str]:
    return [f"// {line}" for line in (text or "").splitlines()]
