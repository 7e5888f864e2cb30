"""The operator's server-side tools, and their binding to one request.

:class:`ToolRuntime` holds what the operator configured (MCP servers and the shared pool, the
code interpreter's container manager). :meth:`ToolRuntime.for_request` checks a request's
``mcp`` and ``code_interpreter`` tools against it (a 400 naming the tool otherwise) and gathers
what the conversation already holds: listed MCP servers, pending approval requests, the last
code interpreter container.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from antiphon.exceptions import InvalidRequestError
from antiphon.responses.bindings import ContainerBinding, McpPoolBinding
from antiphon.responses.request import CreateResponseBody
from antiphon.responses.server_tools import ApprovalDecision, McpBinding, RequestTools
from antiphon.store.base import ConversationSegment, StoredItem
from antiphon.tools.code_interpreter import ContainerManager
from antiphon.tools.mcp import McpExecutor, McpServerConfig, resolve_mcp_tool

__all__ = ["ToolRuntime"]


@dataclass(frozen=True, slots=True)
class ToolRuntime:
    """What the operator allows; empty means no server-side tools."""

    mcp_servers: Mapping[str, McpServerConfig] = field(default_factory=dict[str, McpServerConfig])
    mcp: McpExecutor | None = None
    code: ContainerManager | None = None

    def check(self, body: CreateResponseBody) -> None:
        """Raise :class:`InvalidRequestError` for a server-side tool of ``body`` not allowed here.

        Binding a tool connects nothing, so this is the same check a run makes, done early.
        """
        self.for_request(body, (), ())

    def for_request(
        self,
        body: CreateResponseBody,
        chain: Sequence[ConversationSegment],
        new_input: Sequence[StoredItem],
    ) -> RequestTools:
        """The tools one response may use; raises :class:`InvalidRequestError` for the rest."""
        history = [_decode(item) for s in chain for item in (*s.input_items, *s.output_items)]
        latest = [_decode(item) for item in new_input]
        mcp: list[McpBinding] = []
        code: ContainerBinding | None = None
        for index, tool in enumerate(body.tools):
            if tool.type == "mcp":
                resolved = resolve_mcp_tool(
                    body.mcp_tool(index, tool), self.mcp_servers, param=f"tools[{index}]"
                )
                if self.mcp is None:  # a resolved tool implies configured servers and a pool
                    raise InvalidRequestError("No MCP server is configured.", param="tools")
                mcp.append(McpPoolBinding(self.mcp, resolved))
            elif tool.type == "code_interpreter":
                if self.code is None:
                    raise InvalidRequestError(
                        "The code interpreter is disabled on this server.",
                        param=f"tools[{index}]",
                        code="unsupported_value",
                    )
                container = tool.container if isinstance(tool.container, str) else None
                code = ContainerBinding(self.code, container or _last_container(history))
        return RequestTools(
            mcp=tuple(mcp),
            code=code,
            max_tool_calls=body.max_tool_calls,
            approvals=_approvals(history, latest),
            listed_labels=frozenset(
                str(item.get("server_label"))
                for item in (*history, *latest)
                if item.get("type") == "mcp_list_tools"
            ),
        )


def _decode(item: StoredItem) -> dict[str, object]:
    value: object = json.loads(item.data)
    return value if isinstance(value, dict) else {}  # pyright: ignore[reportUnknownVariableType]


def _last_container(history: Iterable[Mapping[str, object]]) -> str | None:
    found: str | None = None
    for item in history:
        if item.get("type") == "code_interpreter_call" and isinstance(
            item.get("container_id"), str
        ):
            found = str(item["container_id"])
    return found


def _approvals(
    history: Sequence[Mapping[str, object]], latest: Sequence[Mapping[str, object]]
) -> tuple[ApprovalDecision, ...]:
    requests = {
        str(item.get("id")): item
        for item in (*history, *latest)
        if item.get("type") == "mcp_approval_request"
    }
    decisions: list[ApprovalDecision] = []
    for item in latest:
        if item.get("type") != "mcp_approval_response":
            continue
        request_id = str(item.get("approval_request_id"))
        asked = requests.get(request_id)
        if asked is None:
            raise InvalidRequestError(
                f"No MCP approval request found with id '{request_id}'.", param="input"
            )
        reason = item.get("reason")
        decisions.append(
            ApprovalDecision(
                approval_request_id=request_id,
                server_label=str(asked.get("server_label")),
                name=str(asked.get("name")),
                arguments=str(asked.get("arguments") or "{}"),
                approve=item.get("approve") is True,
                reason=reason if isinstance(reason, str) else None,
            )
        )
    return tuple(decisions)
