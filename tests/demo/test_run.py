"""The main job: `antiphon demo` runs its four steps against a real `antiphon serve`."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from antiphon.demo.run import get_weather, run_demo

pytestmark = pytest.mark.e2e

_FDS = Path("/proc/self/fd")


def _open_sockets() -> int:
    """Sockets this process holds open (Linux: the ``socket:[inode]`` links of its fds)."""
    count = 0
    for fd in _FDS.iterdir():
        # The listing's own descriptor is closed by the time it is read.
        with contextlib.suppress(FileNotFoundError):
            count += os.readlink(fd).startswith("socket:")
    return count


def test_the_demo_streams_every_step_and_exits_zero() -> None:
    out = io.StringIO()
    before = _open_sockets() if _FDS.is_dir() else 0
    assert run_demo(Console(file=out, width=100)) == 0
    if _FDS.is_dir():
        # The demo closes its client: no connection is left open for the GC to warn about.
        assert _open_sockets() <= before
    shown = out.getvalue()
    for expected in (
        "function_call get_weather",
        "It is sunny in Paris",
        "mcp_call calc.add",
        "->  5",  # the calc MCP server's own result, shown on its item
        "response.completed",
        # Step 4, the realtime agents SDK: the handoff call and the switch it made...
        "function_call transfer_to_forecaster (concierge)",
        "concierge -> forecaster",
        # ...the new agent's tool call, its arguments and the tool's own output...
        "function_call get_forecast (forecaster)",
        '{"city": "Marseille", "day": "tomorrow"}  ->  {"city": "Marseille"',
        # ...and its streamed answer, which the step checked before printing.
        "final answer (forecaster): No rain in Marseille tomorrow",
    ):
        assert expected in shown


def test_the_demo_tool_answers_like_an_application_would() -> None:
    assert '"city": "Lyon"' in get_weather("Lyon")
