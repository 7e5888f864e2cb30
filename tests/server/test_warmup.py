"""The start-up warm-up runs a response and a realtime turn in memory without failing.

A failing warm-up only logs (the server still starts), so this test is what notices it broke.
"""

from __future__ import annotations

from antiphon.server.warmup import warm_up


async def test_the_warm_up_runs_end_to_end() -> None:
    await warm_up()
