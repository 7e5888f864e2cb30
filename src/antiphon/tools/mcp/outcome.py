"""What an MCP list or call produced: always an answer, never an exception.

:class:`McpListOutcome` and :class:`McpCallOutcome` carry exactly what the ``mcp_list_tools`` and
``mcp_call`` output items need (``tools`` / ``error: str``; ``output: str`` / ``error`` typed with
the official ``McpToolCallError`` variants), plus the text the model reads in its tool message.
:func:`serialize_result` renders every content block of a tool result, bounded in size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from openai.types.responses.mcp_tool_call_error import (
    HTTPError,
    McpProtocolError,
    McpToolCallError,
    McpToolExecutionError,
)
from openai.types.responses.response_output_item import McpListToolsTool

__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "McpCallOutcome",
    "McpListOutcome",
    "serialize_result",
]

DEFAULT_OUTPUT_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class McpListOutcome:
    """The tools a server offers after ``allowed_tools`` filtering, or why listing failed."""

    tools: tuple[McpListToolsTool, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the listing succeeded."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class McpCallOutcome:
    """A tool call's serialised output, or a typed error; exactly one is set."""

    output: str | None = None
    error: McpToolCallError | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (the ``mcp_call`` item is ``completed``)."""
        return self.error is None

    @classmethod
    def protocol_error(cls, code: int, message: str) -> McpCallOutcome:
        """An MCP-level failure (JSON-RPC error code, timeout, transport closed, bad call)."""
        return cls(error=McpProtocolError(type="mcp_protocol_error", code=code, message=message))

    @classmethod
    def http_error(cls, code: int, message: str) -> McpCallOutcome:
        """The server answered an HTTP error status."""
        return cls(error=HTTPError(type="http_error", code=code, message=message))

    @classmethod
    def tool_error(cls, text: str) -> McpCallOutcome:
        """The tool ran and reported an error (``isError``); ``text`` is its serialised content."""
        content = [{"type": "text", "text": text}]
        return cls(error=McpToolExecutionError(type="mcp_tool_execution_error", content=content))

    def error_message(self) -> str | None:
        """The error in one line (``None`` on success), as ``mcp_list_tools.error`` shows it."""
        error = self.error
        if error is None:
            return None
        if isinstance(error, McpToolExecutionError):
            return _error_content_text(error.content)
        return error.message

    def model_text(self) -> str:
        """What the model reads in its tool message: the output, or the error explained."""
        error = self.error
        if error is None:
            return self.output or ""
        if isinstance(error, McpToolExecutionError):
            return f"Error: the tool failed: {_error_content_text(error.content)}"
        kind = "HTTP error" if isinstance(error, HTTPError) else "MCP error"
        return f"Error: {kind} {error.code}: {error.message}"


def serialize_result(result: CallToolResult, *, limit: int = DEFAULT_OUTPUT_LIMIT) -> str:
    """Every content block as text, then ``structuredContent`` as JSON unless already shown.

    Text is kept as is; images and audio become a placeholder with MIME type and size (never the
    base64); resources show their URI and text. Output past ``limit`` characters is cut with a
    marker saying how much was dropped.
    """
    parts = [_block_text(block) for block in result.content]
    structured = result.structured_content
    if structured is not None and not _already_shown(structured, result.content):
        parts.append(json.dumps(structured, ensure_ascii=False, sort_keys=True))
    return _bounded("\n".join(parts), limit)


def _block_text(block: ContentBlock) -> str:
    match block:
        case TextContent():
            return block.text
        case ImageContent() | AudioContent():
            return f"[{block.type}: {block.mime_type}, {_decoded_size(block.data)} bytes]"
        case ResourceLink():
            mime = f", {block.mime_type}" if block.mime_type else ""
            return f"[resource link: {block.uri} ({block.name}{mime})]"
        case EmbeddedResource():
            return _resource_text(block.resource)


def _resource_text(resource: TextResourceContents | BlobResourceContents) -> str:
    if isinstance(resource, TextResourceContents):
        return f"[resource: {resource.uri}]\n{resource.text}"
    mime = resource.mime_type or "application/octet-stream"
    return f"[resource: {resource.uri}, {mime}, {_decoded_size(resource.blob)} bytes]"


def _already_shown(structured: object, content: list[ContentBlock]) -> bool:
    """Whether a text block already carries the structured value (the SDK writes both)."""
    texts = [block.text for block in content if isinstance(block, TextContent)]
    if isinstance(structured, dict):
        # JSON boundary: structuredContent is a decoded JSON object, so its keys are strings.
        fields = cast("dict[str, object]", structured)
        # The SDK wraps a primitive return value as {"result": value} next to its text form.
        if set(fields) == {"result"} and "\n".join(texts) in (
            str(fields["result"]),
            json.dumps(fields["result"]),
        ):
            return True
    for text in texts:
        try:
            if json.loads(text) == structured:
                return True
        except ValueError:
            continue
    return False


def _decoded_size(data: str) -> int:
    """Bytes encoded by a base64 string, without decoding it."""
    stripped = data.strip()
    return max(0, len(stripped) * 3 // 4 - stripped[-2:].count("="))


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... truncated {len(text) - limit} characters]"


def _error_content_text(content: object) -> str:
    if isinstance(content, list):
        texts = [
            str(item.get("text", ""))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
            for item in content  # pyright: ignore[reportUnknownVariableType]
            if isinstance(item, dict)
        ]
        return "\n".join(texts)
    return str(content)
