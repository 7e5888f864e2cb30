"""Server-side MCP tools and approvals over ``/v1/realtime``, in-process.

The realtime core runs responses on the shared turn loop, so an MCP call is listed, run and
answered on the server, and the response goes on after it. The MCP test server is reached
through the real pool in-process (the SDK's in-memory pairing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from antiphon.engines.scripted import ScriptedItem, ScriptedTurn
from antiphon.realtime_server.conversation import RealtimeConversation
from antiphon.responses.runtime import ToolRuntime
from antiphon.tools.mcp import McpClientPool
from antiphon.wire.ids import SequentialIds
from tests.realtime_server.support import Frame, Spy, error_of, run, send, user
from tests.responses.support import CALC, mcp_pool


def _call(recipient: str, arguments: str) -> ScriptedTurn:
    return ScriptedTurn(items=(ScriptedItem("tool_call", arguments, name=recipient),))


def _say(text: str) -> ScriptedTurn:
    return ScriptedTurn(items=(ScriptedItem("message", text),))


@pytest.fixture
async def pool() -> AsyncIterator[McpClientPool]:
    async with mcp_pool() as opened:
        yield opened


def _conversation(pool: McpClientPool, spy: Spy, approval: str) -> RealtimeConversation:
    runtime = ToolRuntime(mcp_servers={CALC.label: CALC}, mcp=pool)
    conversation = RealtimeConversation("m", spy.served(), runtime=runtime, ids=SequentialIds())
    tool = {"type": "mcp", "server_label": "calc", "require_approval": approval}
    session = {"type": "realtime", "tools": [tool]}
    [updated] = send(conversation, {"type": "session.update", "session": session}).events
    assert updated.type == "session.updated"
    return conversation


def _types(frames: list[Frame]) -> list[str]:
    return [frame["type"] for frame in frames]


async def test_an_mcp_call_runs_on_the_server_and_the_response_goes_on(
    pool: McpClientPool,
) -> None:
    spy = Spy(_call("calc.add", '{"a": 2, "b": 3}'), _say("It is 5."), _say("Still 5."))
    conversation = _conversation(pool, spy, "never")
    send(conversation, user("2 + 3?"))
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    kinds = _types(frames)
    listed = kinds.index("mcp_list_tools.completed")
    assert kinds[: listed + 1] == [
        "response.output_item.added",
        "conversation.item.added",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
    ]
    assert kinds.index("response.mcp_call_arguments.done") < kinds.index(
        "response.mcp_call.in_progress"
    )
    assert kinds.index("response.mcp_call.in_progress") < kinds.index("response.mcp_call.completed")
    done = frames[-1]["response"]
    assert done["status"] == "completed"
    assert [item["type"] for item in done["output"]] == ["mcp_list_tools", "mcp_call", "message"]
    assert "add" in {tool["name"] for tool in done["output"][0]["tools"]}
    call = done["output"][1]
    assert (call["server_label"], call["name"], call["output"]) == ("calc", "add", "5")
    assert done["output"][2]["content"][0]["text"] == "It is 5."
    # The model read the result, and the conversation keeps the listing and the call.
    second = [item for segment in spy.requests[1].history for item in segment.items]
    assert [item.get("type") for item in second] == ["message", "mcp_call"]
    assert second[-1].get("output") == "5"
    # A later response does not list the server again.
    send(conversation, user("And again?"))
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    assert "mcp_list_tools.in_progress" not in _types(frames)
    third = [item.get("type") for segment in spy.requests[2].history for item in segment.items]
    assert third == ["message", "mcp_list_tools", "mcp_call", "message", "message"]


async def test_a_failing_mcp_tool_is_a_failed_call_the_model_reads(pool: McpClientPool) -> None:
    spy = Spy(_call("calc.fail", '{"message": "no disk"}'), _say("It failed."))
    conversation = _conversation(pool, spy, "never")
    send(conversation, user("Break it"))
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    assert "response.mcp_call.failed" in _types(frames)
    done = frames[-1]["response"]
    call = done["output"][1]
    assert call["error"]["type"] == "tool_execution_error"
    assert "no disk" in call["error"]["message"]
    assert done["output"][2]["content"][0]["text"] == "It failed."


async def test_an_approval_is_asked_answered_and_used_once(pool: McpClientPool) -> None:
    spy = Spy(_call("calc.add", '{"a": 1, "b": 1}'), _say("It is 2."), _say("Done."))
    conversation = _conversation(pool, spy, "always")
    send(conversation, user("1 + 1?"))
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    done = frames[-1]["response"]
    assert [item["type"] for item in done["output"]] == ["mcp_list_tools", "mcp_approval_request"]
    asked = done["output"][1]
    wrong = {
        "type": "mcp_approval_response",
        "id": "apr_0",
        "approval_request_id": "nope",
        "approve": True,
    }
    create = {"type": "conversation.item.create"}
    assert error_of(send(conversation, {**create, "item": wrong}))["param"] == (
        "item.approval_request_id"
    )
    answer = {**wrong, "approval_request_id": asked["id"]}
    send(conversation, {**create, "item": answer})
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    done = frames[-1]["response"]
    assert [item["type"] for item in done["output"]] == ["mcp_call", "message"]
    assert done["output"][0]["approval_request_id"] == asked["id"]
    assert done["output"][0]["output"] == "2"
    # The approval was used: the next response does not run the call again.
    frames = await run(conversation, send(conversation, {"type": "response.create"}))
    assert [item["type"] for item in frames[-1]["response"]["output"]] == ["message"]
