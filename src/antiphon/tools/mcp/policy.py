"""Which MCP tools a request allows (``allowed_tools``) and which need approval first.

Both request fields use the same filter shape, ``{tool_names, read_only}``, where ``read_only``
matches the MCP ``readOnlyHint`` annotation from the server's listing. A filter with both keys
matches a tool that satisfies both. Annotations are hints from the server, which the operator
chose to trust by configuring it.

Approval default: OpenAI requires approval for every call unless the request says otherwise, so
an unset ``require_approval`` behaves as ``"always"``. In a filter object, a tool matched by
``always`` needs approval, else a tool matched by ``never`` does not, else approval is required
(the safe side, as with OpenAI). An empty ``never`` filter matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from openai.types.responses.tool import (
    McpAllowedTools,
    McpAllowedToolsMcpToolFilter,
    McpRequireApproval,
    McpRequireApprovalMcpToolApprovalFilterAlways,
    McpRequireApprovalMcpToolApprovalFilterNever,
)

__all__ = ["ApprovalPolicy", "ToolFilter", "is_read_only"]


def is_read_only(annotations: object | None) -> bool:
    """Whether listed annotations (a JSON object) carry ``readOnlyHint: true``."""
    return isinstance(annotations, Mapping) and annotations.get("readOnlyHint") is True  # pyright: ignore[reportUnknownMemberType]


@dataclass(frozen=True, slots=True)
class ToolFilter:
    """A ``{tool_names, read_only}`` filter; with neither set it matches ``match_empty``."""

    tool_names: frozenset[str] | None = None
    read_only: bool | None = None
    match_empty: bool = True

    @classmethod
    def from_allowed_tools(cls, allowed: McpAllowedTools) -> ToolFilter:
        """The filter for a request's ``allowed_tools`` (``None``: every tool is allowed)."""
        if allowed is None:
            return cls()
        if isinstance(allowed, list):
            return cls(tool_names=frozenset(allowed))
        return cls.from_filter(allowed, match_empty=True)

    @classmethod
    def from_filter(
        cls,
        model: McpAllowedToolsMcpToolFilter
        | McpRequireApprovalMcpToolApprovalFilterAlways
        | McpRequireApprovalMcpToolApprovalFilterNever,
        *,
        match_empty: bool,
    ) -> ToolFilter:
        """The filter for one request filter object."""
        names = None if model.tool_names is None else frozenset(model.tool_names)
        return cls(tool_names=names, read_only=model.read_only, match_empty=match_empty)

    def matches(self, tool_name: str, annotations: object | None) -> bool:
        """Whether the tool passes every condition this filter sets."""
        if self.tool_names is None and self.read_only is None:
            return self.match_empty
        if self.tool_names is not None and tool_name not in self.tool_names:
            return False
        return self.read_only is None or is_read_only(annotations) == self.read_only


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """A request's ``require_approval`` (see the module docstring for the default)."""

    mode: Literal["always", "never", "filter"] = "always"
    always: ToolFilter | None = None
    never: ToolFilter | None = None

    @classmethod
    def from_require_approval(cls, value: McpRequireApproval) -> ApprovalPolicy:
        """The policy for a request's ``require_approval`` (``None`` means ``"always"``)."""
        if value is None or value == "always":
            return cls("always")
        if value == "never":
            return cls("never")
        always = (
            None
            if value.always is None
            else ToolFilter.from_filter(value.always, match_empty=False)
        )
        never = (
            None if value.never is None else ToolFilter.from_filter(value.never, match_empty=False)
        )
        return cls("filter", always=always, never=never)

    def needs_approval(self, tool_name: str, annotations: object | None) -> bool:
        """Whether calling ``tool_name`` (with its listed annotations) needs approval first."""
        if self.mode != "filter":
            return self.mode == "always"
        if self.always is not None and self.always.matches(tool_name, annotations):
            return True
        return not (self.never is not None and self.never.matches(tool_name, annotations))
