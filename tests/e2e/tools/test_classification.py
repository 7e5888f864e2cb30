"""Which output item a model's tool call becomes, in both upstream APIs of the stand-in.

Built-in recipients (``python``) stream as their own item type, function tools as
``function_call``, MCP namespaces as ``mcp_call``, and an unknown recipient becomes no item: the
model is answered with an error and goes on. A ``python`` call while an MCP server is declared is
a ``code_interpreter_call``, never an ``mcp_call``.
"""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from openai.types.responses import FunctionToolParam, ToolParam
from openai.types.responses.tool_param import CodeInterpreter, Mcp

from antiphon.testing.upstream import UpstreamControl
from tests.e2e.conftest import ModelPool
from tests.e2e.support import StreamRecorder, checked_stream
from tests.e2e.tool_support import APIS, Api, answer_turn, call_turn, code_turn, model_of, told

pytestmark = pytest.mark.e2e
PYTHON: CodeInterpreter = {"type": "code_interpreter", "container": {"type": "auto"}}
WEATHER: Mcp = {"type": "mcp", "server_label": "weather", "require_approval": "never"}
LOOKUP: FunctionToolParam = {
    "type": "function",
    "name": "lookup",
    "description": "Look a word up.",
    "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
    "strict": False,
}
ALL: list[ToolParam] = [PYTHON, WEATHER, LOOKUP]


async def _types(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    model: str,
    first: dict[str, object],
    tools: list[ToolParam],
    api: Api,
) -> list[str]:
    await control.script(model, [first, answer_turn(api, "Answered.")])
    final, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Go.", tools=tools)
    )
    return [item.type for item in final.output]


@pytest.mark.parametrize("api", APIS)
async def test_a_python_call_with_mcp_declared_is_a_code_interpreter_call(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    kinds = await _types(client, recorder, control, model, code_turn(api, "print(6 * 7)"), ALL, api)
    assert kinds == ["mcp_list_tools", "reasoning", "code_interpreter_call", "message"]
    assert "42" in await told(control, model, 1)


@pytest.mark.parametrize("api", APIS)
async def test_a_python_call_without_the_code_interpreter_is_unknown_not_mcp(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    first = code_turn(api, "print(1)")
    kinds = await _types(client, recorder, control, model, first, [WEATHER], api)
    assert kinds == ["mcp_list_tools", "reasoning", "message"]
    assert "Tool 'python' does not exist" in await told(control, model, 1)


@pytest.mark.parametrize("api", APIS)
async def test_a_function_tool_call_is_a_function_call_that_ends_the_response(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    first = call_turn(api, "functions.lookup", '{"word": "antiphon"}')
    kinds = await _types(client, recorder, control, model, first, ALL, api)
    assert kinds == ["mcp_list_tools", "reasoning", "function_call"]
    assert len(await control.bodies(model)) == 1  # the client runs it: no second turn


@pytest.mark.parametrize("api", APIS)
async def test_an_mcp_namespace_call_is_an_mcp_call(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    first = call_turn(api, "weather.add", '{"a": 2, "b": 2}')
    kinds = await _types(client, recorder, control, model, first, ALL, api)
    assert kinds == ["mcp_list_tools", "reasoning", "mcp_call", "message"]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("recipient", ["functions.nothing", "nowhere.tool", "browser.search"])
async def test_an_unknown_recipient_is_answered_as_an_error(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
    recipient: str,
) -> None:
    model = model_of(pool, api)
    first = call_turn(api, recipient, "{}")
    kinds = await _types(client, recorder, control, model, first, ALL, api)
    assert kinds == ["mcp_list_tools", "reasoning", "message"]
    assert "does not exist" in await told(control, model, 1)
