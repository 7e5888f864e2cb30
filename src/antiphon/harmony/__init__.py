"""The gpt-oss harmony format at the text level: renderer, streaming parser, classifier.

No I/O and no tokenizer: special tokens travel as text, which the upstream inference server
tokenizes (and returns as text with ``skip_special_tokens: false``).
"""

from __future__ import annotations

from antiphon.harmony.classifier import (
    Classification,
    DeclaredTools,
    MessageKind,
    MessagePhase,
    WebSearchAction,
    classify,
)
from antiphon.harmony.messages import HarmonyHeader, HarmonyMessage, mcp_namespace
from antiphon.harmony.parser import (
    ContentDelta,
    HarmonyEvent,
    HarmonyStreamParser,
    MessageEnd,
    MessageStart,
    ParsedMessage,
    SkippedText,
    assemble_messages,
    parse_text,
)
from antiphon.harmony.renderer import (
    BuiltinTool,
    DeveloperConfig,
    ForcedFunction,
    HarmonyRequest,
    RawHarmony,
    RenderedPrompt,
    ResponseFormat,
    SystemConfig,
    render_message,
    render_prompt,
)
from antiphon.harmony.schema import function_signature, schema_to_typescript
from antiphon.harmony.tools import FunctionTool, McpServerTools

__all__ = [
    "BuiltinTool",
    "Classification",
    "ContentDelta",
    "DeclaredTools",
    "DeveloperConfig",
    "ForcedFunction",
    "FunctionTool",
    "HarmonyEvent",
    "HarmonyHeader",
    "HarmonyMessage",
    "HarmonyRequest",
    "HarmonyStreamParser",
    "McpServerTools",
    "MessageEnd",
    "MessageKind",
    "MessagePhase",
    "MessageStart",
    "ParsedMessage",
    "RawHarmony",
    "RenderedPrompt",
    "ResponseFormat",
    "SkippedText",
    "SystemConfig",
    "WebSearchAction",
    "assemble_messages",
    "classify",
    "function_signature",
    "mcp_namespace",
    "parse_text",
    "render_message",
    "render_prompt",
    "schema_to_typescript",
]
