"""The operator's MCP servers: the only servers a request may ever reach.

An operator lists servers with ``--mcp-server`` strings (``LABEL=URL``, ``LABEL=sse:URL``,
``LABEL=stdio:COMMAND ARGS``) or TOML tables; :func:`parse_mcp_server` and
:func:`parse_mcp_server_table` turn them into frozen :class:`McpServerConfig` values and
:func:`build_registry` checks a set of them. Requests are resolved against that registry in
:mod:`antiphon.tools.mcp.resolve`; nothing in a request can add to it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from antiphon.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_MCP_TIMEOUT",
    "McpServerConfig",
    "McpTransport",
    "build_registry",
    "normalize_url",
    "parse_mcp_server",
    "parse_mcp_server_table",
]

McpTransport = Literal["http", "sse", "stdio"]
DEFAULT_MCP_TIMEOUT = 30.0
# Labels become harmony namespaces and function-name prefixes, so keep them to a safe alphabet.
_LABEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """One MCP server the operator allows: where it is, how to reach it, how long to wait."""

    label: str
    transport: McpTransport
    url: str | None = None
    command: str | None = None
    args: tuple[str, ...] = ()
    timeout: float = DEFAULT_MCP_TIMEOUT
    # The operator's own headers (e.g. an API key for the server): kept out of repr and logs.
    headers: Mapping[str, str] = field(default_factory=dict[str, str], repr=False, hash=False)

    def __post_init__(self) -> None:
        if not _LABEL.match(self.label):
            raise ConfigurationError(
                f"MCP server label {self.label!r} must be 1-64 letters, digits, '_', '.' or '-'"
            )
        if self.timeout <= 0:
            raise ConfigurationError(f"MCP server {self.label!r}: timeout must be positive")
        if self.transport == "stdio":
            if not self.command or self.url is not None:
                raise ConfigurationError(f"MCP server {self.label!r}: stdio needs a command")
        elif self.url is None or self.command is not None:
            raise ConfigurationError(f"MCP server {self.label!r}: {self.transport} needs a url")
        else:
            normalize_url(self.url)  # raises on anything but an absolute http(s) URL

    @property
    def normalized_url(self) -> str | None:
        """The URL in the form requests are compared with (None for stdio servers)."""
        return None if self.url is None else normalize_url(self.url)


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, drop a default port, a trailing slash and any fragment.

    Raises :class:`ConfigurationError` unless ``url`` is an absolute http(s) URL without
    credentials (credentials in a URL would end up in logs and cache keys).
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"not a valid URL: {url!r}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigurationError(f"not an absolute http(s) URL: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("an MCP server URL must not carry credentials; use headers")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literals keep their brackets
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def parse_mcp_server(spec: str, *, timeout: float = DEFAULT_MCP_TIMEOUT) -> McpServerConfig:
    """Parse one ``--mcp-server`` value.

    Forms: ``LABEL=URL`` (Streamable HTTP), ``LABEL=sse:URL`` and ``LABEL=stdio:COMMAND ARGS``
    (split like a shell would, without running one).
    """
    label, sep, target = spec.partition("=")
    label, target = label.strip(), target.strip()
    if not sep or not label or not target:
        raise ConfigurationError(
            f"--mcp-server {spec!r}: expected LABEL=URL, LABEL=sse:URL or LABEL=stdio:COMMAND ARGS"
        )
    if target.startswith("stdio:"):
        try:
            argv = shlex.split(target.removeprefix("stdio:"))
        except ValueError as exc:
            raise ConfigurationError(f"--mcp-server {spec!r}: {exc}") from exc
        if not argv:
            raise ConfigurationError(f"--mcp-server {spec!r}: stdio needs a command")
        return McpServerConfig(
            label, "stdio", command=argv[0], args=tuple(argv[1:]), timeout=timeout
        )
    if target.startswith("sse:"):
        return McpServerConfig(label, "sse", url=target.removeprefix("sse:"), timeout=timeout)
    return McpServerConfig(label, "http", url=target, timeout=timeout)


def parse_mcp_server_table(label: str, table: Mapping[str, object]) -> McpServerConfig:
    """Parse one TOML table ``[mcp_servers.LABEL]``.

    Keys: ``url`` (with optional ``transport = "http" | "sse"``) or ``command`` (+ ``args``),
    ``timeout`` (seconds) and ``headers`` (a table of strings). Unknown keys are errors, so a
    typo never silently drops a setting.
    """
    unknown = set(table) - {"url", "transport", "command", "args", "timeout", "headers"}
    if unknown:
        raise ConfigurationError(f"mcp server {label!r}: unknown keys {sorted(unknown)}")
    timeout = table.get("timeout", DEFAULT_MCP_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigurationError(f"mcp server {label!r}: timeout must be a number")
    headers = _string_map(label, "headers", table.get("headers", {}))
    command = table.get("command")
    if command is not None:
        if not isinstance(command, str) or "url" in table or "transport" in table:
            raise ConfigurationError(f"mcp server {label!r}: give either url or command")
        args = _string_list(label, table.get("args", []))
        return McpServerConfig(label, "stdio", command=command, args=args, timeout=timeout)
    url, transport = table.get("url"), table.get("transport", "http")
    if not isinstance(url, str) or transport not in ("http", "sse"):
        raise ConfigurationError(f"mcp server {label!r}: needs url (transport http or sse)")
    kind: McpTransport = "sse" if transport == "sse" else "http"
    return McpServerConfig(label, kind, url=url, timeout=timeout, headers=headers)


def build_registry(servers: Iterable[McpServerConfig]) -> dict[str, McpServerConfig]:
    """Index servers by label; duplicate labels or duplicate URLs are configuration errors."""
    registry: dict[str, McpServerConfig] = {}
    urls: set[str] = set()
    for server in servers:
        if server.label in registry:
            raise ConfigurationError(f"MCP server label {server.label!r} is configured twice")
        url = server.normalized_url
        if url is not None and url in urls:
            raise ConfigurationError(f"MCP server URL {server.url!r} is configured twice")
        if url is not None:
            urls.add(url)
        registry[server.label] = server
    return registry


def _string_map(label: str, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"mcp server {label!r}: {key} must be a table of strings")
    result: dict[str, str] = {}
    for name, item in value.items():  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(name, str) or not isinstance(item, str):
            raise ConfigurationError(f"mcp server {label!r}: {key} must be a table of strings")
        result[name] = item
    return result


def _string_list(label: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigurationError(f"mcp server {label!r}: args must be a list of strings")
    items: list[str] = []
    for item in value:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(item, str):
            raise ConfigurationError(f"mcp server {label!r}: args must be a list of strings")
        items.append(item)
    return tuple(items)
