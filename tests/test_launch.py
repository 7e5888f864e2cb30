from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec

import pytest

from antiphon import _launch


def test_every_server_module_is_installed_in_the_dev_environment() -> None:
    assert _launch.missing_server_modules() == []


def test_without_the_server_extra_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name in ("starlette", "mcp") else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(SystemExit) as exited:
        _launch.main()
    message = str(exited.value.code)
    assert "mcp, starlette not installed" in message
    assert "pip install 'antiphon[server]'" in message


def test_with_the_server_extra_the_command_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["antiphon", "--help"])
    with pytest.raises(SystemExit) as exited:
        _launch.main()
    assert exited.value.code == 0
    assert "serve" in capsys.readouterr().out
