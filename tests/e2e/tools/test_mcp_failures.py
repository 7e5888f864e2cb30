"""MCP failures are answers: the item carries the error, the model is told, the response goes on.

Each failure runs in both upstream APIs of the stand-in (chat and harmony): the first turn calls a
tool, the second answers. The second upstream request the stand-in recorded is what the model
read, so it must hold the error. ``max_tool_calls`` and the turn cap bound a response.
"""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from openai.types.responses import Response
from openai.types.responses.response_output_item import McpCall, McpListTools
from openai.types.responses.tool_param import Mcp

from antiphon.testing.mcp_servers import McpServerProcess
from antiphon.testing.upstream import UpstreamControl
from tests.e2e.conftest import SLOW_TIMEOUT, ModelPool
from tests.e2e.support import StreamRecorder, checked_stream
from tests.e2e.tool_support import APIS, Api, answer_turn, call_turn, model_of, told
from tests.e2e.tool_support import mcp_tool as mcp

pytestmark = pytest.mark.e2e


async def _call_then_answer(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    model: str,
    recipient: str,
    arguments: str,
    tools: list[Mcp],
) -> Response:
    await control.script(
        model,
        [call_turn(_api(model), recipient, arguments), answer_turn(_api(model), "Recovered.")],
    )
    final, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Go.", tools=tools)
    )
    assert final.status == "completed"
    assert final.output_text == "Recovered."  # the model went on after the failure
    return final


def _api(model: str) -> Api:
    return "chat" if model.startswith("chat-") else "harmony"


def _missing(api: Api, recipient: str) -> str:
    # A chat upstream names an undeclared call by its function name, harmony by its recipient.
    name = recipient.replace(".", "__") if api == "chat" else recipient
    return f"Tool '{name}' does not exist"


def _failed_call(response: Response) -> str:
    """The typed error of the response's one failed ``mcp_call``, as JSON text."""
    calls = [item for item in response.output if isinstance(item, McpCall)]
    assert len(calls) == 1, [item.type for item in response.output]
    assert calls[0].status == "failed"
    assert calls[0].error is not None
    return calls[0].error.model_dump_json()


@pytest.mark.parametrize("api", APIS)
async def test_a_tool_error_result_fails_the_call_and_the_model_reads_it(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    mcp_http: McpServerProcess,
    api: Api,
) -> None:
    model = model_of(pool, api)
    final = await _call_then_answer(
        client, recorder, control, model, "weather.fail", '{"message": "kaboom"}', [mcp("weather")]
    )
    assert "kaboom" in _failed_call(final)
    assert "kaboom" in await told(control, model, 1)


@pytest.mark.parametrize("api", APIS)
async def test_a_call_past_the_server_timeout_fails_and_the_model_reads_it(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    final = await _call_then_answer(
        client, recorder, control, model, "slow.wait_forever", "{}", [mcp("slow")]
    )
    message = f"no answer within {SLOW_TIMEOUT:g} s"
    assert message in _failed_call(final)
    assert message in await told(control, model, 1)


@pytest.mark.parametrize("api", APIS)
async def test_a_server_that_dies_mid_call_fails_the_call_and_is_restarted(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    final = await _call_then_answer(
        client, recorder, control, model, "local.crash", "{}", [mcp("local")]
    )
    error = _failed_call(final)
    assert "lost" in error
    assert "lost" in await told(control, model, 1)
    # The pool starts the stdio server again for the next response.
    again = model_of(pool, api)
    await control.script(
        again, [call_turn(api, "local.add", '{"a": 2, "b": 3}'), answer_turn(api, "5")]
    )
    second, _ = await checked_stream(
        client, recorder, client.responses.stream(model=again, input="Go.", tools=[mcp("local")])
    )
    calls = [item for item in second.output if isinstance(item, McpCall)]
    assert [(c.status, c.output) for c in calls] == [("completed", "5")]


@pytest.mark.parametrize("api", APIS)
async def test_arguments_that_are_not_json_fail_without_reaching_the_server(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    mcp_http: McpServerProcess,
    api: Api,
) -> None:
    model = model_of(pool, api)
    before = (await mcp_http.stats()).calls.get("add", 0)
    final = await _call_then_answer(
        client, recorder, control, model, "weather.add", '{"a": 1,', [mcp("weather")]
    )
    error = _failed_call(final)
    assert "JSON" in error
    assert "JSON" in await told(control, model, 1)
    assert (await mcp_http.stats()).calls.get("add", 0) == before


@pytest.mark.parametrize("api", APIS)
async def test_a_tool_outside_allowed_tools_is_refused_and_never_called(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    mcp_http: McpServerProcess,
    api: Api,
) -> None:
    model = model_of(pool, api)
    before = (await mcp_http.stats()).calls.get("echo", 0)
    final = await _call_then_answer(
        client,
        recorder,
        control,
        model,
        "weather.echo",
        '{"text": "hi"}',
        [mcp("weather", allowed_tools=["add"])],
    )
    listing = [item for item in final.output if isinstance(item, McpListTools)]
    assert [t.name for t in listing[0].tools] == ["add"]
    error = _failed_call(final)  # the refused call still has its item, carrying the error
    assert "not allowed" in error
    assert "not allowed on MCP server 'weather'" in await told(control, model, 1)
    assert (await mcp_http.stats()).calls.get("echo", 0) == before


@pytest.mark.parametrize("api", APIS)
async def test_an_unknown_namespace_is_answered_as_an_error(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    final = await _call_then_answer(
        client, recorder, control, model, "ghost.haunt", "{}", [mcp("weather")]
    )
    assert [item.type for item in final.output] == ["mcp_list_tools", "reasoning", "message"]
    assert _missing(api, "ghost.haunt") in await told(control, model, 1)


@pytest.mark.parametrize(
    ("label", "api"),
    [("down", "chat"), ("down", "harmony"), ("broken", "chat"), ("broken", "harmony")],
)
async def test_a_server_that_cannot_be_listed_fails_its_listing_and_the_model_goes_on(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    label: str,
    api: Api,
) -> None:
    model = model_of(pool, api)
    final = await _call_then_answer(
        client, recorder, control, model, f"{label}.anything", "{}", [mcp(label)]
    )
    listing = final.output[0]
    assert isinstance(listing, McpListTools)
    assert (listing.server_label, listing.tools) == (label, [])
    assert listing.error
    first = await told(control, model, 0)
    assert f"{label}__anything" not in first  # the model is not offered a server it cannot reach
    assert "could not be listed" in _failed_call(final)  # a call to it anyway fails in its item
    assert f"MCP server '{label}' could not be listed" in await told(control, model, 1)


@pytest.mark.parametrize("api", APIS)
async def test_calls_past_max_tool_calls_fail_unrun_and_the_model_is_told(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    mcp_http: McpServerProcess,
    api: Api,
) -> None:
    model = model_of(pool, api)
    add = '{"a": 1, "b": 2}'
    await control.script(
        model,
        [
            call_turn(api, "weather.add", add),
            call_turn(api, "weather.add", add),
            answer_turn(api, "Done."),
        ],
    )
    before = (await mcp_http.stats()).calls.get("add", 0)
    final, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(model=model, input="Go.", tools=[mcp("weather")], max_tool_calls=1),
    )
    calls = [item for item in final.output if isinstance(item, McpCall)]
    assert [(c.status, c.output) for c in calls] == [("completed", "3"), ("failed", None)]
    assert "max_tool_calls" in (calls[1].error.model_dump_json() if calls[1].error else "")
    assert "max_tool_calls" in await told(control, model, 2)
    assert (await mcp_http.stats()).calls.get("add", 0) == before + 1
    assert (final.status, final.max_tool_calls, final.output_text) == ("completed", 1, "Done.")


async def test_the_turn_cap_ends_a_model_that_never_stops_calling(
    client: AsyncOpenAI, recorder: StreamRecorder
) -> None:
    final, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(model="scripted-mcp-loop", input="Go.", tools=[mcp("weather")]),
    )
    calls = [item for item in final.output if isinstance(item, McpCall)]
    assert final.status == "incomplete"
    assert final.incomplete_details is not None
    assert len(calls) == 16  # the server's default turn cap (max_tool_loops)
    assert {c.output for c in calls} == {"2"}
