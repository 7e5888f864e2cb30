"""The operator's instruments on a real ``antiphon serve``: /metrics after server-side tool calls,
the separate ``--metrics-port``, and ``--log-format json`` lines naming requests and responses.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI
from prometheus_client.parser import text_string_to_metric_families

from antiphon.testing.mcp_servers import stdio_command
from tests.e2e.browser.conftest import PLAYGROUND_SCRIPT
from tests.e2e.support import ServerProcess, write_config
from tests.record.support import realtime_text_turn

pytestmark = pytest.mark.e2e

_KEY = "sk-operator"
_MODEL = "scripted-playground"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _values(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_tool_calls_sandbox_and_json_logs_are_reported(tmp_path: Path) -> None:
    (tmp_path / "playground.json").write_text(json.dumps(PLAYGROUND_SCRIPT), encoding="utf-8")
    command, args = stdio_command()
    config = write_config(
        tmp_path / "antiphon.toml",
        [{"name": _MODEL, "upstream_api": "scripted", "script": "playground.json"}],
        mcp_servers={"calc": {"command": command, "args": args, "timeout": 30.0}},
    )
    metrics_port = _free_port()
    stderr = tmp_path / "stderr.log"
    serve = ["--config", str(config), "--store", "memory", "--api-key", _KEY, "--no-speech"]
    serve += ["--metrics-port", str(metrics_port), "--log-format", "json", "--log-level", "info"]
    with ServerProcess(serve, stderr=stderr) as server:
        headers = {"Authorization": f"Bearer {_KEY}", "X-Request-Id": "req-from-the-test"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as http:
            mcp = {"type": "mcp", "server_label": "calc", "require_approval": "never"}
            added = await http.post(
                "/v1/responses", json={"model": _MODEL, "input": "2 + 3?", "tools": [mcp]}
            )
            code = {"type": "code_interpreter", "container": {"type": "auto"}}
            computed = await http.post(
                "/v1/responses",
                json={"model": _MODEL, "input": "six times seven?", "tools": [code]},
            )
            fetched = await http.get(f"/v1/responses/{added.json()['id']}")
            async with AsyncOpenAI(
                base_url=f"{server.url}/v1", api_key=_KEY, max_retries=0
            ) as client:
                frames = await realtime_text_turn(client, _MODEL, 30.0)
            locked = await http.get("/metrics", headers={"Authorization": ""})
            host, _, _ = server.url.removeprefix("http://").rpartition(":")
            exported = await http.get(
                f"http://{host}:{metrics_port}/metrics", headers={"Authorization": ""}
            )
    assert (added.json()["status"], computed.json()["status"]) == ("completed", "completed")
    assert fetched.headers["x-request-id"] == "req-from-the-test"
    assert (locked.status_code, exported.status_code) == (401, 200)
    got = _values(exported.text)

    def value(name: str, **labels: str) -> float:
        return got.get((name, frozenset(labels.items())), 0.0)

    calls = "antiphon_tool_calls_total"
    assert value(calls, server="calc", tool="add", outcome="ok") == 1
    assert value(calls, server="code_interpreter", tool="python", outcome="ok") == 1
    assert value("antiphon_sandbox_containers") == 1
    assert value("antiphon_responses_total", status="completed") == 2
    done = json.loads(frames[-1])
    assert done["type"] == "response.done"
    assert value("antiphon_realtime_responses_total", status=done["response"]["status"]) == 1
    assert value("antiphon_upstream_call_duration_seconds_count", engine="scripted") == 5
    lines = [json.loads(line) for line in stderr.read_text(encoding="utf-8").splitlines()]
    assert lines, "the server logged nothing at --log-level info"
    assert all({"request_id", "response_id", "session_id"} <= set(line) for line in lines)
    named = [line for line in lines if line["request_id"] == "req-from-the-test"]
    assert any(line["response_id"] == added.json()["id"] for line in named)
