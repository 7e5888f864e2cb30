from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from antiphon.cli import app
from antiphon.server import run as server_run
from antiphon.server.settings import ENVIRONMENT, ServerSettings


def test_serve_without_an_upstream_says_what_to_pass() -> None:
    result = CliRunner().invoke(app, ["serve"], env={})
    assert result.exit_code == 2
    assert "--upstream-url" in result.output
    assert "--config" in result.output


def test_serve_rejects_an_unknown_upstream_api() -> None:
    result = CliRunner().invoke(
        app, ["serve", "--upstream-url", "http://x/v1", "--upstream-api", "grpc"]
    )
    assert result.exit_code == 2
    assert "chat, harmony or scripted" in result.output


def test_serve_reports_an_unreadable_config_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "cannot read config file" in result.output


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[ServerSettings]:
    """The settings ``serve`` would run the server with (it is not started), in a clean env."""
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    runs: list[ServerSettings] = []

    def run(settings: ServerSettings) -> None:
        runs.append(settings)

    monkeypatch.setattr(server_run, "serve", run)
    return runs


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "antiphon.toml"
    path.write_text(
        '[server]\nhost = "0.0.0.0"\nport = 9000\nkeepalive_seconds = 30\n'
        "code_interpreter = false\n"
        '[[models]]\nname = "m"\nupstream_url = "http://u/v1"\n'
    )
    return path


def test_explicit_flags_beat_the_config_file_even_when_they_equal_the_defaults(
    tmp_path: Path, started: list[ServerSettings]
) -> None:
    args = ["serve", "--config", str(_config(tmp_path)), "--port", "8000", "--host", "127.0.0.1"]
    args += ["--keepalive-seconds", "0", "--code-interpreter"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (settings,) = started
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert (settings.keepalive_seconds, settings.code_interpreter) == (0.0, True)


def test_the_config_file_beats_the_defaults_and_the_environment_beats_the_file(
    tmp_path: Path, started: list[ServerSettings]
) -> None:
    config = str(_config(tmp_path))
    from_file = CliRunner().invoke(app, ["serve", "--config", config])
    from_env = CliRunner().invoke(
        app,
        ["serve", "--config", config],
        env={"ANTIPHON_PORT": "8000", "ANTIPHON_KEEPALIVE_SECONDS": "0"},
    )
    assert (from_file.exit_code, from_env.exit_code) == (0, 0)
    file_settings, env_settings = started
    assert (file_settings.port, file_settings.keepalive_seconds) == (9000, 30.0)
    assert (env_settings.port, env_settings.keepalive_seconds) == (8000, 0.0)
    assert env_settings.host == "0.0.0.0"


def test_flags_beat_the_environment(started: list[ServerSettings]) -> None:
    result = CliRunner().invoke(
        app,
        ["serve", "--upstream-url", "http://flag/v1", "--port", "8000", "--log-level", "INFO"],
        env={
            "ANTIPHON_UPSTREAM_URL": "http://env/v1",
            "ANTIPHON_PORT": "9100",
            "ANTIPHON_LOG_LEVEL": "debug",
        },
    )
    assert result.exit_code == 0, result.output
    (settings,) = started
    assert settings.discovery is not None
    assert (settings.discovery.upstream_url, settings.port) == ("http://flag/v1", 8000)
    assert settings.log_level == "info"


def test_an_upstream_url_without_a_model_discovers_the_upstreams_models(
    started: list[ServerSettings],
) -> None:
    result = CliRunner().invoke(app, ["serve", "--upstream-url", "http://localhost:8000/v1"])
    assert result.exit_code == 0, result.output
    (settings,) = started
    assert settings.models == ()
    assert settings.discovery is not None
    assert settings.discovery.upstream_url == "http://localhost:8000/v1"


def test_a_missing_script_is_a_clear_error(tmp_path: Path, started: list[ServerSettings]) -> None:
    missing = tmp_path / "missing.json"
    result = CliRunner().invoke(
        app, ["serve", "--upstream-api", "scripted", "--script", str(missing)]
    )
    assert result.exit_code == 2
    assert "cannot read the script" in result.output
    assert started == []


@pytest.mark.parametrize(
    ("command", "example"),
    [
        ([], "antiphon serve --upstream-url"),
        (["serve"], "antiphon serve --upstream-url http://127.0.0.1:8000/v1"),
        (["demo"], "antiphon demo"),
    ],
    ids=["antiphon", "serve", "demo"],
)
def test_help_is_plain_text_with_an_example(command: list[str], example: str) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "``" not in result.output
    assert ":class:" not in result.output
    assert "Example" in result.output
    assert example in result.output


def test_serve_help_names_every_environment_variable() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    # Variables the command line has no flag for are set in the config file or the environment.
    without_flag = {"ANTIPHON_MAX_TOOL_LOOPS", "ANTIPHON_MODEL_REFRESH_SECONDS"}
    named = {variable for variable in ENVIRONMENT.values() if variable in result.output}
    assert named == set(ENVIRONMENT.values()) - without_flag


def test_required_sandbox_layers_come_from_repeated_flags_over_the_environment(
    started: list[ServerSettings],
) -> None:
    args = ["serve", "--upstream-url", "http://u/v1"]
    flags = ["--code-interpreter-require", "seccomp", "--code-interpreter-require", "rlimits"]
    from_env = CliRunner().invoke(
        app, args, env={"ANTIPHON_CODE_INTERPRETER_REQUIRE": "landlock_filesystem,seccomp"}
    )
    from_flags = CliRunner().invoke(
        app, args + flags, env={"ANTIPHON_CODE_INTERPRETER_REQUIRE": "landlock_filesystem"}
    )
    assert (from_env.exit_code, from_flags.exit_code) == (0, 0), from_env.output
    env_settings, flag_settings = started
    assert env_settings.sandbox_policy.required == {"landlock_filesystem", "seccomp"}
    assert flag_settings.sandbox_policy.required == {"seccomp", "rlimits"}


def test_an_unknown_required_sandbox_layer_is_refused_with_the_known_ones(
    started: list[ServerSettings],
) -> None:
    args = ["serve", "--upstream-url", "http://u/v1", "--code-interpreter-require", "selinux"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "unknown sandbox protections ['selinux']" in result.output
    assert "landlock_filesystem" in result.output
    assert started == []
