"""The main job: `antiphon demo` runs its three steps against a real `antiphon serve`."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from antiphon.demo.run import get_weather, run_demo

pytestmark = pytest.mark.e2e


def test_the_demo_streams_every_step_and_exits_zero() -> None:
    out = io.StringIO()
    assert run_demo(Console(file=out, width=100)) == 0
    shown = out.getvalue()
    for expected in (
        "function_call get_weather",
        "It is sunny in Paris",
        "mcp_call calc.add",
        "->  5",  # the calc MCP server's own result, shown on its item
        "response.completed",
    ):
        assert expected in shown


def test_the_demo_tool_answers_like_an_application_would() -> None:
    assert '"city": "Lyon"' in get_weather("Lyon")
