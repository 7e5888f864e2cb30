"""Realtime agents against ``antiphon serve``: antiphon's SDK and the OpenAI Agents SDK.

One server with a scripted model whose turns answer by the last input (a handoff, a function
call, a server-side MCP call, a tool that fails, a line an output guardrail refuses, code for
the code interpreter) and the MCP test server over stdio. Everything crosses real sockets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from agents.realtime import RealtimeAgent as AgentsRealtimeAgent
from agents.realtime import RealtimeRunner as AgentsRealtimeRunner
from agents.tool import function_tool as agents_function_tool
from openai import AsyncOpenAI
from openai.types.realtime import RealtimeResponse
from openai.types.realtime.realtime_tools_config_param import Mcp

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import (
    GuardrailTrippedEvent,
    HandoffEvent,
    ToolEndEvent,
)
from antiphon.realtime.guardrails import GuardrailResult, output_guardrail
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.session import RealtimeSession
from antiphon.realtime.tools import function_tool
from antiphon.testing.mcp_servers import stdio_command
from tests.e2e.support import ServerProcess, session_events_until, write_config

pytestmark = pytest.mark.e2e

WITHIN = 15.0


def _call(recipient: str, arguments: str = "{}") -> dict[str, object]:
    return {"items": [{"kind": "tool_call", "name": recipient, "text": arguments}]}


def _say(text: str) -> dict[str, object]:
    return {"items": [{"kind": "message", "text": text}]}


def _when(text: str, turn: dict[str, object], *, output: bool = False) -> dict[str, object]:
    rule: dict[str, object] = {"last_text_contains": text}
    if output:
        rule["last_item_type"] = "function_call_output"
    return {**turn, "when": rule, "repeat": True}


SCRIPT = {
    "turns": [
        _when("Weather in Paris", _call("functions.transfer_to_weather")),
        _when(
            '"assistant": "weather"',
            _call("functions.get_weather", '{"city": "Paris"}'),
            output=True,
        ),
        _when("sunny in Paris", _say("It is sunny in Paris."), output=True),
        _when("2 + 3", _call("calc.add", '{"a": 2, "b": 3}')),
        {
            **_say("2 + 3 = 5, says the calc server."),
            "when": {"last_item_type": "mcp_call"},
            "repeat": True,
        },
        _when("Break it", _call("functions.explode")),
        _when("exploded", _say("The tool failed, sorry."), output=True),
        _when("the secret", _say("The password is swordfish.")),
        _when("Compute", _call("python", "print(6 * 7)")),
        {
            **_say("The answer is 42."),
            "when": {"last_item_type": "code_interpreter_call"},
            "repeat": True,
        },
    ]
}
CALC: Mcp = {"type": "mcp", "server_label": "calc", "require_approval": "never"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("realtime-agents")
    (directory / "agents.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    command, args = stdio_command()
    config = write_config(
        directory / "antiphon.toml",
        [{"name": "agents", "upstream_api": "scripted", "script": str(directory / "agents.json")}],
        mcp_servers={"calc": {"command": command, "args": args, "timeout": 20.0}},
    )
    with ServerProcess(["--config", str(config), "--store", "memory"]) as process:
        yield process


def _url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + "/v1/realtime?model=agents"


def _last_text(session: RealtimeSession) -> str:
    last = session.history[-1]
    assert last.type == "message"
    return "".join(part.text or "" for part in last.content)


@pytest.fixture
async def agents_session(server: ServerProcess) -> AsyncIterator[tuple[RealtimeSession, list[str]]]:
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return f"sunny in {city}"

    @function_tool
    def explode() -> str:
        """A tool that always fails."""
        raise RuntimeError("the tool exploded")

    @output_guardrail(name="no_secrets")
    def no_secrets(agent: RealtimeAgent, text: str) -> GuardrailResult:
        return GuardrailResult(tripwire_triggered="swordfish" in text)

    weather = RealtimeAgent(name="weather", instructions="Forecasts.", tools=[get_weather])
    concierge = RealtimeAgent(
        name="concierge",
        instructions="Route questions.",
        tools=[explode],
        handoffs=[weather],
        output_guardrails=[no_secrets],
    )
    config: RealtimeRunConfig = {
        "session": {"type": "realtime", "output_modalities": ["text"], "tools": [CALC]}
    }
    session = await RealtimeRunner(concierge, config=config).run(model_config={"url": _url(server)})
    async with session:
        yield session, calls


async def test_a_handoff_then_a_function_tool(
    agents_session: tuple[RealtimeSession, list[str]],
) -> None:
    session, calls = agents_session
    await session.send_message("Weather in Paris?")
    events = await session_events_until(session, "agent_end", count=3)
    handoffs = [event for event in events if isinstance(event, HandoffEvent)]
    assert [(h.from_agent.name, h.to_agent.name) for h in handoffs] == [("concierge", "weather")]
    assert calls == ["Paris"]
    assert not [event for event in events if event.type == "error"]
    assert _last_text(session) == "It is sunny in Paris."


async def test_a_server_side_mcp_tool_runs_in_one_response(
    agents_session: tuple[RealtimeSession, list[str]],
) -> None:
    session, _ = agents_session
    await session.send_message("What is 2 + 3?")
    events = await session_events_until(session, "agent_end")
    assert not [event for event in events if event.type == "error"]
    kinds = [item.type for item in session.history]
    assert kinds[-3:] == ["mcp_list_tools", "mcp_call", "message"]
    call = session.history[-2]
    assert call.type == "mcp_call"
    assert (call.name, call.output) == ("add", "5")
    assert _last_text(session) == "2 + 3 = 5, says the calc server."


async def test_a_failing_tool_still_answers_the_model(
    agents_session: tuple[RealtimeSession, list[str]],
) -> None:
    session, _ = agents_session
    await session.send_message("Break it")
    events = await session_events_until(session, "agent_end", count=2)
    [end] = [event for event in events if isinstance(event, ToolEndEvent)]
    assert end.error is not None
    assert "exploded" in end.output
    assert _last_text(session) == "The tool failed, sorry."


async def test_an_output_guardrail_trips_on_the_streamed_text(
    agents_session: tuple[RealtimeSession, list[str]],
) -> None:
    session, _ = agents_session
    await session.send_message("Tell me the secret")
    events = await session_events_until(session, GuardrailTrippedEvent)
    [tripped] = [event for event in events if isinstance(event, GuardrailTrippedEvent)]
    assert tripped.guardrail_names == ("no_secrets",)
    assert "swordfish" in tripped.transcript


async def test_the_agents_sdk_runs_a_handoff_and_a_function_tool(server: ServerProcess) -> None:
    cities: list[str] = []

    @agents_function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        cities.append(city)
        return f"sunny in {city}"

    weather = AgentsRealtimeAgent(name="weather", instructions="Forecasts.", tools=[get_weather])
    concierge = AgentsRealtimeAgent(name="concierge", instructions="Route.", handoffs=[weather])
    runner = AgentsRealtimeRunner(concierge, config={"model_settings": {"modalities": ["text"]}})
    errors: list[object] = []
    session = await runner.run(model_config={"url": _url(server), "api_key": "unused"})
    async with session, asyncio.timeout(WITHIN):
        await session.send_message("Weather in Paris?")
        async for event in session:
            if event.type == "error":
                errors.append(event.error)
            if event.type == "history_updated" and "It is sunny in Paris." in json.dumps(
                [item.model_dump() for item in event.history], default=str
            ):
                break
    assert errors == []
    assert cities == ["Paris"]


async def test_the_code_interpreter_runs_as_a_server_side_call(server: ServerProcess) -> None:
    response: RealtimeResponse | None = None
    client = AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    async with client, client.realtime.connect(model="agents") as connection:
        session = {
            "type": "realtime",
            "output_modalities": ["text"],
            "tools": [{"type": "code_interpreter"}],
        }
        await connection.session.update(session=session)  # type: ignore[arg-type]
        user = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Compute 6 * 7"}],
        }
        await connection.conversation.item.create(item=user)  # type: ignore[arg-type]
        await connection.response.create()
        async with asyncio.timeout(WITHIN):
            async for event in connection:
                assert event.type != "error", event
                if event.type == "response.done":
                    response = event.response
                    break
    assert response is not None
    assert response.status == "completed"
    output = [item.model_dump() for item in response.output or []]
    assert [item["type"] for item in output] == ["mcp_call", "message"]
    call = output[0]
    assert (call["server_label"], call["name"]) == ("code_interpreter", "python")
    assert json.loads(call["arguments"]) == {"code": "print(6 * 7)"}
    assert call["output"].strip() == "42"
    assert output[1]["content"][0]["text"] == "The answer is 42."
