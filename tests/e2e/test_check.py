"""``antiphon check`` as a user runs it: a child process judging a real ``antiphon serve`` over
sockets, for each engine kind the suite runs (scripted, chat and harmony through the stand-in
upstream), and failing each deliberately broken server (antiphon's app behind a middleware that
breaks one rule, served in this test's loop) with that rule.

The chat and harmony models are fed, in the battery's order, the turns a model would answer each
check with (a forced call, a cut at max_output_tokens, a stall for the background run).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from antiphon.engines._http import JSONObject
from antiphon.server.app import create_app
from antiphon.testing.serving import serving
from antiphon.testing.upstream import (
    ToolCallScript,
    UpstreamControl,
    UpstreamProcess,
    chat_chunks,
    completion_chunks,
    turn,
)
from tests.check.breaking import BREAKS, BreakingServer
from tests.check.breaking_realtime import REALTIME_BREAKS, BreakingEvents
from tests.check.support import check_settings, run_check_cli, write_check_script
from tests.e2e.conftest import ToolsServer
from tests.e2e.support import ServerProcess, write_config

# The run's own bound (WITHIN) comes first, so a slow machine gets the report, not a bare timeout.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

#: each check's bound, and the whole run's (11 checks; generous for a loaded machine)
PER_CHECK = 60.0
WITHIN = 300.0
CHECKS = 11
REALTIME_CHECKS = 6


@pytest.fixture(scope="module")
def check_server(
    upstream: UpstreamProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("check")
    script = write_check_script(directory)
    models: list[dict[str, str | float]] = [
        {"name": "scripted-check", "upstream_api": "scripted", "script": str(script)},
        {"name": "chat-check", "upstream_api": "chat", "upstream_url": upstream.base_url},
        {"name": "harmony-check", "upstream_api": "harmony", "upstream_url": upstream.base_url},
    ]
    config = write_config(directory / "check.toml", models)
    store = directory / "responses.sqlite3"
    with ServerProcess(["--config", str(config), "--store", str(store)]) as process:
        yield process


def _pieces(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _chat_turns() -> list[JSONObject]:
    def say(text: str) -> JSONObject:
        return turn(chat_chunks(content=_pieces(text)))

    call = ToolCallScript("get_weather", ['{"city": ', '"Paris"}'], call_id="call_1")
    return [
        say("Hello there."),  # plain text
        say("Hello there."),  # streamed text
        say("Hello there."),  # stream == GET
        turn(chat_chunks(tool_calls=[call], finish_reason="tool_calls")),
        say("It is sunny in Paris."),
        say("OK."),  # previous_response_id
        say("Ada."),
        say("Hi."),  # instructions
        turn(chat_chunks(content=["The sea ", "was"], finish_reason="length")),
        say('{"answer": "yes"}'),  # structured output
        turn(chat_chunks(content=["1\n", "2\n", "3\n"]), stall_after=2),  # background
        say("Hello."),  # store: false
    ]


def _harmony_turns() -> list[JSONObject]:
    def final(text: str) -> str:
        head = "<|channel|>analysis<|message|>Answer.<|end|><|start|>assistant"
        return f"{head}<|channel|>final<|message|>{text}"

    def say(text: str) -> JSONObject:
        return turn(completion_chunks(_pieces(final(text))))

    # A forced tool choice: antiphon writes the call's header itself, the model the arguments.
    call = '{"city": "Paris"}'
    return [
        say("Hello there."),
        say("Hello there."),
        say("Hello there."),
        turn(completion_chunks(_pieces(call))),
        say("It is sunny in Paris."),
        say("OK."),
        say("Ada."),
        say("Hi."),
        turn(completion_chunks(_pieces(final("The sea was")), finish_reason="length")),
        say('{"answer": "yes"}'),
        turn(completion_chunks(_pieces(final("1 2 3 4 5"))), stall_after=2),
        say("Hello."),
    ]


async def _check(url: str, model: str, *extra: str, api: str = "responses") -> tuple[int, str]:
    return await run_check_cli(api, url, model, *extra, per_check=PER_CHECK, within=WITHIN)


def _verdicts(report: str) -> dict[str, str]:
    document = json.loads(report)
    return {row["check"]: row["verdict"] for row in document["checks"]}


async def test_the_scripted_engine_passes_every_check(check_server: ServerProcess) -> None:
    status, report = await _check(check_server.url, "scripted-check", "--json")
    verdicts = _verdicts(report)
    assert len(verdicts) == CHECKS
    assert {name: v for name, v in verdicts.items() if v != "pass"} == {}
    assert status == 0


@pytest.mark.parametrize("kind", ["chat", "harmony"])
async def test_the_upstream_engines_pass_every_check(
    check_server: ServerProcess, control: UpstreamControl, kind: str
) -> None:
    await control.script(f"{kind}-check", _chat_turns() if kind == "chat" else _harmony_turns())
    status, report = await _check(check_server.url, f"{kind}-check", "--json")
    verdicts = _verdicts(report)
    assert {name: v for name, v in verdicts.items() if v != "pass"} == {}, report
    assert len(verdicts) == CHECKS
    assert status == 0


def _chat_realtime_turns() -> list[JSONObject]:
    call = ToolCallScript("get_weather", ['{"city": ', '"Paris"}'], call_id="call_1")
    stalled = turn(chat_chunks(content=["1\n", "2\n", "3\n"]), stall_after=2)
    return [
        turn(chat_chunks(content=_pieces("Hello there."))),  # text turn
        turn(chat_chunks(tool_calls=[call], finish_reason="tool_calls")),  # function call
        turn(chat_chunks(content=_pieces("It is sunny in Paris."))),
        stalled,  # response.create while active
        stalled,  # response.cancel
    ]


async def test_the_realtime_battery_passes_with_the_scripted_engine(
    check_server: ServerProcess,
) -> None:
    status, report = await _check(check_server.url, "scripted-check", "--json", api="realtime")
    verdicts = _verdicts(report)
    assert len(verdicts) == REALTIME_CHECKS
    assert {name: v for name, v in verdicts.items() if v != "pass"} == {}, report
    assert status == 0


async def test_the_realtime_battery_passes_with_the_chat_engine(
    check_server: ServerProcess, control: UpstreamControl
) -> None:
    await control.script("chat-check", _chat_realtime_turns())
    status, report = await _check(check_server.url, "chat-check", "--json", api="realtime")
    verdicts = _verdicts(report)
    assert {name: v for name, v in verdicts.items() if v != "pass"} == {}, report
    assert len(verdicts) == REALTIME_CHECKS
    assert status == 0


async def test_the_table_names_a_failure_and_the_exit_status_is_1(tmp_path: Path) -> None:
    # Nothing listens there: every check fails on the transport, and the table says so.
    status, report = await _check("http://127.0.0.1:9", "any", "--only", "plain text")
    assert status == 1
    assert "plain text" in report
    assert "fail" in report
    assert "ConnectError" in report


async def test_the_mcp_check_passes_against_a_real_mcp_server(tools_server: ToolsServer) -> None:
    # scripted-mcp-http calls weather.get_forecast on the MCP server the config labels "weather".
    status, report = await _check(
        tools_server.process.url,
        "scripted-mcp-http",
        "--json",
        "--mcp-label",
        "weather",
        "--only",
        "mcp call",
    )
    [row] = json.loads(report)["checks"]
    assert (row["check"], row["verdict"]) == ("mcp call", "pass"), row
    assert row["detail"] == "get_forecast: completed"
    assert status == 0


@pytest.mark.parametrize("case", sorted(BREAKS))
async def test_the_cli_fails_a_broken_server_naming_the_rule(tmp_path: Path, case: str) -> None:
    breaks, check, rule = BREAKS[case]
    async with serving(BreakingServer(create_app(check_settings(tmp_path)), breaks)) as url:
        status, report = await _check(url, "checked", "--json", "--only", check)
    [row] = json.loads(report)["checks"]
    assert (row["verdict"], row["violation"]["rule"]) == ("fail", rule), row
    assert status == 1


async def test_the_cli_fails_a_server_answering_a_bad_field_with_500(tmp_path: Path) -> None:
    app = BreakingServer(create_app(check_settings(tmp_path)), fail_bad_field=True)
    async with serving(app) as url:
        status, report = await _check(url, "checked", "--only", "bad field is a 400")
    assert status == 1
    assert "HTTP 500, expected 400" in report


@pytest.mark.parametrize("case", sorted(REALTIME_BREAKS))
async def test_the_cli_fails_a_broken_realtime_server_naming_the_rule(
    tmp_path: Path, case: str
) -> None:
    breaker, check, rule = REALTIME_BREAKS[case]
    async with serving(BreakingEvents(create_app(check_settings(tmp_path)), breaker)) as url:
        status, report = await _check(url, "checked", "--json", "--only", check, api="realtime")
    [row] = json.loads(report)["checks"]
    assert (row["verdict"], row["violation"]["rule"]) == ("fail", rule), row
    assert status == 1
