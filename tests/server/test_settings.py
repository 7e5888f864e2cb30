from __future__ import annotations

from pathlib import Path

import pytest

from antiphon.exceptions import ConfigurationError
from antiphon.server.settings import ModelRoute, ServerSettings, load_config_file
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
    assert loaded.server == {"store": "memory"}
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
