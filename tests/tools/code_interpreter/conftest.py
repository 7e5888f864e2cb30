from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from antiphon.tools.code_interpreter import ContainerManager, SandboxLimits

LIMITS = SandboxLimits(
    cpu_seconds=1,
    memory_bytes=256 * 1024 * 1024,
    wall_seconds=1.5,
    max_output_bytes=4096,
    idle_expiry_seconds=60,
    max_containers=3,
    kill_grace_seconds=0.5,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def manager(clock: FakeClock) -> AsyncIterator[ContainerManager]:
    async with ContainerManager(LIMITS, clock=clock) as running:
        yield running
