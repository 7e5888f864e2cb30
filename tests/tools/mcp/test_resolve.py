from __future__ import annotations

import pytest
from openai.types.responses.tool import Mcp

from antiphon.exceptions import InvalidRequestError
from antiphon.tools.mcp import McpServerConfig, build_registry, resolve_mcp_tool

REGISTRY = build_registry(
    [
        McpServerConfig("docs", "http", url="https://mcp.example.com/mcp"),
        McpServerConfig("fs", "stdio", command="mcp-fs"),
    ]
)


def _tool(**fields: object) -> Mcp:
    return Mcp.model_validate({"type": "mcp", "server_label": "docs", **fields})


def test_configured_label_resolves_to_its_server() -> None:
    resolved = resolve_mcp_tool(_tool(server_description="Docs search"), REGISTRY)
    assert resolved.config is REGISTRY["docs"]
    assert resolved.server_label == "docs"
    assert resolved.description == "Docs search"
    assert resolved.needs_approval("search", None)  # OpenAI default


def test_matching_url_resolves_under_the_request_label() -> None:
    tool = _tool(server_label="my_docs", server_url="HTTPS://mcp.example.com:443/mcp/")
    resolved = resolve_mcp_tool(tool, REGISTRY)
    assert resolved.config is REGISTRY["docs"]
    assert resolved.server_label == "my_docs"


@pytest.mark.parametrize(
    "fields",
    [
        {"server_label": "other"},
        {"server_label": "x", "server_url": "https://evil.example.com/mcp"},
        {"server_label": "docs", "server_url": "https://mcp.example.com/other"},
        {"server_label": "fs", "server_url": "https://mcp.example.com/mcp"},
    ],
)
def test_unconfigured_servers_are_refused_with_the_configured_labels(
    fields: dict[str, object],
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        resolve_mcp_tool(_tool(**fields), REGISTRY, param="tools[1]")
    assert raised.value.status == 400
    assert raised.value.code == "unknown_mcp_server"
    assert raised.value.param == "tools[1].server_label"
    assert "configured MCP servers: docs, fs" in raised.value.message
    assert "example.com" not in raised.value.message.replace("evil.example.com", "")


def test_no_configured_servers_says_so() -> None:
    with pytest.raises(InvalidRequestError, match="no MCP servers are configured"):
        resolve_mcp_tool(_tool(), {})


@pytest.mark.parametrize(
    "fields",
    [{"connector_id": "connector_gmail"}, {"tunnel_id": "tun_1"}],
)
def test_connectors_and_tunnels_are_unsupported(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        resolve_mcp_tool(_tool(**fields), REGISTRY)
    assert raised.value.code == "unsupported_mcp_connector"


def test_invalid_server_url_is_a_bad_request() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        resolve_mcp_tool(_tool(server_url="file:///etc/passwd"), REGISTRY)
    assert raised.value.param == "tools.server_url"


def test_authorization_becomes_a_bearer_header_hidden_from_repr() -> None:
    resolved = resolve_mcp_tool(_tool(authorization="sk-1", headers={"X-A": "b"}), REGISTRY)
    assert resolved.headers == {"X-A": "b", "Authorization": "Bearer sk-1"}
    assert "sk-1" not in repr(resolved)


@pytest.mark.parametrize(
    "fields",
    [
        {"authorization": "a", "headers": {"authorization": "Bearer b"}},
        {"headers": {"X-A": "b\r\nX-Evil: 1"}},
        {"headers": {"": "b"}},
        {"authorization": "a\nb"},
    ],
)
def test_bad_headers_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError):
        resolve_mcp_tool(_tool(**fields), REGISTRY)


def test_header_fingerprint_separates_sessions_but_not_for_stdio() -> None:
    one = resolve_mcp_tool(_tool(authorization="1"), REGISTRY)
    two = resolve_mcp_tool(_tool(authorization="2"), REGISTRY)
    none = resolve_mcp_tool(_tool(), REGISTRY)
    assert len({one.connection_key, two.connection_key, none.connection_key}) == 3
    assert "Bearer" not in one.connection_key[1]  # a digest, never the token itself
    fs = resolve_mcp_tool(_tool(server_label="fs", authorization="1"), REGISTRY)
    assert fs.connection_key == ("fs", "")
