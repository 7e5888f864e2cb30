"""``antiphon serve``'s ``/v1/realtime`` with real clients: the official ``openai`` client and
antiphon's own realtime agents SDK, over the scripted engine (text modality)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI
from openai.types.realtime import RealtimeFunctionToolParam

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import ToolEndEvent
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.tools import function_tool
from tests.e2e.support import ServerProcess, session_events_until

pytestmark = pytest.mark.e2e

WITHIN = 10.0
WEATHER_TOOL: RealtimeFunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
TEXT_ONLY: RealtimeRunConfig = {"session": {"type": "realtime", "output_modalities": ["text"]}}


@pytest.fixture
async def openai_client(server: ServerProcess) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0) as client:
        yield client


async def test_the_openai_client_does_a_text_turn(openai_client: AsyncOpenAI) -> None:
    async with openai_client.realtime.connect(model="scripted-text") as connection:
        created = await connection.recv()
        assert created.type == "session.created"
        await connection.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "instructions": "Hi."}
        )
        updated = await connection.recv()
        assert updated.type == "session.updated"
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Say hello."}],
            }
        )
        await connection.response.create()
        text: list[str] = []
        seen: list[str] = []
        async with asyncio.timeout(WITHIN):
            async for event in connection:
                seen.append(event.type)
                if event.type == "response.output_text.delta":
                    text.append(event.delta)
                if event.type == "response.done":
                    assert event.response.status == "completed"
                    assert event.response.usage is not None
                    assert event.response.usage.output_tokens == 8
                    break
    assert "".join(text) == "Hello from the script!"
    assert seen[:2] == ["conversation.item.added", "conversation.item.done"]
    assert seen[2:7] == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]


async def test_the_openai_client_does_a_function_call_turn(openai_client: AsyncOpenAI) -> None:
    async with openai_client.realtime.connect(model="scripted-weather") as connection:
        await connection.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER_TOOL]}
        )
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Weather in Paris?"}],
            }
        )
        await connection.response.create()
        call = None
        async with asyncio.timeout(WITHIN):
            async for event in connection:
                if event.type == "response.function_call_arguments.done":
                    call = event
                if event.type == "response.done":
                    assert event.response.status == "completed"
                    break
        assert call is not None
        assert call.name == "get_weather"
        assert json.loads(call.arguments) == {"city": "Paris"}
        await connection.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
        )
        await connection.response.create()
        text: list[str] = []
        async with asyncio.timeout(WITHIN):
            async for event in connection:
                if event.type == "response.output_text.done":
                    text.append(event.text)
                if event.type == "response.done":
                    break
        assert text == ["It is sunny in Paris."]


def _sdk_url(server: ServerProcess, model: str) -> str:
    return server.url.replace("http://", "ws://") + f"/v1/realtime?model={model}"


async def test_the_realtime_sdk_does_a_text_turn(server: ServerProcess) -> None:
    agent = RealtimeAgent(name="greeter", instructions="Greet.")
    runner = RealtimeRunner(agent, config=TEXT_ONLY)
    session = await runner.run(model_config={"url": _sdk_url(server, "scripted-text")})
    async with session:
        await session.send_message("Hello?")
        events = await session_events_until(session, "agent_end")
    assert not [event for event in events if event.type == "error"]
    assistant = [
        item for item in session.history if item.type == "message" and item.role == "assistant"
    ]
    assert [part.text for item in assistant for part in item.content] == ["Hello from the script!"]


async def test_the_realtime_sdk_runs_a_function_tool(server: ServerProcess) -> None:
    cities: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        cities.append(city)
        return f"sunny in {city}"

    agent = RealtimeAgent(name="forecaster", instructions="Use the tool.", tools=[get_weather])
    runner = RealtimeRunner(agent, config=TEXT_ONLY)
    session = await runner.run(model_config={"url": _sdk_url(server, "scripted-weather")})
    async with session:
        await session.send_message("Weather in Paris?")
        events = await session_events_until(session, "agent_end", count=2)
    assert cities == ["Paris"]
    ends = [event for event in events if isinstance(event, ToolEndEvent)]
    assert [end.output for end in ends] == ["sunny in Paris"]
    assert not [event for event in events if event.type == "error"]
    last = session.history[-1]
    assert last.type == "message"
    assert [part.text for part in last.content] == ["It is sunny in Paris."]
