from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import httpx
import pytest

from antiphon.engines import Engine, EngineEvent, EngineRequest
from antiphon.testing.upstream import ScriptedUpstream


@pytest.fixture
def upstream() -> ScriptedUpstream:
    """The stand-in upstream in-process: engines reach it through :func:`client`."""
    return ScriptedUpstream()


@pytest.fixture
async def client(upstream: ScriptedUpstream) -> AsyncIterator[httpx.AsyncClient]:
    async with upstream.client() as made:
        yield made


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
