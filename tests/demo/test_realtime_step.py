"""Step 4 of the demo fails, and says why, when the realtime conversation goes wrong."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest
from rich.console import Console

from antiphon.demo.realtime_step import QUESTION, forecast, run_realtime_step
from tests.e2e.support import ServerProcess, write_config

pytestmark = pytest.mark.e2e


def _call(name: str, arguments: str) -> dict[str, str]:
    return {"kind": "tool_call", "name": f"functions.{name}", "text": arguments}


def _answer(text: str) -> dict[str, str]:
    return {"kind": "message", "text": text}


#: The model answers at once, as the demo's final answer would read: no handoff, no tool.
NO_HANDOFF = {"turns": [{"items": [_answer("No rain in Marseille tomorrow.")]}]}
#: The handoff happens, but the tool gets other arguments than the demo expects.
WRONG_ARGUMENTS = {
    "turns": [
        {"items": [_call("transfer_to_forecaster", "{}")]},
        {"items": [_call("get_forecast", '{"city": "Paris", "day": "today"}')]},
        {"items": [_answer("No rain in Marseille tomorrow.")]},
    ]
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("demo-realtime")
    models: list[dict[str, str | float]] = []
    for name, script in (("no-handoff", NO_HANDOFF), ("wrong-arguments", WRONG_ARGUMENTS)):
        (directory / f"{name}.json").write_text(json.dumps(script), encoding="utf-8")
        models.append({"name": name, "upstream_api": "scripted", "script": f"{name}.json"})
    config = write_config(directory / "antiphon.toml", models)
    with ServerProcess(["--config", str(config), "--store", "memory"]) as process:
        yield process


def _run(base_url: str, model: str) -> tuple[bool, str]:
    out = io.StringIO()
    passed = run_realtime_step(Console(file=out, width=200), base_url, model)
    return passed, out.getvalue()


def test_an_answer_without_the_handoff_and_the_tool_fails_the_step(server: ServerProcess) -> None:
    passed, shown = _run(server.url, "no-handoff")
    assert not passed
    assert QUESTION in shown  # the conversation did run, and was shown
    assert "expected one handoff concierge -> forecaster, got []" in shown
    assert "expected get_forecast to run with" in shown
    assert "final answer" not in shown


def test_a_tool_run_with_other_arguments_fails_the_step(server: ServerProcess) -> None:
    passed, shown = _run(server.url, "wrong-arguments")
    assert not passed
    assert "concierge -> forecaster" in shown  # the handoff itself checked out
    assert "got [{'city': 'Paris', 'day': 'today'}]" in shown
    assert "expected the model to get get_forecast's output" in shown


def test_an_unreachable_server_fails_the_step_without_a_traceback() -> None:
    # A port that was free a moment ago and has no listener: connecting to it is refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    passed, shown = _run(f"http://127.0.0.1:{port}", "any")
    assert not passed
    assert "TransportError" in shown
    assert "Traceback" not in shown


def test_the_forecast_tool_answers_json_for_the_model() -> None:
    assert json.loads(forecast("Lyon", "today"))["city"] == "Lyon"
