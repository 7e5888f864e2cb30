"""``--log-format`` and ``--metrics-port``: layered like every setting; the JSON lines."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from antiphon.exceptions import ConfigurationError
from antiphon.server.logs import JsonFormatter, LogContext, log_context
from antiphon.server.settings import ServeOptions, resolve_settings

UPSTREAM = "http://127.0.0.1:9/v1"


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text('[server]\nlog_format = "json"\nmetrics_port = 9100\n', encoding="utf-8")
    from_file = resolve_settings(ServeOptions(upstream_url=UPSTREAM, config=config), {})
    environ = {"ANTIPHON_METRICS_PORT": "9200", "ANTIPHON_LOG_FORMAT": "TEXT"}
    from_env = resolve_settings(ServeOptions(upstream_url=UPSTREAM, config=config), environ)
    flags = ServeOptions(upstream_url=UPSTREAM, config=config, metrics_port=9300, log_format="json")
    from_flags = resolve_settings(flags, environ)
    defaults = resolve_settings(ServeOptions(upstream_url=UPSTREAM), {})
    assert (from_file.log_format, from_file.metrics_port) == ("json", 9100)
    assert (from_env.log_format, from_env.metrics_port) == ("text", 9200)
    assert (from_flags.log_format, from_flags.metrics_port) == ("json", 9300)
    assert (defaults.log_format, defaults.metrics_port) == ("text", None)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (ServeOptions(upstream_url=UPSTREAM, log_format="xml"), "log format must be text or json"),
        (ServeOptions(upstream_url=UPSTREAM, metrics_port=0), "metrics_port must be between 1"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(flags: ServeOptions, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_settings(flags, {})


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("antiphon.test", logging.WARNING, __file__, 1, message, (), None)


def test_a_json_line_names_the_request_session_and_response() -> None:
    formatter = JsonFormatter()
    outside = json.loads(formatter.format(_record("outside")))
    token = log_context.set(LogContext("req_1", response_id="resp_1", session_id="sess_1"))
    try:
        inside = json.loads(formatter.format(_record("inside a request")))
    finally:
        log_context.reset(token)
    assert (outside["request_id"], outside["response_id"], outside["session_id"]) == (None,) * 3
    assert (outside["level"], outside["logger"]) == ("warning", "antiphon.test")
    assert inside["message"] == "inside a request"
    assert (inside["request_id"], inside["response_id"], inside["session_id"]) == (
        "req_1",
        "resp_1",
        "sess_1",
    )


async def test_a_runs_task_name_gives_its_lines_the_response_id() -> None:
    formatter = JsonFormatter()

    async def run() -> str:
        return formatter.format(_record("from the run"))

    line = await asyncio.create_task(run(), name="response resp_abc")
    assert json.loads(line)["response_id"] == "resp_abc"
