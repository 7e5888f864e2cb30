from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from antiphon.exceptions import ConfigurationError
from antiphon.tools.mcp import (
    McpServerConfig,
    build_registry,
    normalize_url,
    parse_mcp_server,
    parse_mcp_server_table,
)


def test_label_equals_url_is_streamable_http() -> None:
    config = parse_mcp_server("docs=https://mcp.example.com/mcp", timeout=5)
    assert (config.label, config.transport, config.url, config.timeout) == (
        "docs",
        "http",
        "https://mcp.example.com/mcp",
        5,
    )


def test_sse_prefix_selects_the_sse_transport() -> None:
    config = parse_mcp_server("old=sse:http://127.0.0.1:9000/sse")
    assert (config.transport, config.url) == ("sse", "http://127.0.0.1:9000/sse")


def test_stdio_command_is_split_like_a_shell() -> None:
    config = parse_mcp_server("fs=stdio:npx -y '@scope/server fs' /tmp")
    assert (config.transport, config.command, config.args) == (
        "stdio",
        "npx",
        ("-y", "@scope/server fs", "/tmp"),
    )


@pytest.mark.parametrize(
    "spec",
    [
        "nolabel",
        "=http://x/mcp",
        "x=",
        "x=stdio:",
        "x=stdio:'unterminated",
        "x=ftp://host/mcp",
        "x=http://user:pw@host/mcp",
        "x=not a url",
        "bad label=http://h/mcp",
        "x=http://h:99999/mcp",
    ],
)
def test_bad_specs_are_configuration_errors(spec: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_mcp_server(spec)


@given(st.text(max_size=60))
def test_parser_never_raises_anything_but_configuration_error(spec: str) -> None:
    try:
        config = parse_mcp_server(spec)
    except ConfigurationError:
        return
    assert config.label == spec.partition("=")[0].strip()


def test_toml_tables_parse_each_transport() -> None:
    document = tomllib.loads(
        """
        [mcp_servers.docs]
        url = "https://mcp.example.com/mcp"
        timeout = 12.5
        headers = { "X-Api-Key" = "secret" }
        [mcp_servers.old]
        url = "http://127.0.0.1:9000/sse"
        transport = "sse"
        [mcp_servers.fs]
        command = "mcp-fs"
        args = ["--root", "/tmp"]
        """
    )
    tables = document["mcp_servers"]
    configs = [parse_mcp_server_table(label, table) for label, table in tables.items()]
    registry = build_registry(configs)
    assert registry["docs"].headers == {"X-Api-Key": "secret"}
    assert registry["docs"].timeout == 12.5
    assert "secret" not in repr(registry["docs"])
    assert registry["old"].transport == "sse"
    assert (registry["fs"].command, registry["fs"].args) == ("mcp-fs", ("--root", "/tmp"))


@pytest.mark.parametrize(
    "table",
    [
        {"url": "http://h/mcp", "colour": "blue"},
        {"url": "http://h/mcp", "timeout": "soon"},
        {"url": "http://h/mcp", "timeout": True},
        {"url": "http://h/mcp", "timeout": 0},
        {"url": "http://h/mcp", "transport": "stdio"},
        {"url": "http://h/mcp", "headers": ["a"]},
        {"url": "http://h/mcp", "headers": {"a": 1}},
        {"command": "x", "url": "http://h/mcp"},
        {"command": "x", "args": "a b"},
        {"command": "x", "args": [1]},
        {},
    ],
)
def test_bad_tables_are_configuration_errors(table: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        parse_mcp_server_table("x", table)


def test_duplicate_labels_and_urls_are_refused() -> None:
    a = McpServerConfig("a", "http", url="http://h/mcp")
    with pytest.raises(ConfigurationError, match="label 'a'"):
        build_registry([a, McpServerConfig("a", "http", url="http://other/mcp")])
    with pytest.raises(ConfigurationError, match="URL"):
        build_registry([a, McpServerConfig("b", "http", url="HTTP://H:80/mcp/")])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"transport": "stdio"}, "stdio needs a command"),
        ({"transport": "http", "command": "x"}, "http needs a url"),
        ({"transport": "stdio", "command": "x", "url": "http://h"}, "stdio needs a command"),
    ],
)
def test_config_checks_its_transport_fields(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        McpServerConfig("x", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTP://Example.COM:80/mcp/", "http://example.com/mcp"),
        ("https://example.com:443/mcp#frag", "https://example.com/mcp"),
        ("http://127.0.0.1:8000/mcp?x=1", "http://127.0.0.1:8000/mcp?x=1"),
        ("http://[::1]:9/mcp", "http://[::1]:9/mcp"),
    ],
)
def test_urls_normalise_for_comparison(url: str, normal: str) -> None:
    assert normalize_url(url) == normal
