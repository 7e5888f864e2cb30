"""What ``antiphon serve`` runs with: models and their upstreams, store, auth, limits.

Settings come in four layers, later ones winning: built-in defaults, a TOML config file
(``--config``), the ``ANTIPHON_*`` environment variables, and command-line flags. Each layer is a
:class:`ServeOptions` whose ``None`` fields are "not given here", and :func:`resolve_settings` is
the one place they are merged, so an explicit ``--port 8000`` beats the file even though 8000 is
also the default. :mod:`antiphon.cli` only parses flags; the app factory consumes the result.

Without ``--model`` (nor ``--upstream-model``), ``--upstream-url`` serves the upstream's own
models under their own names: :class:`UpstreamDiscovery` lists its ``GET /models``.

A config file can declare several models, each with its own upstream::

    [server]
    host = "127.0.0.1"
    port = 8000
    store = "memory"            # or a path / sqlite:///path / postgresql://user@host/db
    workers = 1                 # processes serving one socket (more than 1: PostgreSQL only)
    api_key = "sk-local"        # clients must send Authorization: Bearer sk-local
    allow_origins = ["https://app.example"]  # browser origins allowed besides the server's own
    max_body_bytes = 16777216   # larger request bodies are refused with 413
    allow_private_media_urls = false  # true: image URLs may name loopback/private addresses

    code_interpreter = true     # false disables the code interpreter tool
    keepalive_seconds = 15      # SSE comment while nothing else is sent (0: none)
    max_tool_loops = 16         # model turns one response may take (tool rounds included)
    model_refresh_seconds = 10  # discovered models: re-list the upstream at most this often
    log_level = "info"          # critical | error | warning | info | debug | trace
    log_format = "json"         # text (default) | json: one JSON object per line
    metrics_port = 9100         # GET /metrics also on this port, without the API key
    response_deadline_seconds = 1800  # one response, all its turns and tool calls (0: none)

    # /v1/realtime (per process: each worker counts its own sessions and client secrets).
    realtime_max_frame_bytes = 4194304  # larger client frames close the socket with 1009
    realtime_session_seconds = 3600     # a session's lifetime, then error session_expired (0: none)
    realtime_idle_seconds = 600         # no client frame (and no response running) (0: none)
    realtime_max_sessions = 100         # past it: error session_limit_reached, close 1013
    speech = true                       # voice on /v1/realtime (false: text only)
    stt_url = "http://127.0.0.1:8002/v1"  # a /audio/transcriptions server (default: local)
    tts_url = "http://127.0.0.1:8003/v1"  # a /audio/speech server (default: local)

    # Every upstream's limits; a [[models]] entry may set its own (same names, no "upstream_").
    upstream_connect_timeout = 10     # seconds to open a connection
    upstream_stall_timeout = 120      # seconds the upstream may send nothing
    upstream_deadline_seconds = 600   # one upstream call in all, however it trickles (0: none)
    upstream_max_connections = 100    # requests open at once per upstream; more queue
    upstream_pool_timeout = 30        # seconds a queued request waits for a connection

    [code_interpreter]          # sandbox limits (SandboxLimits fields)
    cpu_seconds = 10
    wall_seconds = 30
    require = ["seccomp", "landlock_filesystem"]  # refuse to start without these layers

    [store]                     # store limits (StoreLimits fields)
    retention_seconds = 2592000 # 30 days
    purge_interval_seconds = 3600 # purge expired responses, reclaim space, this often
    max_response_bytes = 33554432

    [[models]]
    name = "gpt-oss-20b"        # what clients put in "model"
    upstream_url = "http://127.0.0.1:8001/v1"
    upstream_api = "harmony"    # chat | harmony | scripted
    upstream_model = "openai/gpt-oss-20b"
    stall_timeout = 300         # this upstream's own limits, over the [server] ones
    max_connections = 16

    [mcp_servers.docs]          # the only MCP servers requests may name
    url = "http://127.0.0.1:9000/mcp"
    timeout = 30

    [mcp_servers.files]
    command = "python"
    args = ["-m", "my_mcp_server"]
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast

from antiphon.exceptions import ConfigurationError
from antiphon.server.guard import normalize_origin
from antiphon.store.base import StoreLimits
from antiphon.store.factory import is_postgres_url
from antiphon.tools.code_interpreter import SandboxLimits, SandboxPolicy
from antiphon.tools.mcp import (
    McpServerConfig,
    build_registry,
    parse_mcp_server,
    parse_mcp_server_table,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ENVIRONMENT",
    "LOG_LEVELS",
    "SERVER_KEYS",
    "UPSTREAM_APIS",
    "ConfigFile",
    "ModelRoute",
    "RealtimeLimits",
    "ServeOptions",
    "ServerSettings",
    "UpstreamDiscovery",
    "UpstreamLimits",
    "load_config_file",
    "resolve_settings",
]

UpstreamApi = Literal["chat", "harmony", "scripted"]
UPSTREAM_APIS: tuple[UpstreamApi, ...] = ("chat", "harmony", "scripted")
#: The levels ``--log-level`` accepts (uvicorn's names).
LOG_LEVELS: tuple[str, ...] = ("critical", "error", "warning", "info", "debug", "trace")

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8000
DEFAULT_KEEPALIVE_SECONDS: Final = 15.0
DEFAULT_MAX_TOOL_LOOPS: Final = 16
DEFAULT_MODEL_REFRESH_SECONDS: Final = 10.0
DEFAULT_LOG_LEVEL: Final = "warning"
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_STALL_TIMEOUT: Final = 120.0
DEFAULT_UPSTREAM_DEADLINE_SECONDS: Final = 600.0
# Engines queue what they cannot run at once (vLLM, SGLang, llama.cpp, Ollama): the pool should
# not be the first limit a thousand streams meet.
DEFAULT_UPSTREAM_MAX_CONNECTIONS: Final = 1000
DEFAULT_UPSTREAM_POOL_TIMEOUT: Final = 30.0
DEFAULT_RESPONSE_DEADLINE_SECONDS: Final = 1800.0
#: Below the store's default record limit (32 MiB), so a body that fits can be stored.
DEFAULT_MAX_BODY_BYTES: Final = 16 * 1024 * 1024
#: The realtime core's history bound (4 MiB of JSON): a larger frame could not be kept anyway.
DEFAULT_REALTIME_MAX_FRAME_BYTES: Final = 4 * 1024 * 1024
#: The hosted API's session lifetime (60 minutes).
DEFAULT_REALTIME_SESSION_SECONDS: Final = 3600.0
DEFAULT_REALTIME_IDLE_SECONDS: Final = 600.0
DEFAULT_REALTIME_MAX_SESSIONS: Final = 100

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class UpstreamLimits:
    """How long antiphon waits for an upstream, and how many requests it sends it at once.

    ``connect_timeout`` bounds opening a connection; ``stall_timeout`` every wait for bytes;
    ``deadline_seconds`` one upstream call in all (0: none), so an upstream trickling a byte at
    a time cannot hold a response for ever. At most ``max_connections`` requests are open at
    once; one more waits up to ``pool_timeout`` seconds for a free connection, then fails.
    """

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    stall_timeout: float = DEFAULT_STALL_TIMEOUT
    deadline_seconds: float = DEFAULT_UPSTREAM_DEADLINE_SECONDS
    max_connections: int = DEFAULT_UPSTREAM_MAX_CONNECTIONS
    pool_timeout: float = DEFAULT_UPSTREAM_POOL_TIMEOUT

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "stall_timeout", "pool_timeout"):
            value: float = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigurationError(f"{name} must be a number of seconds above 0, not {value}")
        if not math.isfinite(self.deadline_seconds) or self.deadline_seconds < 0:
            raise ConfigurationError(
                f"deadline_seconds must be 0 (none) or more, not {self.deadline_seconds}"
            )
        if self.max_connections < 1:
            raise ConfigurationError(
                f"max_connections must be 1 or more, not {self.max_connections}"
            )


@dataclass(frozen=True, slots=True)
class RealtimeLimits:
    """The bounds of ``/v1/realtime`` connections, per server process.

    A client frame over ``max_frame_bytes`` closes the socket with 1009 (uvicorn's
    ``ws_max_size``). A session lasts at most ``session_seconds``, and ends after
    ``idle_seconds`` without a client frame while no response runs (0: no limit, for both).
    Past ``max_sessions`` open at once, a new connection is told so and closed with 1013.
    """

    max_frame_bytes: int = DEFAULT_REALTIME_MAX_FRAME_BYTES
    session_seconds: float = DEFAULT_REALTIME_SESSION_SECONDS
    idle_seconds: float = DEFAULT_REALTIME_IDLE_SECONDS
    max_sessions: int = DEFAULT_REALTIME_MAX_SESSIONS

    def __post_init__(self) -> None:
        for name in ("session_seconds", "idle_seconds"):
            value: float = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"{name} must be 0 (none) or more, not {value}")
        for name in ("max_frame_bytes", "max_sessions"):
            count: int = getattr(self, name)
            if count < 1:
                raise ConfigurationError(f"{name} must be 1 or more, not {count}")


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """One client-facing model name and the engine that serves it.

    The upstream limits left ``None`` are the server's (:attr:`ServerSettings.upstream`).
    """

    name: str
    api: UpstreamApi
    upstream_url: str | None = None
    upstream_api_key: str | None = None
    upstream_model: str | None = None
    script: Path | None = None
    connect_timeout: float | None = None
    stall_timeout: float | None = None
    #: ``False``: ask a chat upstream for whole answers (for servers that cannot stream tool
    #: calls); clients are still streamed to.
    upstream_stream: bool = True
    deadline_seconds: float | None = None
    max_connections: int | None = None
    pool_timeout: float | None = None

    def limits(self, server: UpstreamLimits) -> UpstreamLimits:
        """The route's upstream limits: its own where it sets them, else ``server``'s."""
        own = {
            name: value
            for name in UpstreamLimits.__dataclass_fields__
            if (value := getattr(self, name)) is not None
        }
        try:
            return replace(server, **own)
        except ConfigurationError as exc:
            raise ConfigurationError(f"model {self.name!r}: {exc}") from exc

    def __post_init__(self) -> None:
        if self.api not in UPSTREAM_APIS:
            raise ConfigurationError(
                f"model {self.name!r}: upstream_api must be one of {', '.join(UPSTREAM_APIS)}"
            )
        if self.api == "scripted" and self.script is None:
            raise ConfigurationError(f"model {self.name!r}: the scripted engine needs a script")
        if self.api != "scripted" and not self.upstream_url:
            raise ConfigurationError(f"model {self.name!r}: pass --upstream-url for {self.api}")
        if not self.upstream_stream and self.api != "chat":
            raise ConfigurationError(
                f"model {self.name!r}: upstream_stream = false needs upstream_api chat"
            )


@dataclass(frozen=True, slots=True)
class UpstreamDiscovery:
    """An upstream whose own models are served under their own names.

    Its ``GET {upstream_url}/models`` is listed at start-up, and listed again when a client
    names a model not known yet or lists the models, at most once every ``refresh_seconds``
    (so a client repeating an unknown name cannot turn into a flood of listings).
    """

    api: UpstreamApi
    upstream_url: str
    upstream_api_key: str | None = None
    refresh_seconds: float = DEFAULT_MODEL_REFRESH_SECONDS
    upstream_stream: bool = True  # as in ModelRoute

    def __post_init__(self) -> None:
        if self.api not in ("chat", "harmony"):
            raise ConfigurationError(
                f"only chat and harmony upstreams list their models, not {self.api!r}: "
                "pass --model NAME"
            )
        if not self.upstream_url:
            raise ConfigurationError("model discovery needs --upstream-url")
        if not math.isfinite(self.refresh_seconds) or self.refresh_seconds < 0:
            raise ConfigurationError(
                f"model_refresh_seconds must be 0 or more, not {self.refresh_seconds}"
            )


@dataclass(frozen=True, slots=True)
class SpeechConfig:
    """Voice on ``/v1/realtime``: on or off, and where speech is transcribed and made.

    ``stt_url`` / ``tts_url`` name OpenAI-compatible audio servers (``POST
    {url}/audio/transcriptions``, ``POST {url}/audio/speech``); without them the local engines of
    the ``speech`` extra run in the server (PocketSphinx, eSpeak NG). Voice activity detection is
    always local (WebRTC VAD). Enabled but with neither URLs nor the extra installed, the server
    starts text-only and says so.
    """

    enabled: bool = True
    stt_url: str | None = None
    tts_url: str | None = None


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything the server needs; immutable once built."""

    models: tuple[ModelRoute, ...]
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    store: str | None = None  # None: a SQLite file under the user's data directory
    api_key: str | None = None
    #: Seconds between SSE keep-alive comments while nothing else is sent; 0: none at all.
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS
    store_limits: StoreLimits = field(default_factory=StoreLimits)
    max_tool_loops: int = DEFAULT_MAX_TOOL_LOOPS
    mcp_servers: tuple[McpServerConfig, ...] = ()
    code_interpreter: bool = True
    sandbox_limits: SandboxLimits = field(default_factory=SandboxLimits)
    #: The sandbox's layers; ``required`` ones missing on this host stop the server at start-up.
    sandbox_policy: SandboxPolicy = field(default_factory=SandboxPolicy)
    #: The upstream whose models are served under their own names (next to ``models``).
    discovery: UpstreamDiscovery | None = None
    log_level: str = DEFAULT_LOG_LEVEL
    #: ``text`` or ``json`` (one object per line, with request, response and session ids).
    log_format: str = "text"
    #: A port serving ``GET /metrics`` alone, without the API key; ``None``: only the main one.
    metrics_port: int | None = None
    #: Browser origins allowed besides the server's own (``"*"``: any); see server.guard.
    allow_origins: tuple[str, ...] = ()
    #: Request bodies above this many bytes are refused with 413 before they are read whole.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Whether ``input_image`` URLs may name loopback, private or link-local addresses.
    allow_private_media_urls: bool = False
    #: Every upstream's timeouts and pool (a route may set its own: :meth:`upstream_limits`).
    upstream: UpstreamLimits = field(default_factory=UpstreamLimits)
    #: Seconds one response may take in all, every turn and tool call included; 0: no limit.
    response_deadline_seconds: float = DEFAULT_RESPONSE_DEADLINE_SECONDS
    #: The bounds of ``/v1/realtime`` connections.
    realtime: RealtimeLimits = field(default_factory=RealtimeLimits)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    #: Worker processes sharing the listening socket; more than one needs a PostgreSQL store.
    workers: int = 1
    extra: dict[str, object] = field(default_factory=dict[str, object])

    def __post_init__(self) -> None:
        if not self.models and self.discovery is None:
            raise ConfigurationError(
                "no model is configured: pass --upstream-url URL (its models are discovered; "
                "--model NAME serves one of them under another name), or --config FILE; "
                "see `antiphon serve --help`"
            )
        names = [route.name for route in self.models]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"model names must be unique, got {names}")
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port must be between 0 and 65535, not {self.port}")
        if not math.isfinite(self.keepalive_seconds) or self.keepalive_seconds < 0:
            raise ConfigurationError(
                f"keepalive_seconds must be 0 (off) or more, not {self.keepalive_seconds}"
            )
        if self.max_tool_loops < 1:
            raise ConfigurationError(f"max_tool_loops must be 1 or more, not {self.max_tool_loops}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigurationError(
                f"log level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        build_registry(self.mcp_servers)  # duplicate labels or URLs fail at start-up
        if self.log_format not in ("text", "json"):
            raise ConfigurationError(f"log format must be text or json, not {self.log_format!r}")
        if self.metrics_port is not None and not 1 <= self.metrics_port <= 65535:
            raise ConfigurationError(
                f"metrics_port must be between 1 and 65535, not {self.metrics_port}"
            )
        if self.max_body_bytes < 1:
            raise ConfigurationError(f"max_body_bytes must be positive, not {self.max_body_bytes}")
        for origin in self.allow_origins:
            if origin != "*":
                normalize_origin(origin)  # raises ConfigurationError naming the bad one
        for route in self.models:
            route.limits(self.upstream)  # a bad per-model limit fails at start-up
        _check_workers(self.workers, self.store)
        deadline = self.response_deadline_seconds
        if not math.isfinite(deadline) or deadline < 0:
            raise ConfigurationError(
                f"response_deadline_seconds must be 0 (none) or more, not {deadline}"
            )

    @property
    def keepalive(self) -> float | None:
        """The SSE keep-alive interval, or ``None`` when keep-alives are off."""
        return self.keepalive_seconds or None

    def upstream_limits(self, route: ModelRoute | None = None) -> UpstreamLimits:
        """The upstream limits of ``route`` (its own over the server's), or the server's."""
        return self.upstream if route is None else route.limits(self.upstream)

    def route(self, name: str) -> ModelRoute | None:
        """The configured route serving ``name``, if any (discovered models are not routes)."""
        return next((route for route in self.models if route.name == name), None)

    def with_port(self, port: int) -> ServerSettings:
        """A copy bound to another port (the CLI resolves port 0 to a real one)."""
        return replace(self, port=port)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """One layer of ``antiphon serve`` settings; a ``None`` field is "not given in this layer".

    The command line, the environment (:meth:`from_environ`) and the config file's ``[server]``
    table each make one; :func:`resolve_settings` merges them.
    """

    host: str | None = None
    port: int | None = None
    store: str | None = None
    api_key: str | None = None
    code_interpreter: bool | None = None
    #: Sandbox protections the server refuses to start without (``[code_interpreter] require``).
    code_interpreter_require: tuple[str, ...] | None = None
    keepalive_seconds: float | None = None
    max_tool_loops: int | None = None
    model_refresh_seconds: float | None = None
    log_level: str | None = None
    log_format: str | None = None
    metrics_port: int | None = None
    upstream_url: str | None = None
    upstream_api: str | None = None
    upstream_api_key: str | None = None
    upstream_stream: bool | None = None
    model: str | None = None
    upstream_model: str | None = None
    script: Path | None = None
    mcp_servers: tuple[McpServerConfig, ...] | None = None
    config: Path | None = None
    allow_origins: tuple[str, ...] | None = None
    max_body_bytes: int | None = None
    allow_private_media_urls: bool | None = None
    upstream_connect_timeout: float | None = None
    upstream_stall_timeout: float | None = None
    upstream_deadline_seconds: float | None = None
    upstream_max_connections: int | None = None
    upstream_pool_timeout: float | None = None
    response_deadline_seconds: float | None = None
    realtime_max_frame_bytes: int | None = None
    realtime_session_seconds: float | None = None
    realtime_idle_seconds: float | None = None
    realtime_max_sessions: int | None = None
    speech: bool | None = None
    stt_url: str | None = None
    tts_url: str | None = None
    workers: int | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ServeOptions:
        """The layer the ``ANTIPHON_*`` variables of :data:`ENVIRONMENT` give (empty: unset)."""

        def get(option: str) -> str | None:
            value = environ.get(ENVIRONMENT[option], "").strip()
            return value or None

        def typed(option: str, parse: Callable[[str], _T], kind: str) -> _T | None:
            text = get(option)
            if text is None:
                return None
            try:
                return parse(text)
            except ValueError as exc:
                raise ConfigurationError(f"{ENVIRONMENT[option]}={text!r} is not {kind}") from exc

        mcp = get("mcp_servers")
        origins = get("allow_origins")
        require = get("code_interpreter_require")
        return cls(
            host=get("host"),
            port=typed("port", int, "an integer"),
            store=get("store"),
            api_key=get("api_key"),
            code_interpreter=typed("code_interpreter", _parse_bool, "true or false"),
            # Several layers: separated by commas or white space.
            code_interpreter_require=tuple(require.replace(",", " ").split()) if require else None,
            keepalive_seconds=typed("keepalive_seconds", float, "a number"),
            max_tool_loops=typed("max_tool_loops", int, "an integer"),
            model_refresh_seconds=typed("model_refresh_seconds", float, "a number"),
            log_level=_opt_lower(get("log_level")),
            log_format=_opt_lower(get("log_format")),
            metrics_port=typed("metrics_port", int, "an integer"),
            upstream_url=get("upstream_url"),
            upstream_api=get("upstream_api"),
            upstream_api_key=get("upstream_api_key"),
            upstream_stream=typed("upstream_stream", _parse_bool, "true or false"),
            model=get("model"),
            upstream_model=get("upstream_model"),
            script=_opt_path(get("script")),
            # One server per line: a stdio command line has spaces of its own.
            mcp_servers=tuple(parse_mcp_server(line) for line in mcp.splitlines() if line.strip())
            if mcp
            else None,
            config=_opt_path(get("config")),
            # Several origins: separated by commas or white space.
            allow_origins=tuple(origins.replace(",", " ").split()) if origins else None,
            max_body_bytes=typed("max_body_bytes", int, "an integer"),
            allow_private_media_urls=typed(
                "allow_private_media_urls", _parse_bool, "true or false"
            ),
            upstream_connect_timeout=typed("upstream_connect_timeout", float, "a number"),
            upstream_stall_timeout=typed("upstream_stall_timeout", float, "a number"),
            upstream_deadline_seconds=typed("upstream_deadline_seconds", float, "a number"),
            upstream_max_connections=typed("upstream_max_connections", int, "an integer"),
            upstream_pool_timeout=typed("upstream_pool_timeout", float, "a number"),
            response_deadline_seconds=typed("response_deadline_seconds", float, "a number"),
            realtime_max_frame_bytes=typed("realtime_max_frame_bytes", int, "an integer"),
            realtime_session_seconds=typed("realtime_session_seconds", float, "a number"),
            realtime_idle_seconds=typed("realtime_idle_seconds", float, "a number"),
            realtime_max_sessions=typed("realtime_max_sessions", int, "an integer"),
            speech=typed("speech", _parse_bool, "true or false"),
            stt_url=get("stt_url"),
            tts_url=get("tts_url"),
            workers=typed("workers", int, "an integer"),
        )


#: The environment variable of each :class:`ServeOptions` field.
ENVIRONMENT: Final[Mapping[str, str]] = {
    name: f"ANTIPHON_{name.upper()}"
    for name in ServeOptions.__dataclass_fields__
    if name not in ("mcp_servers", "allow_origins")
} | {"mcp_servers": "ANTIPHON_MCP_SERVER", "allow_origins": "ANTIPHON_ALLOW_ORIGIN"}

#: The keys of the ``[server]`` table; any other key is a mistake worth reporting
#: (``code_interpreter_require`` is the ``[code_interpreter]`` table's ``require``).
SERVER_KEYS = frozenset(
    {
        "host",
        "port",
        "store",
        "api_key",
        "code_interpreter",
        "keepalive_seconds",
        "max_tool_loops",
        "model_refresh_seconds",
        "log_level",
        "log_format",
        "metrics_port",
        "allow_origins",
        "max_body_bytes",
        "allow_private_media_urls",
        "upstream_connect_timeout",
        "upstream_stall_timeout",
        "upstream_deadline_seconds",
        "upstream_max_connections",
        "upstream_pool_timeout",
        "response_deadline_seconds",
        "realtime_max_frame_bytes",
        "realtime_session_seconds",
        "realtime_idle_seconds",
        "realtime_max_sessions",
        "speech",
        "stt_url",
        "tts_url",
        "workers",
    }
)


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """What a TOML config file holds: ``[server]``, models, MCP servers, sandbox limits.

    ``[code_interpreter] require`` is in :attr:`server` (``code_interpreter_require``): it merges
    with the environment and the flags like any ``[server]`` key.
    """

    server: ServeOptions = field(default_factory=ServeOptions)
    models: list[ModelRoute] = field(default_factory=list[ModelRoute])
    mcp_servers: list[McpServerConfig] = field(default_factory=list[McpServerConfig])
    sandbox_limits: SandboxLimits = field(default_factory=SandboxLimits)
    store_limits: StoreLimits = field(default_factory=StoreLimits)


def resolve_settings(flags: ServeOptions, environ: Mapping[str, str]) -> ServerSettings:
    """Merge the layers into settings: defaults < config file < environment < flags.

    This is the one place settings are merged. ``flags`` holds only what the command line gave
    (``None`` elsewhere), so an explicit flag always wins, even one equal to a default. The
    config file is ``flags.config``, else ``ANTIPHON_CONFIG``. MCP servers merge by label: a
    later layer's server replaces an earlier one's of the same label and adds the others.
    """
    env = ServeOptions.from_environ(environ)
    config = _first(flags.config, env.config)
    loaded = load_config_file(config) if config is not None else ConfigFile()
    file = loaded.server
    routes = list(loaded.models)
    discovery: UpstreamDiscovery | None = None
    # The command line's model: only flags and the environment describe it ([[models]] do in
    # the file), each field on its own.
    upstream_url = _first(flags.upstream_url, env.upstream_url)
    script = _first(flags.script, env.script)
    model = _first(flags.model, env.model)
    upstream_model = _first(flags.upstream_model, env.upstream_model)
    api = _api(_pick("chat", flags.upstream_api, env.upstream_api))
    upstream_api_key = _first(flags.upstream_api_key, env.upstream_api_key)
    upstream_stream = _pick(True, flags.upstream_stream, env.upstream_stream)
    upstream = _upstream_limits(flags, env, file)
    realtime = _realtime_limits(flags, env, file)
    if upstream_url and api != "scripted" and model is None and upstream_model is None:
        discovery = UpstreamDiscovery(
            api,
            upstream_url,
            upstream_api_key,
            refresh_seconds=_pick(
                DEFAULT_MODEL_REFRESH_SECONDS,
                flags.model_refresh_seconds,
                env.model_refresh_seconds,
                file.model_refresh_seconds,
            ),
            upstream_stream=upstream_stream,
        )
    elif upstream_url or script:
        routes.append(
            ModelRoute(
                name=model or upstream_model or "default",
                api=api,
                upstream_url=upstream_url,
                upstream_api_key=upstream_api_key,
                upstream_model=upstream_model,
                script=script,
                upstream_stream=upstream_stream,
            )
        )
    return ServerSettings(
        models=tuple(routes),
        host=_pick(DEFAULT_HOST, flags.host, env.host, file.host),
        port=_pick(DEFAULT_PORT, flags.port, env.port, file.port),
        store=_first(flags.store, env.store, file.store),
        workers=_pick(1, flags.workers, env.workers, file.workers),
        api_key=_first(flags.api_key, env.api_key, file.api_key),
        keepalive_seconds=_pick(
            DEFAULT_KEEPALIVE_SECONDS,
            flags.keepalive_seconds,
            env.keepalive_seconds,
            file.keepalive_seconds,
        ),
        store_limits=loaded.store_limits,
        max_tool_loops=_pick(
            DEFAULT_MAX_TOOL_LOOPS, flags.max_tool_loops, env.max_tool_loops, file.max_tool_loops
        ),
        mcp_servers=_merge_servers(loaded.mcp_servers, env.mcp_servers, flags.mcp_servers),
        code_interpreter=_pick(
            True, flags.code_interpreter, env.code_interpreter, file.code_interpreter
        ),
        sandbox_limits=loaded.sandbox_limits,
        sandbox_policy=_sandbox_policy(
            _pick(
                (),
                flags.code_interpreter_require,
                env.code_interpreter_require,
                file.code_interpreter_require,
            )
        ),
        discovery=discovery,
        log_level=_pick(DEFAULT_LOG_LEVEL, flags.log_level, env.log_level, file.log_level),
        log_format=_pick("text", flags.log_format, env.log_format, file.log_format),
        metrics_port=_first(flags.metrics_port, env.metrics_port, file.metrics_port),
        allow_origins=_pick((), flags.allow_origins, env.allow_origins, file.allow_origins),
        max_body_bytes=_pick(
            DEFAULT_MAX_BODY_BYTES, flags.max_body_bytes, env.max_body_bytes, file.max_body_bytes
        ),
        allow_private_media_urls=_pick(
            False,
            flags.allow_private_media_urls,
            env.allow_private_media_urls,
            file.allow_private_media_urls,
        ),
        upstream=upstream,
        response_deadline_seconds=_pick(
            DEFAULT_RESPONSE_DEADLINE_SECONDS,
            flags.response_deadline_seconds,
            env.response_deadline_seconds,
            file.response_deadline_seconds,
        ),
        realtime=realtime,
        speech=SpeechConfig(
            enabled=_pick(True, flags.speech, env.speech, file.speech),
            stt_url=_first(flags.stt_url, env.stt_url, file.stt_url),
            tts_url=_first(flags.tts_url, env.tts_url, file.tts_url),
        ),
    )


def _upstream_limits(*layers: ServeOptions) -> UpstreamLimits:
    """The server-wide upstream limits of ``layers`` (highest first) over the defaults."""
    given: dict[str, Any] = {}
    for name in UpstreamLimits.__dataclass_fields__:
        value = _first(*(getattr(layer, f"upstream_{name}") for layer in layers))
        if value is not None:
            given[name] = value
    try:
        return UpstreamLimits(**given)
    except ConfigurationError as exc:
        # Its messages start with the field's name; the server-wide option is upstream_NAME.
        raise ConfigurationError(f"upstream_{exc}") from exc


def _realtime_limits(*layers: ServeOptions) -> RealtimeLimits:
    """The ``/v1/realtime`` bounds of ``layers`` (highest first) over the defaults."""
    given: dict[str, Any] = {}
    for name in RealtimeLimits.__dataclass_fields__:
        value = _first(*(getattr(layer, f"realtime_{name}") for layer in layers))
        if value is not None:
            given[name] = value
    try:
        return RealtimeLimits(**given)
    except ConfigurationError as exc:
        # Its messages start with the field's name; the option is realtime_NAME.
        raise ConfigurationError(f"realtime_{exc}") from exc


def _sandbox_policy(required: Sequence[str]) -> SandboxPolicy:
    """The sandbox policy requiring ``required``; an unknown protection name is refused."""
    try:
        return SandboxPolicy(required=frozenset(required))
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"code interpreter require (--code-interpreter-require, "
            f"{ENVIRONMENT['code_interpreter_require']}, [code_interpreter] require): {exc}"
        ) from exc


def _first(*values: _T | None) -> _T | None:
    """The first value given (highest layer first); ``None`` when no layer gives one."""
    return next((value for value in values if value is not None), None)


def _pick(default: _T, *values: _T | None) -> _T:
    """The first value given (highest layer first), else ``default``; 0 and False count."""
    chosen = _first(*values)
    return default if chosen is None else chosen


def _merge_servers(*layers: Sequence[McpServerConfig] | None) -> tuple[McpServerConfig, ...]:
    """MCP servers of the layers (lowest first), a later layer replacing a label it repeats.

    Servers repeated inside one layer are kept, so :func:`build_registry` reports them.
    """
    merged: list[McpServerConfig] = []
    for layer in layers:
        if layer is None:
            continue
        labels = {server.label for server in layer}
        merged = [server for server in merged if server.label not in labels] + list(layer)
    return tuple(merged)


def _api(value: str) -> UpstreamApi:
    if value not in UPSTREAM_APIS:
        raise ConfigurationError(f"--upstream-api must be chat, harmony or scripted, not {value!r}")
    return value


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _opt_path(value: str | None) -> Path | None:
    return None if value is None else Path(value).expanduser()


def _opt_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


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
    sandbox_table = dict(_table(data.get("code_interpreter", {}), f"{path}: [code_interpreter]"))
    require = _require(sandbox_table.pop("require", None), path)
    sandbox = _limits(SandboxLimits, "code_interpreter", sandbox_table)
    store = _limits(StoreLimits, "store", _table(data.get("store", {}), f"{path}: [store]"))
    options = _server_options(cast(dict[str, object], server), path)
    options = replace(options, code_interpreter_require=require)
    return ConfigFile(options, routes, servers, sandbox, store)


def _require(value: object, path: Path) -> tuple[str, ...] | None:
    """``[code_interpreter] require``: a list of protection names (checked when resolved)."""
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in cast(list[object], value)):
        return tuple(cast(list[str], value))
    raise ConfigurationError(
        f"{path}: [code_interpreter] require must be a list of strings, not {value!r}"
    )


def _server_options(table: dict[str, object], path: Path) -> ServeOptions:
    """The ``[server]`` table as a layer, every value checked for its type."""

    def wrong(key: str, kind: str) -> ConfigurationError:
        return ConfigurationError(f"{path}: [server] {key} must be {kind}, not {table[key]!r}")

    def text(key: str) -> str | None:
        value = table.get(key)
        if value is None or isinstance(value, str):
            return value
        raise wrong(key, "a string")

    def integer(key: str) -> int | None:
        value = table.get(key)
        # TOML's true is a bool, which Python also counts as an int: refuse it here.
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise wrong(key, "an integer")

    def number(key: str) -> float | None:
        value = table.get(key)
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return None if value is None else float(value)
        raise wrong(key, "a number")

    def flag(key: str) -> bool | None:
        value = table.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise wrong(key, "true or false")

    def origins(key: str) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in cast(list[object], value)):
            return tuple(cast(list[str], value))
        raise wrong(key, "a list of strings")

    return ServeOptions(
        host=text("host"),
        port=integer("port"),
        store=text("store"),
        api_key=text("api_key"),
        code_interpreter=flag("code_interpreter"),
        keepalive_seconds=number("keepalive_seconds"),
        max_tool_loops=integer("max_tool_loops"),
        model_refresh_seconds=number("model_refresh_seconds"),
        log_level=_opt_lower(text("log_level")),
        log_format=_opt_lower(text("log_format")),
        metrics_port=integer("metrics_port"),
        allow_origins=origins("allow_origins"),
        max_body_bytes=integer("max_body_bytes"),
        allow_private_media_urls=flag("allow_private_media_urls"),
        upstream_connect_timeout=number("upstream_connect_timeout"),
        upstream_stall_timeout=number("upstream_stall_timeout"),
        upstream_deadline_seconds=number("upstream_deadline_seconds"),
        upstream_max_connections=integer("upstream_max_connections"),
        upstream_pool_timeout=number("upstream_pool_timeout"),
        response_deadline_seconds=number("response_deadline_seconds"),
        realtime_max_frame_bytes=integer("realtime_max_frame_bytes"),
        realtime_session_seconds=number("realtime_session_seconds"),
        realtime_idle_seconds=number("realtime_idle_seconds"),
        realtime_max_sessions=integer("realtime_max_sessions"),
        speech=flag("speech"),
        stt_url=text("stt_url"),
        tts_url=text("tts_url"),
        workers=integer("workers"),
    )


def _check_workers(workers: int, store: str | None) -> None:
    """More than one worker shares responses only through PostgreSQL: refuse anything else."""
    if workers < 1:
        raise ConfigurationError(f"workers must be 1 or more, not {workers}")
    if workers > 1 and (store is None or not is_postgres_url(store)):
        kind = "the default SQLite file" if store is None else f"--store {store!r}"
        raise ConfigurationError(
            f"--workers {workers} needs a PostgreSQL store (--store postgresql://USER@HOST/DB): "
            f"{kind} belongs to one process, and the other workers would not see its responses"
        )


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


#: The keys of a ``[[models]]`` entry (a misspelt key is refused, not silently ignored).
_MODEL_KEYS: Final = frozenset(
    {
        "name",
        "upstream_api",
        "upstream_url",
        "upstream_api_key",
        "upstream_model",
        "script",
        "connect_timeout",
        "stall_timeout",
        "upstream_stream",
        "deadline_seconds",
        "max_connections",
        "pool_timeout",
    }
)


def _route_from_table(entry: object, path: Path) -> ModelRoute:
    table = cast(dict[str, object], entry) if isinstance(entry, dict) else {}
    if not isinstance(table.get("name"), str):
        raise ConfigurationError(f"{path}: every [[models]] entry needs a name")
    unknown = sorted(set(table) - _MODEL_KEYS)
    if unknown:
        raise ConfigurationError(
            f"{path}: model {table['name']!r} has unknown keys {unknown}; "
            f"known: {sorted(_MODEL_KEYS)}"
        )
    script = table.get("script")
    try:
        return ModelRoute(
            name=str(table["name"]),
            api=cast(UpstreamApi, table.get("upstream_api", "chat")),
            upstream_url=_opt_str(table.get("upstream_url")),
            upstream_api_key=_opt_str(table.get("upstream_api_key")),
            upstream_model=_opt_str(table.get("upstream_model")),
            script=(path.parent / str(script)) if script is not None else None,
            connect_timeout=_opt_float(table.get("connect_timeout")),
            stall_timeout=_opt_float(table.get("stall_timeout")),
            upstream_stream=_bool_key(table, "upstream_stream", name=str(table["name"])),
            deadline_seconds=_opt_float(table.get("deadline_seconds")),
            max_connections=_opt_int(table.get("max_connections")),
            pool_timeout=_opt_float(table.get("pool_timeout")),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{path}: invalid model entry {table['name']!r}: {exc}") from exc


def _bool_key(table: Mapping[str, object], key: str, *, name: str) -> bool:
    value = table.get(key, True)
    if not isinstance(value, bool):
        raise ConfigurationError(f"model {name!r}: {key} must be true or false, not {value!r}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, not {value!r}")
    return float(value)


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, not {value!r}")
    return value
