"""``antiphon check responses`` against antiphon's own app, then against broken copies of it.

The app runs in this process on a loopback socket (uvicorn), its model the scripted engine
playing :data:`tests.check.support.CHECK_SCRIPT`. Each broken server is that app behind
:class:`~tests.check.breaking.BreakingServer`, which breaks one rule: the battery must fail
the check that sees it and name the rule and the first offending event.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from antiphon.check.outcome import CheckResult
from antiphon.check.report import exit_status, render_json, render_table
from antiphon.check.runner import run_responses_checks
from antiphon.server.app import create_app
from tests.check.breaking import BREAKS, BreakingServer, Payloads
from tests.check.support import check_settings
from tests.server.support import serving

ALL_CHECKS = {
    "plain text",
    "streamed text",
    "stream == GET",
    "function call",
    "previous_response_id",
    "instructions",
    "max_output_tokens",
    "structured output",
    "background, cancel, resume",
    "store: false",
    "bad field is a 400",
}


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    async with serving(create_app(check_settings(tmp_path))) as url:
        yield f"{url}/v1/"


async def _run(base_url: str, only: list[str] | None = None) -> list[CheckResult]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        return await run_responses_checks(http, "checked", seconds=30, only=only)


@contextlib.asynccontextmanager
async def _broken(
    tmp_path: Path,
    breaks: Callable[[Payloads], None] | None = None,
    *,
    fail_bad_field: bool = False,
) -> AsyncGenerator[str]:
    app = BreakingServer(
        create_app(check_settings(tmp_path)), breaks, fail_bad_field=fail_bad_field
    )
    async with serving(app) as url:
        yield f"{url}/v1/"


async def test_antiphon_passes_every_check(base_url: str) -> None:
    results = await _run(base_url)
    assert {r.name for r in results} == ALL_CHECKS
    assert [(r.name, r.verdict) for r in results if r.verdict != "pass"] == []
    assert exit_status(results) == 0


@pytest.mark.parametrize("case", sorted(BREAKS))
async def test_a_broken_stream_fails_with_its_rule(tmp_path: Path, case: str) -> None:
    breaks, check, rule = BREAKS[case]
    async with _broken(tmp_path, breaks) as url:
        results = await _run(url, only=[check])
    [result] = results
    assert result.verdict == "fail"
    assert result.violation is not None
    assert result.violation.rule == rule
    assert result.violation.index is not None
    assert result.violation.event is not None
    assert exit_status(results) == 1


async def test_a_500_for_a_bad_field_fails(tmp_path: Path) -> None:
    async with _broken(tmp_path, fail_bad_field=True) as url:
        [result] = await _run(url, only=["bad field is a 400"])
    assert (result.verdict, result.detail) == ("fail", "temperature='hot': HTTP 500, expected 400")


async def test_a_refused_feature_is_not_supported(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        error = {
            "message": "background is not supported",
            "type": "invalid_request_error",
            "param": "background",
            "code": None,
        }
        return httpx.Response(400, json={"error": error})

    async with httpx.AsyncClient(
        base_url="http://server.invalid/v1/", transport=httpx.MockTransport(refuse)
    ) as http:
        results = await run_responses_checks(http, "m", only=["background, cancel, resume"])
    assert [(r.verdict, r.detail) for r in results] == [
        ("not supported", "background: HTTP 400: background is not supported")
    ]
    assert exit_status(results) == 0


async def test_a_feature_the_upstream_fails_with_a_message_is_not_supported(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        results = await run_responses_checks(
            http, "refusing", only=["structured output", "plain text"]
        )
    verdicts = {r.name: (r.verdict, r.detail) for r in results}
    # A feature's response.failed with its message: the server said it cannot; plain text
    # failing the same way is a failure.
    assert verdicts["structured output"][0] == "not supported"
    assert "json_schema is not supported" in verdicts["structured output"][1]
    assert verdicts["plain text"][0] == "fail"
    assert exit_status(results) == 1


async def test_the_report_renders_as_a_table_and_as_json(tmp_path: Path) -> None:
    breaks, check, rule = BREAKS["two terminal events"]
    async with _broken(tmp_path, breaks) as url:
        results = await _run(url, only=[check, "instructions"])
    console = Console(record=True, width=200)
    render_table(results, console, title="check")
    table = console.export_text()
    assert "instructions" in table
    assert f"[{rule}]" in table
    assert "response.completed" in table
    document = json.loads(render_json(results, target="http://x/v1", model="checked"))
    assert document["passed"] is False
    failed = document["checks"][0]
    assert (failed["verdict"], failed["violation"]["rule"]) == ("fail", rule)
