"""What ``antiphon serve`` runs with: models and their upstreams, store, auth, limits.

Settings come from three places, later ones winning: a TOML config file (``--config``), the
``ANTIPHON_*`` environment variables, and command-line flags. This module only holds and checks
them; :mod:`antiphon.cli` reads flags and the environment, the app factory consumes the result.

A config file can declare several models, each with its own upstream::

    [server]
    host = "127.0.0.1"
    port = 8000
    store = "memory"            # or a path / sqlite:///path
    api_key = "sk-local"        # clients must send Authorization: Bearer sk-local

    code_interpreter = true     # false disables the code interpreter tool
    keepalive_seconds = 15      # SSE comment while nothing else is sent

    [code_interpreter]          # sandbox limits (SandboxLimits fields)
    cpu_seconds = 10
    wall_seconds = 30

    [store]                     # store limits (StoreLimits fields)
    retention_seconds = 2592000 # 30 days
    max_response_bytes = 33554432

    [[models]]
    name = "gpt-oss-20b"        # what clients put in "model"
    upstream_url = "http://127.0.0.1:8001/v1"
    upstream_api = "harmony"    # chat | harmony | scripted
    upstream_model = "openai/gpt-oss-20b"

    [mcp_servers.docs]          # the only MCP servers requests may name
    url = "http://127.0.0.1:9000/mcp"
    timeout = 30

    [mcp_servers.files]
    command = "python"
    args = ["-m", "my_mcp_server"]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from antiphon.exceptions import ConfigurationError
from antiphon.store.base import StoreLimits
from antiphon.tools.code_interpreter import SandboxLimits
from antiphon.tools.mcp import McpServerConfig, build_registry, parse_mcp_server_table

__all__ = [
    "SERVER_KEYS",
    "UPSTREAM_APIS",
    "ConfigFile",
    "ModelRoute",
    "ServerSettings",
    "load_config_file",
]

UpstreamApi = Literal["chat", "harmony", "scripted"]
UPSTREAM_APIS: tuple[UpstreamApi, ...] = ("chat", "harmony", "scripted")


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """One client-facing model name and the engine that serves it."""

    name: str
    api: UpstreamApi
    upstream_url: str | None = None
    upstream_api_key: str | None = None
    upstream_model: str | None = None
    script: Path | None = None
    connect_timeout: float = 10.0
    stall_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.api not in UPSTREAM_APIS:
            raise ConfigurationError(
                f"model {self.name!r}: upstream_api must be one of {', '.join(UPSTREAM_APIS)}"
            )
        if self.api == "scripted" and self.script is None:
            raise ConfigurationError(f"model {self.name!r}: the scripted engine needs a script")
        if self.api != "scripted" and not self.upstream_url:
            raise ConfigurationError(f"model {self.name!r}: pass --upstream-url for {self.api}")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything the server needs; immutable once built."""

    models: tuple[ModelRoute, ...]
    host: str = "127.0.0.1"
    port: int = 8000
    store: str | None = None  # None: a SQLite file under the user's data directory
    api_key: str | None = None
    keepalive_seconds: float = 15.0
    store_limits: StoreLimits = field(default_factory=StoreLimits)
    max_tool_loops: int = 16
    mcp_servers: tuple[McpServerConfig, ...] = ()
    code_interpreter: bool = True
    sandbox_limits: SandboxLimits = field(default_factory=SandboxLimits)
    extra: dict[str, object] = field(default_factory=dict[str, object])

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigurationError(
                "no model is configured: pass --upstream-url URL --model NAME (and "
                "--upstream-api chat|harmony), or --config FILE; see `antiphon serve --help`"
            )
        names = [route.name for route in self.models]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"model names must be unique, got {names}")
        build_registry(self.mcp_servers)  # duplicate labels or URLs fail at start-up

    def route(self, name: str) -> ModelRoute | None:
        """The route serving ``name``, if any."""
        return next((route for route in self.models if route.name == name), None)

    def with_port(self, port: int) -> ServerSettings:
        """A copy bound to another port (the CLI resolves port 0 to a real one)."""
        return replace(self, port=port)


#: The keys of the ``[server]`` table; any other key is a mistake worth reporting.
SERVER_KEYS = frozenset(
    {"host", "port", "store", "api_key", "code_interpreter", "keepalive_seconds", "max_tool_loops"}
)


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """What a TOML config file holds: ``[server]``, models, MCP servers, sandbox limits."""

    server: dict[str, object]
    models: list[ModelRoute]
    mcp_servers: list[McpServerConfig]
    sandbox_limits: SandboxLimits = field(default_factory=SandboxLimits)
    store_limits: StoreLimits = field(default_factory=StoreLimits)


def load_config_file(path: Path) -> ConfigFile:
    """Read a TOML config file (format in the module docstring)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
    server = data.get("server", {})
    models = data.get("models", [])
    mcp = data.get("mcp_servers", {})
    if not isinstance(server, dict) or not isinstance(models, list) or not isinstance(mcp, dict):
        raise ConfigurationError(
            f"{path}: expected a [server] table, [[models]] entries and [mcp_servers.LABEL] tables"
        )
    unknown = sorted(set(cast(dict[str, object], server)) - SERVER_KEYS)
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown [server] keys {unknown}; known: {sorted(SERVER_KEYS)}"
        )
    routes = [_route_from_table(entry, path) for entry in cast(list[object], models)]
    servers = [
        parse_mcp_server_table(str(label), _table(table, f"{path}: [mcp_servers.{label}]"))
        for label, table in cast(dict[str, object], mcp).items()
    ]
    sandbox = _limits(
        SandboxLimits,
        "code_interpreter",
        _table(data.get("code_interpreter", {}), f"{path}: [code_interpreter]"),
    )
    store = _limits(StoreLimits, "store", _table(data.get("store", {}), f"{path}: [store]"))
    return ConfigFile(cast(dict[str, object], server), routes, servers, sandbox, store)


_L = TypeVar("_L", SandboxLimits, StoreLimits)


def _limits(kind: type[_L], name: str, table: dict[str, object]) -> _L:
    """A limits table (``[code_interpreter]``, ``[store]``): any field of ``kind``."""
    known = set(kind.__dataclass_fields__)
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigurationError(f"unknown [{name}] keys {unknown}; known: {sorted(known)}")
    try:
        return kind(**cast(dict[str, Any], table))
    except (TypeError, ValueError, ConfigurationError) as exc:
        raise ConfigurationError(f"invalid [{name}] limits: {exc}") from exc


def _table(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where} must be a table")
    return cast(dict[str, object], value)


def _route_from_table(entry: object, path: Path) -> ModelRoute:
    table = cast(dict[str, object], entry) if isinstance(entry, dict) else {}
    if not isinstance(table.get("name"), str):
        raise ConfigurationError(f"{path}: every [[models]] entry needs a name")
    script = table.get("script")
    try:
        return ModelRoute(
            name=str(table["name"]),
            api=cast(UpstreamApi, table.get("upstream_api", "chat")),
            upstream_url=_opt_str(table.get("upstream_url")),
            upstream_api_key=_opt_str(table.get("upstream_api_key")),
            upstream_model=_opt_str(table.get("upstream_model")),
            script=(path.parent / str(script)) if script is not None else None,
            connect_timeout=float(cast(float, table.get("connect_timeout", 10.0))),
            stall_timeout=float(cast(float, table.get("stall_timeout", 120.0))),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{path}: invalid model entry {table['name']!r}: {exc}") from exc


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
