from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest

from antiphon.engines import Engine, EngineEvent, EngineRequest
from antiphon.testing.upstream import UpstreamControl, UpstreamProcess


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamProcess]:
    """One stand-in process serves a whole test module; tests keep apart by model name."""
    with UpstreamProcess() as process:
        yield process


@pytest.fixture
async def control(upstream: UpstreamProcess) -> AsyncIterator[UpstreamControl]:
    async with upstream.control() as client:
        yield client


@pytest.fixture
def model(request: pytest.FixtureRequest) -> str:
    """A model name unique to the test, so scripts and records never mix."""
    return request.node.name.replace("[", "-").replace("]", "")


async def collect(engine: Engine, request: EngineRequest) -> list[EngineEvent]:
    async with aclosing(engine.stream(request)) as events:
        return [event async for event in events]


async def drain(engine: Engine, request: EngineRequest, seen: list[EngineEvent]) -> None:
    """Stream into ``seen``, so a test can check what came before an error."""
    async with aclosing(engine.stream(request)) as events:
        async for event in events:
            seen.append(event)
