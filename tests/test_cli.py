from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from antiphon.cli import app


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
