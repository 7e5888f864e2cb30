from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest, SessionUpdateEvent

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.model import RealtimeModel
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.testing import FakeRealtimeServer
from antiphon.realtime.websocket import WebSocketRealtimeModel
from tests.realtime.session_support import checked_server, of_type, read_until

pytestmark = pytest.mark.e2e

AGENT = RealtimeAgent(name="a", instructions="Hi.")


@pytest.fixture
async def server() -> AsyncIterator[FakeRealtimeServer]:
    async with checked_server() as server:
        yield server


async def test_each_run_gets_its_own_transport(server: FakeRealtimeServer) -> None:
    made: list[RealtimeModel] = []

    def make() -> RealtimeModel:
        model = WebSocketRealtimeModel()
        made.append(model)
        return model

    runner = RealtimeRunner(AGENT, model_factory=make)
    config = {"url": server.url, "api_key": "sk-test"}
    first = await runner.run(model_config={"url": config["url"], "api_key": "sk-test"})
    second = await runner.run(model_config={"url": config["url"], "api_key": "sk-test"})
    async with first, second:
        await server.wait_connected(2)
        await first.send_message("one")
        await second.send_message("two")
        await read_until(first, of_type("agent_end"))
        await read_until(second, of_type("agent_end"))
    assert len(made) == 2
    assert made[0] is not made[1]
    assert [h["authorization"] for h in server.request_headers] == ["Bearer sk-test"] * 2


async def test_the_default_transport_is_the_websocket_model(server: FakeRealtimeServer) -> None:
    session = await RealtimeRunner(AGENT).run(model_config={"url": server.url, "api_key": "k"})
    async with session:
        await session.send_message("hello")
        events = await read_until(session, of_type("agent_end"))
    assert events[-1].type == "agent_end"


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


async def test_invalid_session_settings_fail_at_connect(server: FakeRealtimeServer) -> None:
    config: RealtimeRunConfig = {"session": {"type": "realtime", "output_modalities": ["smell"]}}  # type: ignore[list-item]
    session = await RealtimeRunner(AGENT, config=config).run(model_config={"url": server.url})
    with pytest.raises(ConfigurationError, match="invalid realtime session settings"):
        await session.connect()
    assert server.request_headers == []


async def test_the_runner_copies_its_config(server: FakeRealtimeServer) -> None:
    config: RealtimeRunConfig = {"session": {"type": "realtime", "output_modalities": ["text"]}}
    runner = RealtimeRunner(AGENT, config=config)
    # Changed after the runner was made: the sessions it starts must still use the original.
    config["session"] = {"type": "realtime", "output_modalities": ["audio"]}
    session = await runner.run(model_config={"url": server.url})
    async with session:
        (update,) = await server.wait_for("session.update")
    assert isinstance(update, SessionUpdateEvent)
    assert isinstance(update.session, RealtimeSessionCreateRequest)
    assert update.session.output_modalities == ["text"]
