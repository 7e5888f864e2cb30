"""``antiphon check realtime`` against antiphon's own ``/v1/realtime``, then broken copies of it.

The app runs in this process on a loopback socket, its model the scripted engine playing
:data:`tests.check.support.CHECK_SCRIPT`; a broken server is the same app behind
:class:`~tests.check.breaking_realtime.BreakingEvents`, which breaks one rule in what it sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from antiphon.check.report import exit_status
from antiphon.check.runner import run_realtime_checks
from antiphon.server.app import create_app
from tests.check.breaking_realtime import REALTIME_BREAKS, BreakingEvents
from tests.check.support import check_settings
from tests.server.support import serving

CHECKS = {
    "session lifecycle",
    "text turn",
    "function call",
    "response.create while active",
    "malformed event",
    "response.cancel",
}


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    async with serving(create_app(check_settings(tmp_path))) as url:
        yield f"{url}/v1"


async def test_antiphon_passes_every_realtime_check(base_url: str) -> None:
    results = await run_realtime_checks(base_url, "checked", seconds=30)
    assert {r.name for r in results} == CHECKS
    assert [(r.name, r.verdict, r.detail) for r in results if r.verdict != "pass"] == []
    assert exit_status(results) == 0


@pytest.mark.parametrize("case", sorted(REALTIME_BREAKS))
async def test_a_broken_realtime_server_fails_with_its_rule(tmp_path: Path, case: str) -> None:
    breaker, check, rule = REALTIME_BREAKS[case]
    app = BreakingEvents(create_app(check_settings(tmp_path)), breaker)
    async with serving(app) as url:
        [result] = await run_realtime_checks(f"{url}/v1", "checked", only=[check], seconds=30)
    assert result.verdict == "fail", result
    assert result.violation is not None
    assert result.violation.rule == rule
    assert result.violation.event is not None


async def test_a_server_without_realtime_is_not_supported(tmp_path: Path) -> None:
    async with serving(create_app(check_settings(tmp_path))) as url:
        # No such route: the handshake is refused with a 4xx.
        results = await run_realtime_checks(f"{url}/v2", "checked", only=["text turn"])
    assert [r.verdict for r in results] == ["not supported"]
