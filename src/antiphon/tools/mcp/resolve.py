"""Resolving a request's ``{"type": "mcp"}`` tool against the operator's servers.

The request may only *name* a server the operator configured: by label, or by a ``server_url``
equal (after normalisation) to a configured URL. Anything else is an
:class:`~antiphon.exceptions.InvalidRequestError` naming the configured servers, raised before any
connection is attempted. The result, :class:`ResolvedMcpTool`, carries the request's headers
and bearer token for that server only (kept out of ``repr``), the ``allowed_tools`` filter and
the ``require_approval`` policy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from openai.types.responses.tool import Mcp

from antiphon.exceptions import ConfigurationError, InvalidRequestError
from antiphon.tools.mcp.config import McpServerConfig, normalize_url
from antiphon.tools.mcp.policy import ApprovalPolicy, ToolFilter

__all__ = ["ResolvedMcpTool", "resolve_mcp_tool"]

# RFC 9110: a field name is a token; a value here is visible ASCII with inner spaces and tabs
# (obs-text, bytes above 0x7f, has no agreed encoding and is refused).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(r"(?:[\x21-\x7e](?:[\x20\x21-\x7e\t]*[\x21-\x7e])?)?")
# Connection-level headers, and those the client computes: a request must not choose them.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "host",
    }
)


@dataclass(frozen=True, slots=True)
class ResolvedMcpTool:
    """A request's MCP tool bound to an operator-configured server.

    ``server_label`` is the request's label (it names the items in the response); ``config`` is
    the operator's server. ``headers`` are what this server receives on top of the operator's own
    headers: the request's ``headers`` and its ``authorization`` as ``Authorization: Bearer``.
    They never appear in ``repr`` and are never stored.
    """

    server_label: str
    config: McpServerConfig
    allowed: ToolFilter = field(default_factory=ToolFilter)
    approval: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    description: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict[str, str], repr=False, hash=False)

    @property
    def connection_key(self) -> tuple[str, str]:
        """Which pooled session and cached listing this tool uses: server + header fingerprint.

        stdio servers ignore request headers (there is no HTTP), so they share one key.
        """
        if self.config.transport == "stdio" or not self.headers:
            return (self.config.label, "")
        digest = hashlib.sha256()
        for name, value in sorted((k.lower(), v) for k, v in self.headers.items()):
            digest.update(f"{name}\0{value}\0".encode())
        return (self.config.label, digest.hexdigest())

    def needs_approval(self, tool_name: str, annotations: object | None) -> bool:
        """Whether calling ``tool_name`` must first go through an ``mcp_approval_request``."""
        return self.approval.needs_approval(tool_name, annotations)


def resolve_mcp_tool(
    tool: Mcp, servers: Mapping[str, McpServerConfig], *, param: str = "tools"
) -> ResolvedMcpTool:
    """Bind ``tool`` to a configured server, or raise :class:`InvalidRequestError` (400).

    ``servers`` maps labels to configs (see :func:`~antiphon.tools.mcp.config.build_registry`);
    ``param`` is the request path of the tool (``tools[2]``) for the error body.
    """
    if tool.connector_id is not None or tool.tunnel_id is not None:
        what = "connector_id" if tool.connector_id is not None else "tunnel_id"
        raise InvalidRequestError(
            f"MCP {what} is not supported by this server; {_configured(servers)}",
            param=f"{param}.{what}",
            code="unsupported_mcp_connector",
        )
    config = _find_server(tool, servers, param)
    return ResolvedMcpTool(
        server_label=tool.server_label,
        config=config,
        allowed=ToolFilter.from_allowed_tools(tool.allowed_tools),
        approval=ApprovalPolicy.from_require_approval(tool.require_approval),
        description=tool.server_description,
        headers=_request_headers(tool, param),
    )


def _find_server(tool: Mcp, servers: Mapping[str, McpServerConfig], param: str) -> McpServerConfig:
    by_label = servers.get(tool.server_label)
    if tool.server_url is None:
        if by_label is None:
            raise _unknown_server(f"MCP server label {tool.server_label!r}", servers, param)
        return by_label
    try:
        wanted = normalize_url(tool.server_url)
    except ConfigurationError as exc:
        raise InvalidRequestError(
            f"server_url is not a valid http(s) URL: {exc}", param=f"{param}.server_url"
        ) from exc
    if by_label is not None and by_label.normalized_url != wanted:
        raise _unknown_server(
            f"server_url does not match the server configured as {tool.server_label!r}",
            servers,
            param,
        )
    for config in servers.values():
        if config.normalized_url == wanted:
            return config
    raise _unknown_server("server_url is not a configured MCP server", servers, param)


def _request_headers(tool: Mcp, param: str) -> dict[str, str]:
    # Values are checked, never quoted back: they are credentials. A value an HTTP client cannot
    # encode would otherwise fail deep in the transport, its text (the value) in the log.
    headers = dict(tool.headers or {})
    for name, value in headers.items():
        where = f"{param}.headers.{name}" if _TOKEN.fullmatch(name) else f"{param}.headers"
        if not _TOKEN.fullmatch(name):
            raise InvalidRequestError(
                "MCP header names must be HTTP tokens (letters, digits and !#$%&'*+-.^_`|~).",
                param=where,
            )
        if name.lower() in _HOP_BY_HOP or name.lower().startswith("proxy-"):
            raise InvalidRequestError(
                f"The header {name!r} is set by the HTTP client and cannot be sent to an MCP "
                "server.",
                param=where,
            )
        if not _FIELD_VALUE.fullmatch(value):
            raise InvalidRequestError(
                "MCP header values must be printable ASCII.", param=where, code="invalid_value"
            )
    if tool.authorization is not None:
        if any(name.lower() == "authorization" for name in headers):
            raise InvalidRequestError(
                "give the token either as authorization or as an Authorization header, not both",
                param=f"{param}.authorization",
            )
        if not _FIELD_VALUE.fullmatch(tool.authorization):
            raise InvalidRequestError(
                "authorization must be printable ASCII.",
                param=f"{param}.authorization",
                code="invalid_value",
            )
        headers["Authorization"] = f"Bearer {tool.authorization}"
    return headers


def _configured(servers: Mapping[str, McpServerConfig]) -> str:
    if not servers:
        return "no MCP servers are configured on this server"
    return "configured MCP servers: " + ", ".join(sorted(servers))


def _unknown_server(
    what: str, servers: Mapping[str, McpServerConfig], param: str
) -> InvalidRequestError:
    # Only labels are listed: configured URLs may be internal addresses the operator keeps private.
    return InvalidRequestError(
        f"{what}; {_configured(servers)}",
        param=f"{param}.server_label",
        code="unknown_mcp_server",
    )
