"""The runner's default transport: a session over the WebSocket model and the fake server."""

from __future__ import annotations

import pytest

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.testing import FakeRealtimeServer
from tests.realtime.session_support import of_type, read_until

pytestmark = pytest.mark.e2e

AGENT = RealtimeAgent(name="a", instructions="Hi.")


async def test_the_default_transport_is_the_websocket_model() -> None:
    async with FakeRealtimeServer() as server:
        runner = RealtimeRunner(AGENT)
        first = await runner.run(model_config={"url": server.url, "api_key": "sk-test"})
        second = await runner.run(model_config={"url": server.url, "api_key": "sk-test"})
        async with first, second:
            await server.wait_connected(2)
            await first.send_message("one")
            await second.send_message("two")
            first_events = await read_until(first, of_type("agent_end"))
            await read_until(second, of_type("agent_end"))
        assert server.violations == []
    assert first_events[-1].type == "agent_end"
    # One socket per session, each with its own handshake.
    assert [h["authorization"] for h in server.request_headers] == ["Bearer sk-test"] * 2
