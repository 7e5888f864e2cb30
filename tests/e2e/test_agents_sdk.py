"""The official OpenAI Agents SDK runs an agent with a function tool against antiphon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from agents import (
    Agent,
    FunctionTool,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

from tests.e2e.support import ServerProcess

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Weather:
    """A function tool and the cities it was called with, fresh for each test."""

    tool: FunctionTool
    calls: list[str]


@pytest.fixture
def weather() -> Weather:
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return f"sunny in {city}"

    return Weather(get_weather, calls)


@pytest.fixture
async def sdk_client(server: ServerProcess) -> AsyncIterator[AsyncOpenAI]:
    set_tracing_disabled(True)
    async with AsyncOpenAI(
        base_url=f"{server.url}/v1",
        api_key="unused",
        max_retries=0,
        timeout=30.0,
    ) as client:
        yield client


async def test_agent_calls_the_tool_and_answers(sdk_client: AsyncOpenAI, weather: Weather) -> None:
    agent = Agent(
        name="forecaster",
        instructions="Answer weather questions with the tool.",
        model=OpenAIResponsesModel(model="scripted-weather", openai_client=sdk_client),
        tools=[weather.tool],
    )
    result = await Runner.run(agent, "What's the weather in Paris?")
    assert weather.calls == ["Paris"]
    assert result.final_output == "It is sunny in Paris."
    kinds = [item.type for item in result.new_items]
    assert kinds.count("tool_call_item") == 1
    assert kinds.count("tool_call_output_item") == 1
    assert kinds[-1] == "message_output_item"


async def test_agent_streams_through_the_responses_stream(
    sdk_client: AsyncOpenAI, weather: Weather
) -> None:
    agent = Agent(
        name="forecaster",
        model=OpenAIResponsesModel(model="scripted-weather", openai_client=sdk_client),
        tools=[weather.tool],
    )
    run = Runner.run_streamed(agent, "Weather in Paris?")
    deltas = [
        event.data.delta
        async for event in run.stream_events()
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta"
    ]
    assert "".join(deltas) == "It is sunny in Paris."
    assert run.final_output == "It is sunny in Paris."
    assert weather.calls == ["Paris"]  # the streamed run called the tool itself
