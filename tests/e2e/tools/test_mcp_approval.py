"""``require_approval``: an approval request ends the response; the client's answer continues it.

An approved call runs in the next response (its ``mcp_call`` names the approval request) and the
model reads the result; a denied call never reaches the MCP server and the model is told.
"""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from openai.types.responses import Response, ResponseInputParam
from openai.types.responses.response_output_item import McpApprovalRequest, McpCall
from openai.types.responses.tool_param import Mcp

from antiphon.testing.mcp_servers import McpServerProcess
from antiphon.testing.upstream import UpstreamControl
from tests.e2e.conftest import ModelPool
from tests.e2e.support import StreamRecorder, checked_stream
from tests.e2e.tool_support import APIS, Api, answer_turn, call_turn, model_of, told

pytestmark = pytest.mark.e2e
GUARDED: Mcp = {"type": "mcp", "server_label": "weather", "require_approval": "always"}


async def _ask(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, model: str, api: Api
) -> tuple[Response, McpApprovalRequest]:
    await control.script(
        model, [call_turn(api, "weather.add", '{"a": 4, "b": 5}'), answer_turn(api, "Went on.")]
    )
    first, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Add.", tools=[GUARDED])
    )
    assert [item.type for item in first.output] == [
        "mcp_list_tools",
        "reasoning",
        "mcp_approval_request",
    ]
    request = first.output[-1]
    assert isinstance(request, McpApprovalRequest)
    assert (request.server_label, request.name, request.arguments) == (
        "weather",
        "add",
        '{"a": 4, "b": 5}',
    )
    assert first.status == "completed"
    return first, request


async def _answer(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    model: str,
    first: Response,
    request: McpApprovalRequest,
    *,
    approve: bool,
) -> Response:
    answer: ResponseInputParam = [
        {
            "type": "mcp_approval_response",
            "approval_request_id": request.id,
            "approve": approve,
            "reason": None if approve else "not today",
        }
    ]
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=model, previous_response_id=first.id, input=answer, tools=[GUARDED]
        ),
    )
    assert second.status == "completed"
    assert second.output_text == "Went on."
    return second


@pytest.mark.parametrize("api", APIS)
async def test_an_approved_call_runs_and_the_model_goes_on(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    mcp_http: McpServerProcess,
    api: Api,
) -> None:
    model = model_of(pool, api)
    before = (await mcp_http.stats()).calls.get("add", 0)
    first, request = await _ask(client, recorder, control, model, api)
    assert (await mcp_http.stats()).calls.get("add", 0) == before  # nothing ran yet
    second = await _answer(client, recorder, model, first, request, approve=True)
    assert [item.type for item in second.output] == ["mcp_call", "message"]
    call = second.output[0]
    assert isinstance(call, McpCall)
    assert (call.approval_request_id, call.status, call.output) == (request.id, "completed", "9")
    assert (await mcp_http.stats()).calls.get("add", 0) == before + 1
    assert "9" in await told(control, model, 1)


@pytest.mark.parametrize("api", APIS)
async def test_a_denied_call_never_runs_and_the_model_is_told(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    mcp_http: McpServerProcess,
    api: Api,
) -> None:
    model = model_of(pool, api)
    before = (await mcp_http.stats()).calls.get("add", 0)
    first, request = await _ask(client, recorder, control, model, api)
    second = await _answer(client, recorder, model, first, request, approve=False)
    assert [item.type for item in second.output] == ["message"]
    assert (await mcp_http.stats()).calls.get("add", 0) == before
    read = await told(control, model, 1)
    assert "denied" in read
    assert "not today" in read
