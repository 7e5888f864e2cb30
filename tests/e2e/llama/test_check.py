"""``antiphon check`` against antiphon serving a real model (llama.cpp, SmolLM2-135M).

The battery judges the protocol, never the prose, so it must pass with a real model that says
whatever it says: a forced tool choice makes the call, a token budget cuts the answer.
"""

from __future__ import annotations

import json

import pytest

from tests.check.support import run_check_cli
from tests.e2e.llama.conftest import CHAT
from tests.e2e.support import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1000)]

#: a 135M model on two loaded cores: each check, and the whole run, bounded generously
PER_CHECK = 120.0
WITHIN = 900.0


async def _check(url: str, api: str) -> tuple[int, dict[str, dict[str, object]]]:
    status, out = await run_check_cli(api, url, CHAT, "--json", per_check=PER_CHECK, within=WITHIN)
    rows = json.loads(out)["checks"]
    return status, {row["check"]: row for row in rows}


async def test_the_responses_battery_passes_with_a_real_model(server: ServerProcess) -> None:
    status, rows = await _check(server.url, "responses")
    # llama-cpp-python's server refuses json_schema response formats (its 500 reaches the
    # client as response.failed with the message): reported as not supported, not as a failure.
    structured = rows.pop("structured output")
    assert structured["verdict"] == "not supported"
    assert "upstream status 500" in str(structured["detail"])
    assert {name: row for name, row in rows.items() if row["verdict"] != "pass"} == {}
    assert len(rows) == 10
    assert status == 0


async def test_the_realtime_battery_passes_with_a_real_model(server: ServerProcess) -> None:
    status, rows = await _check(server.url, "realtime")
    assert {name: row for name, row in rows.items() if row["verdict"] != "pass"} == {}
    assert len(rows) == 6
    assert status == 0
