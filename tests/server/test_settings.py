from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from antiphon.exceptions import ConfigurationError
from antiphon.server.settings import (
    ENVIRONMENT,
    ModelRoute,
    ServeOptions,
    ServerSettings,
    UpstreamDiscovery,
    load_config_file,
    resolve_settings,
)
from antiphon.tools.code_interpreter import SandboxPolicy
from antiphon.tools.code_interpreter.limits import PROTECTIONS
from antiphon.tools.mcp import parse_mcp_server


def test_config_file_routes_models_with_their_timeouts(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(
        '[server]\nstore = "memory"\n[[models]]\nname = "m"\nupstream_url = "http://u/v1"\n'
        'stall_timeout = 0.5\n[[models]]\nname = "s"\nupstream_api = "scripted"\n'
        'script = "s.json"\n[mcp_servers.calc]\nurl = "http://127.0.0.1:9/mcp"\n'
        '[mcp_servers.files]\ncommand = "python"\nargs = ["-m", "files"]\n'
        "[store]\nretention_seconds = 60\n"
    )
    loaded = load_config_file(path)
    assert loaded.server == ServeOptions(store="memory")
    routes = loaded.models
    assert routes[0] == ModelRoute("m", "chat", upstream_url="http://u/v1", stall_timeout=0.5)
    assert routes[1].script == tmp_path / "s.json"
    assert loaded.sandbox_limits.cpu_seconds > 0
    assert loaded.store_limits.retention_seconds == 60.0
    servers = {server.label: server for server in loaded.mcp_servers}
    assert servers["calc"].url == "http://127.0.0.1:9/mcp"
    assert (servers["files"].command, servers["files"].args) == ("python", ("-m", "files"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[models]]\nupstream_url = 'x'\n", "needs a name"),
        ("[[models]]\nname = 'm'\nupstream_api = 'grpc'\nupstream_url = 'x'\n", "one of"),
        ("[[models]]\nname = 'm'\n", "pass --upstream-url"),
        ("[[models]]\nname = 'm'\nupstream_api = 'scripted'\n", "needs a script"),
        ("[[models]]\nname = 'm'\nupstream_url = 'x'\nstall_timeout = 'soon'\n", "invalid"),
        ("models = 3\n", "expected a [server] table"),
        ("not toml [", "cannot read"),
        ("[mcp_servers]\ncalc = 3\n", "must be a table"),
        ("[server]\nkeepalive = 1\n", "unknown [server] keys"),
        ("[code_interpreter]\ncpu = 1\n", "unknown [code_interpreter] keys"),
        ("[code_interpreter]\ncpu_seconds = -1\n", "invalid [code_interpreter]"),
        ("[store]\nretention = 5\n", "unknown [store] keys"),
        ("[store]\nretention_seconds = 0\n", "invalid [store]"),
        ("[server]\nport = '8000'\n", "port must be an integer"),
        ("[server]\nport = true\n", "port must be an integer"),
        ("[server]\nkeepalive_seconds = 'often'\n", "keepalive_seconds must be a number"),
        ("[server]\ncode_interpreter = 1\n", "code_interpreter must be true or false"),
        ("[server]\nhost = 1\n", "host must be a string"),
        ("[code_interpreter]\nrequire = 'seccomp'\n", "require must be a list of strings"),
        ("[mcp_servers.calc]\nurl = 'http://a/mcp'\ncolour = 'red'\n", "colour"),
    ],
)
def test_bad_config_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")):
        load_config_file(path)


def test_settings_need_unique_models_and_find_routes() -> None:
    route = ModelRoute("m", "chat", upstream_url="http://u/v1")
    with pytest.raises(ConfigurationError, match="no model"):
        ServerSettings(models=())
    with pytest.raises(ConfigurationError, match="unique"):
        ServerSettings(models=(route, route))
    server = parse_mcp_server("calc=http://127.0.0.1:9/mcp")
    with pytest.raises(ConfigurationError, match="twice"):
        ServerSettings(models=(route,), mcp_servers=(server, server))
    settings = ServerSettings(models=(route,)).with_port(9)
    assert (settings.port, settings.route("m"), settings.route("x")) == (9, route, None)


# -- precedence: defaults < config file < environment < flags ----------------------------------

UPSTREAM = "http://upstream/v1"
LAYERS = ("default", "file", "env", "flags")


@dataclass(frozen=True)
class Value:
    """One value of a setting, spelled as each layer spells it, and as settings hold it."""

    toml: str
    env: str
    flag: object
    settled: object


@dataclass(frozen=True)
class Setting:
    """A setting under test: two distinct values (``usual`` is the default when there is one)."""

    name: str
    other: Value
    usual: Value
    default: object
    read: Callable[[ServerSettings], object]
    #: Where the config file holds it: ``[table] key`` (default: ``[server] name``).
    toml_key: str | None = None


def _attr(name: str) -> Callable[[ServerSettings], object]:
    return lambda settings: getattr(settings, name)


def _upstream(name: str) -> Callable[[ServerSettings], object]:
    return lambda settings: getattr(settings.upstream, name)


def _realtime(name: str) -> Callable[[ServerSettings], object]:
    return lambda settings: getattr(settings.realtime, name)


def _refresh(settings: ServerSettings) -> object:
    assert settings.discovery is not None
    return settings.discovery.refresh_seconds


SETTINGS = [
    Setting(
        "host",
        Value('"0.0.0.0"', "0.0.0.0", "0.0.0.0", "0.0.0.0"),
        Value('"127.0.0.1"', "127.0.0.1", "127.0.0.1", "127.0.0.1"),
        "127.0.0.1",
        _attr("host"),
    ),
    Setting(
        "port",
        Value("9000", "9000", 9000, 9000),
        Value("8000", "8000", 8000, 8000),
        8000,
        _attr("port"),
    ),
    Setting(
        "store",
        Value('"file.db"', "file.db", "file.db", "file.db"),
        Value('"memory"', "memory", "memory", "memory"),
        None,
        _attr("store"),
    ),
    Setting(
        "api_key",
        Value('"sk-one"', "sk-one", "sk-one", "sk-one"),
        Value('"sk-two"', "sk-two", "sk-two", "sk-two"),
        None,
        _attr("api_key"),
    ),
    Setting(
        "code_interpreter",
        Value("false", "false", False, False),
        Value("true", "true", True, True),
        True,
        _attr("code_interpreter"),
    ),
    Setting(
        "keepalive_seconds",
        Value("0", "0", 0.0, 0.0),
        Value("15", "15", 15.0, 15.0),
        15.0,
        _attr("keepalive_seconds"),
    ),
    Setting(
        "max_tool_loops",
        Value("3", "3", 3, 3),
        Value("16", "16", 16, 16),
        16,
        _attr("max_tool_loops"),
    ),
    Setting(
        "log_level",
        Value('"debug"', "DEBUG", "debug", "debug"),
        Value('"warning"', "warning", "warning", "warning"),
        "warning",
        _attr("log_level"),
    ),
    Setting(
        "model_refresh_seconds",
        Value("0", "0", 0.0, 0.0),
        Value("10", "10", 10.0, 10.0),
        10.0,
        _refresh,
    ),
    Setting(
        "max_body_bytes",
        Value("1024", "1024", 1024, 1024),
        Value("16777216", "16777216", 16777216, 16777216),
        16777216,
        _attr("max_body_bytes"),
    ),
    Setting(
        "allow_private_media_urls",
        Value("true", "true", True, True),
        Value("false", "false", False, False),
        False,
        _attr("allow_private_media_urls"),
    ),
    Setting(
        "allow_origins",
        Value(
            '["https://a.example"]',
            "https://a.example",
            ("https://a.example",),
            ("https://a.example",),
        ),
        Value(
            '["http://b.example:3000", "*"]',
            "http://b.example:3000,*",
            ("http://b.example:3000", "*"),
            ("http://b.example:3000", "*"),
        ),
        (),
        _attr("allow_origins"),
    ),
    Setting(
        "upstream_connect_timeout",
        Value("2.5", "2.5", 2.5, 2.5),
        Value("10", "10", 10.0, 10.0),
        10.0,
        _upstream("connect_timeout"),
    ),
    Setting(
        "upstream_stall_timeout",
        Value("60", "60", 60.0, 60.0),
        Value("120", "120", 120.0, 120.0),
        120.0,
        _upstream("stall_timeout"),
    ),
    Setting(
        "upstream_deadline_seconds",
        Value("0", "0", 0.0, 0.0),
        Value("600", "600", 600.0, 600.0),
        600.0,
        _upstream("deadline_seconds"),
    ),
    Setting(
        "upstream_max_connections",
        Value("8", "8", 8, 8),
        Value("1000", "1000", 1000, 1000),
        1000,
        _upstream("max_connections"),
    ),
    Setting(
        "upstream_pool_timeout",
        Value("0.5", "0.5", 0.5, 0.5),
        Value("30", "30", 30.0, 30.0),
        30.0,
        _upstream("pool_timeout"),
    ),
    Setting(
        "response_deadline_seconds",
        Value("90", "90", 90.0, 90.0),
        Value("1800", "1800", 1800.0, 1800.0),
        1800.0,
        _attr("response_deadline_seconds"),
    ),
    Setting(
        "realtime_max_frame_bytes",
        Value("1024", "1024", 1024, 1024),
        Value("4194304", "4194304", 4194304, 4194304),
        4194304,
        _realtime("max_frame_bytes"),
    ),
    Setting(
        "realtime_session_seconds",
        Value("0.5", "0.5", 0.5, 0.5),
        Value("3600", "3600", 3600.0, 3600.0),
        3600.0,
        _realtime("session_seconds"),
    ),
    Setting(
        "realtime_idle_seconds",
        Value("0", "0", 0.0, 0.0),
        Value("600", "600", 600.0, 600.0),
        600.0,
        _realtime("idle_seconds"),
    ),
    Setting(
        "realtime_max_sessions",
        Value("2", "2", 2, 2),
        Value("100", "100", 100, 100),
        100,
        _realtime("max_sessions"),
    ),
    Setting(
        "speech",
        Value("false", "false", False, False),
        Value("true", "true", True, True),
        True,
        lambda settings: settings.speech.enabled,
    ),
    Setting(
        "stt_url",
        Value(
            '"http://stt.example/v1"',
            "http://stt.example/v1",
            "http://stt.example/v1",
            "http://stt.example/v1",
        ),
        Value(
            '"http://other.example/v1"',
            "http://other.example/v1",
            "http://other.example/v1",
            "http://other.example/v1",
        ),
        None,
        lambda settings: settings.speech.stt_url,
    ),
    Setting(
        "tts_url",
        Value(
            '"http://tts.example/v1"',
            "http://tts.example/v1",
            "http://tts.example/v1",
            "http://tts.example/v1",
        ),
        Value(
            '"http://other.example/v1"',
            "http://other.example/v1",
            "http://other.example/v1",
            "http://other.example/v1",
        ),
        None,
        lambda settings: settings.speech.tts_url,
    ),
    Setting(
        "code_interpreter_require",
        Value(
            '["seccomp", "landlock_filesystem"]',
            "seccomp,landlock_filesystem",
            ("seccomp", "landlock_filesystem"),
            frozenset({"seccomp", "landlock_filesystem"}),
        ),
        Value('["rlimits"]', "rlimits", ("rlimits",), frozenset({"rlimits"})),
        frozenset[str](),
        lambda settings: settings.sandbox_policy.required,
        toml_key="[code_interpreter]\nrequire",
    ),
]


def _resolve(tmp_path: Path, setting: Setting, given: dict[str, Value]) -> ServerSettings:
    """Settings with ``setting`` given in the layers named in ``given`` (and nowhere else)."""
    config = tmp_path / "antiphon.toml"
    value = given.get("file")
    key = setting.toml_key or f"[server]\n{setting.name}"
    config.write_text(f"{key} = {value.toml}\n" if value else "")
    environ = {ENVIRONMENT[setting.name]: given["env"].env} if "env" in given else {}
    flags: dict[str, object] = {"config": config, "upstream_url": UPSTREAM}
    if "flags" in given:
        flags[setting.name] = given["flags"].flag
    return resolve_settings(ServeOptions(**flags), environ)  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_a_setting_given_nowhere_is_its_default(tmp_path: Path, setting: Setting) -> None:
    assert setting.read(_resolve(tmp_path, setting, {})) == setting.default


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
@pytest.mark.parametrize("layer", LAYERS[1:])
@pytest.mark.parametrize("which", ["other", "usual"])
def test_any_layer_beats_the_default(
    tmp_path: Path, setting: Setting, layer: str, which: str
) -> None:
    value: Value = getattr(setting, which)
    assert setting.read(_resolve(tmp_path, setting, {layer: value})) == value.settled


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
@pytest.mark.parametrize(
    ("low", "high"), [(a, b) for i, a in enumerate(LAYERS[1:], 1) for b in LAYERS[i + 1 :]]
)
@pytest.mark.parametrize(
    "high_is_usual", [True, False], ids=["high-restates-default", "high-differs"]
)
def test_the_higher_layer_wins_even_when_it_restates_the_default(
    tmp_path: Path, setting: Setting, low: str, high: str, high_is_usual: bool
) -> None:
    high_value, low_value = (
        (setting.usual, setting.other) if high_is_usual else (setting.other, setting.usual)
    )
    settings = _resolve(tmp_path, setting, {low: low_value, high: high_value})
    assert setting.read(settings) == high_value.settled


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_flags_beat_the_environment_and_the_file_together(tmp_path: Path, setting: Setting) -> None:
    given = {"file": setting.other, "env": setting.other, "flags": setting.usual}
    assert setting.read(_resolve(tmp_path, setting, given)) == setting.usual.settled


def test_the_config_flag_beats_the_config_variable(tmp_path: Path) -> None:
    (tmp_path / "flag.toml").write_text("[server]\nport = 1111\n")
    (tmp_path / "env.toml").write_text("[server]\nport = 2222\n")
    environ = {"ANTIPHON_CONFIG": str(tmp_path / "env.toml")}
    from_env = resolve_settings(ServeOptions(upstream_url=UPSTREAM), environ)
    from_flag = resolve_settings(
        ServeOptions(upstream_url=UPSTREAM, config=tmp_path / "flag.toml"), environ
    )
    assert (from_env.port, from_flag.port) == (2222, 1111)


def test_the_command_line_model_merges_environment_and_flags_field_by_field() -> None:
    environ = {
        "ANTIPHON_UPSTREAM_URL": UPSTREAM,
        "ANTIPHON_MODEL": "env-name",
        "ANTIPHON_UPSTREAM_MODEL": "org/real",
        "ANTIPHON_UPSTREAM_API": "harmony",
        "ANTIPHON_UPSTREAM_API_KEY": "sk-env",
    }
    settings = resolve_settings(ServeOptions(model="flag-name", upstream_api="chat"), environ)
    assert settings.models == (
        ModelRoute(
            "flag-name", "chat", UPSTREAM, upstream_api_key="sk-env", upstream_model="org/real"
        ),
    )
    assert settings.discovery is None


def test_mcp_servers_merge_by_label_with_the_higher_layer_winning(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text(
        '[mcp_servers.calc]\nurl = "http://file/calc"\n[mcp_servers.docs]\nurl = "http://file/docs"\n'
    )
    environ = {
        "ANTIPHON_MCP_SERVER": "calc=http://env/calc\nfiles=stdio:python -m files\n",
    }
    flags = ServeOptions(
        upstream_url=UPSTREAM,
        config=config,
        mcp_servers=(parse_mcp_server("calc=http://flag/calc"),),
    )
    servers = {server.label: server for server in resolve_settings(flags, environ).mcp_servers}
    assert set(servers) == {"calc", "docs", "files"}
    assert (servers["calc"].url, servers["docs"].url) == ("http://flag/calc", "http://file/docs")
    assert (servers["files"].command, servers["files"].args) == ("python", ("-m", "files"))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ANTIPHON_PORT": "eighty"}, "ANTIPHON_PORT='eighty' is not an integer"),
        ({"ANTIPHON_CODE_INTERPRETER": "maybe"}, "ANTIPHON_CODE_INTERPRETER='maybe' is not true"),
        ({"ANTIPHON_KEEPALIVE_SECONDS": "soon"}, "ANTIPHON_KEEPALIVE_SECONDS='soon' is not a num"),
        ({"ANTIPHON_LOG_LEVEL": "loud"}, "log level must be one of"),
        ({"ANTIPHON_UPSTREAM_API": "grpc"}, "chat, harmony or scripted"),
        ({"ANTIPHON_KEEPALIVE_SECONDS": "-1"}, "keepalive_seconds must be 0"),
        ({"ANTIPHON_PORT": "70000"}, "port must be between"),
        ({"ANTIPHON_MODEL_REFRESH_SECONDS": "-5"}, "model_refresh_seconds must be 0"),
        (
            {"ANTIPHON_CODE_INTERPRETER_REQUIRE": "seccomp, selinux"},
            "ANTIPHON_CODE_INTERPRETER_REQUIRE, [code_interpreter] require): unknown sandbox "
            "protections ['selinux']; known: audit_hook, landlock_filesystem,",
        ),
    ],
)
def test_bad_environment_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        resolve_settings(ServeOptions(upstream_url=UPSTREAM), environ)


def test_empty_environment_variables_count_as_unset() -> None:
    settings = resolve_settings(
        ServeOptions(upstream_url=UPSTREAM), {"ANTIPHON_PORT": "", "ANTIPHON_HOST": "  "}
    )
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


# -- which models the command line serves ------------------------------------------------------


def test_an_upstream_without_a_model_name_is_discovered() -> None:
    settings = resolve_settings(
        ServeOptions(upstream_url=UPSTREAM, upstream_api="harmony", upstream_api_key="sk"), {}
    )
    assert settings.models == ()
    assert settings.discovery == UpstreamDiscovery("harmony", UPSTREAM, "sk")


@pytest.mark.parametrize(
    ("flags", "route"),
    [
        (ServeOptions(upstream_url=UPSTREAM, model="m"), ModelRoute("m", "chat", UPSTREAM)),
        (
            ServeOptions(upstream_url=UPSTREAM, upstream_model="org/m"),
            ModelRoute("org/m", "chat", UPSTREAM, upstream_model="org/m"),
        ),
        (
            ServeOptions(upstream_api="scripted", script=Path("s.json")),
            ModelRoute("default", "scripted", script=Path("s.json")),
        ),
    ],
)
def test_a_named_or_scripted_model_is_one_route(flags: ServeOptions, route: ModelRoute) -> None:
    settings = resolve_settings(flags, {})
    assert (settings.models, settings.discovery) == ((route,), None)


def test_discovery_serves_next_to_the_config_files_models(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text('[[models]]\nname = "pinned"\nupstream_url = "http://other/v1"\n')
    settings = resolve_settings(ServeOptions(upstream_url=UPSTREAM, config=config), {})
    assert [route.name for route in settings.models] == ["pinned"]
    assert settings.discovery is not None


def test_discovery_needs_an_upstream_that_lists_models() -> None:
    with pytest.raises(ConfigurationError, match="pass --model"):
        UpstreamDiscovery("scripted", UPSTREAM)


def test_keepalive_zero_turns_keepalives_off() -> None:
    route = ModelRoute("m", "chat", upstream_url=UPSTREAM)
    assert ServerSettings(models=(route,), keepalive_seconds=0).keepalive is None
    assert ServerSettings(models=(route,), keepalive_seconds=2.5).keepalive == 2.5


# -- upstream_stream: chat servers that cannot stream tool calls --------------------------------


def test_a_model_entry_can_ask_its_upstream_for_whole_answers(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text(
        '[[models]]\nname = "llama"\nupstream_url = "http://l/v1"\nupstream_stream = false\n'
        '[[models]]\nname = "vllm"\nupstream_url = "http://v/v1"\n'
    )
    settings = resolve_settings(ServeOptions(config=config), {})
    assert [(r.name, r.upstream_stream) for r in settings.models] == [
        ("llama", False),
        ("vllm", True),
    ]


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        (None, {}, True),
        (None, {"ANTIPHON_UPSTREAM_STREAM": "false"}, False),
        (True, {"ANTIPHON_UPSTREAM_STREAM": "false"}, True),
        (False, {"ANTIPHON_UPSTREAM_STREAM": "true"}, False),
    ],
)
def test_the_command_lines_upstream_stream_follows_flags_over_environment(
    flag: bool | None, environ: dict[str, str], expected: bool
) -> None:
    named = resolve_settings(
        ServeOptions(upstream_url=UPSTREAM, model="m", upstream_stream=flag), environ
    )
    assert named.models[0].upstream_stream is expected
    discovered = resolve_settings(
        ServeOptions(upstream_url=UPSTREAM, upstream_stream=flag), environ
    )
    assert discovered.discovery is not None
    assert discovered.discovery.upstream_stream is expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("upstream_streaming = false", "unknown keys ['upstream_streaming']"),
        ('upstream_stream = "no"', "upstream_stream must be true or false"),
        ('upstream_stream = false\nupstream_api = "harmony"', "needs upstream_api chat"),
    ],
)
def test_bad_model_entries_name_the_key(tmp_path: Path, entry: str, message: str) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text(f'[[models]]\nname = "m"\nupstream_url = "http://l/v1"\n{entry}\n')
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        resolve_settings(ServeOptions(config=config), {})


def test_a_models_own_upstream_limits_beat_the_servers(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text(
        "[server]\nupstream_stall_timeout = 30\nupstream_max_connections = 50\n"
        "[[models]]\nname = 'own'\nupstream_url = 'http://u/v1'\nstall_timeout = 300\n"
        "deadline_seconds = 60\nmax_connections = 4\npool_timeout = 2\n"
        "[[models]]\nname = 'shared'\nupstream_url = 'http://u/v1'\n"
    )
    environ = {"ANTIPHON_UPSTREAM_CONNECT_TIMEOUT": "3"}
    settings = resolve_settings(ServeOptions(config=config, upstream_pool_timeout=7), environ)
    own, shared = (settings.upstream_limits(route) for route in settings.models)
    assert (own.connect_timeout, own.stall_timeout, own.deadline_seconds) == (3.0, 300.0, 60.0)
    assert (own.max_connections, own.pool_timeout) == (4, 2.0)
    assert (shared.stall_timeout, shared.max_connections, shared.pool_timeout) == (30.0, 50, 7.0)
    assert shared.deadline_seconds == 600.0


@pytest.mark.parametrize(
    ("server", "model", "message"),
    [
        ("upstream_stall_timeout = 0", "", "upstream_stall_timeout must be a number of seconds"),
        ("upstream_max_connections = 0", "", "upstream_max_connections must be 1 or more"),
        ("upstream_deadline_seconds = -1", "", "upstream_deadline_seconds must be 0"),
        ("response_deadline_seconds = -1", "", "response_deadline_seconds must be 0"),
        ("upstream_pool_timeout = 'soon'", "", "upstream_pool_timeout must be a number"),
        ("realtime_idle_seconds = -1", "", "realtime_idle_seconds must be 0 (none) or more"),
        ("realtime_max_sessions = 0", "", "realtime_max_sessions must be 1 or more"),
        ("realtime_max_frame_bytes = 0", "", "realtime_max_frame_bytes must be 1 or more"),
        ("realtime_session_seconds = 'long'", "", "realtime_session_seconds must be a number"),
        ("", "pool_timeout = -1", "model 'm': pool_timeout must be a number of seconds"),
        ("", "max_connections = 1.5", "invalid model entry 'm'"),
    ],
)
def test_bad_upstream_limits_name_the_limit(
    tmp_path: Path, server: str, model: str, message: str
) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text(
        f"[server]\n{server}\n[[models]]\nname = 'm'\nupstream_url = 'http://u/v1'\n{model}\n"
    )
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        resolve_settings(ServeOptions(config=config), {})


# -- required sandbox protections ----------------------------------------------------------------


def test_required_sandbox_protections_sit_beside_the_sandbox_limits(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text("[code_interpreter]\ncpu_seconds = 3\nrequire = ['seccomp', 'rlimits']\n")
    settings = resolve_settings(ServeOptions(upstream_url=UPSTREAM, config=path), {})
    assert settings.sandbox_limits.cpu_seconds == 3
    assert settings.sandbox_policy.required == {"seccomp", "rlimits"}
    assert settings.sandbox_policy == SandboxPolicy(required=frozenset({"seccomp", "rlimits"}))


@pytest.mark.parametrize("layer", ["file", "flags"])
def test_an_unknown_required_protection_lists_the_known_ones(tmp_path: Path, layer: str) -> None:
    path = tmp_path / "a.toml"
    path.write_text(
        "[code_interpreter]\nrequire = ['seccomp', 'apparmor']\n" if layer == "file" else ""
    )
    flags = ServeOptions(upstream_url=UPSTREAM, config=path)
    if layer == "flags":
        flags = ServeOptions(
            upstream_url=UPSTREAM, config=path, code_interpreter_require=("apparmor",)
        )
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings(flags, {})
    message = str(caught.value)
    assert "unknown sandbox protections ['apparmor']" in message
    assert all(name in message for name in PROTECTIONS)


@pytest.mark.parametrize("store", [None, "file.db", "sqlite:///tmp/x.db", "memory"])
def test_several_workers_without_postgresql_are_refused_naming_it(store: str | None) -> None:
    flags = ServeOptions(upstream_url=UPSTREAM, store=store, workers=2)
    with pytest.raises(ConfigurationError, match=r"--workers 2 needs a PostgreSQL store"):
        resolve_settings(flags, {})


def test_workers_come_from_every_layer_and_need_at_least_one(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text('[server]\nworkers = 3\nstore = "postgresql://db/antiphon"\n')
    flags = ServeOptions(upstream_url=UPSTREAM, config=config)
    assert resolve_settings(flags, {}).workers == 3
    assert resolve_settings(flags, {"ANTIPHON_WORKERS": "4"}).workers == 4
    assert resolve_settings(ServeOptions(upstream_url=UPSTREAM), {}).workers == 1
    with pytest.raises(ConfigurationError, match="workers must be 1 or more"):
        resolve_settings(ServeOptions(upstream_url=UPSTREAM, workers=0), {})
