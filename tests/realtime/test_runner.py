from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest, SessionUpdateEvent

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.model import RealtimeModel
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.testing import InMemoryRealtimeServer
from tests.realtime.session_support import checked_server, of_type, read_until

AGENT = RealtimeAgent(name="a", instructions="Hi.")


@pytest.fixture
async def server() -> AsyncIterator[InMemoryRealtimeServer]:
    async with checked_server() as server:
        yield server


async def test_each_run_gets_its_own_transport(server: InMemoryRealtimeServer) -> None:
    made: list[RealtimeModel] = []

    def make() -> RealtimeModel:
        model = server.new_model()
        made.append(model)
        return model

    runner = RealtimeRunner(AGENT, model_factory=make)
    first = await runner.run(model_config={"url": "memory://"})
    second = await runner.run(model_config={"url": "memory://"})
    async with first, second:
        await server.wait_connected(2)
        await first.send_message("one")
        await second.send_message("two")
        await read_until(first, of_type("agent_end"))
        await read_until(second, of_type("agent_end"))
    assert len(made) == 2
    assert made[0] is not made[1]
    assert server.connection_count == 2


@pytest.mark.parametrize(
    "config",
    [
        {"tool_failure": "explode"},
        {"session": {"type": "transcription"}},
    ],
)
def test_a_bad_config_fails_before_connecting(config: RealtimeRunConfig) -> None:
    with pytest.raises(ConfigurationError):
        RealtimeRunner(AGENT, config=config)


async def test_invalid_session_settings_fail_at_connect(server: InMemoryRealtimeServer) -> None:
    config: RealtimeRunConfig = {"session": {"type": "realtime", "output_modalities": ["smell"]}}  # type: ignore[list-item]
    runner = RealtimeRunner(AGENT, config=config, model_factory=server.new_model)
    session = await runner.run(model_config={"url": "memory://"})
    with pytest.raises(ConfigurationError, match="invalid realtime session settings"):
        await session.connect()
    assert server.connection_count == 0


async def test_the_runner_copies_its_config(server: InMemoryRealtimeServer) -> None:
    config: RealtimeRunConfig = {"session": {"type": "realtime", "output_modalities": ["text"]}}
    runner = RealtimeRunner(AGENT, config=config, model_factory=server.new_model)
    # Changed after the runner was made: the sessions it starts must still use the original.
    config["session"] = {"type": "realtime", "output_modalities": ["audio"]}
    session = await runner.run(model_config={"url": "memory://"})
    async with session:
        (update,) = await server.wait_for("session.update")
    assert isinstance(update, SessionUpdateEvent)
    assert isinstance(update.session, RealtimeSessionCreateRequest)
    assert update.session.output_modalities == ["text"]
