"""The Responses checks that take several requests: background/cancel/resume, and MCP."""

from __future__ import annotations

from antiphon.check._json import JSON, as_json
from antiphon.check._prompts import LONG_TASK
from antiphon.check._session import ResponsesSession
from antiphon.check.outcome import CheckFailed

__all__ = ["background_cancel_resume", "mcp_call"]

#: events read from a background stream before it is left and the run cancelled
_HEAD_EVENTS = 3
_ENDED = frozenset({"completed", "failed", "incomplete", "cancelled"})


async def background_cancel_resume(session: ResponsesSession) -> str:
    """A background run is streamed a little, cancelled, and its stream resumed.

    The resumed stream starts after the last event seen (``starting_after``) and ends with the
    status the cancel answered.
    """
    body: JSON = {
        "input": LONG_TASK,
        "background": True,
        "store": True,
    }
    head = await session.stream(body, feature="background", stop_after=_HEAD_EVENTS)
    response_id = str(as_json(head.payloads[0].get("response")).get("id"))
    seen = head.payloads[-1].get("sequence_number")
    if not isinstance(seen, int):
        raise CheckFailed("the background stream's events carry no sequence_number")
    cancelled = await session.cancel(response_id, "cancel")
    if cancelled.status not in _ENDED:
        raise CheckFailed(f"the cancel answered status {cancelled.status!r}")
    resumed = await session.resume(response_id, seen)
    last: JSON = as_json(resumed.payloads[-1].get("response")) if resumed.payloads else {}
    if last.get("status") != cancelled.status:
        raise CheckFailed(
            f"the resumed stream ends {last.get('status')!r}, the cancel said {cancelled.status!r}"
        )
    return f"{cancelled.status}; resumed after #{seen} with {len(resumed.payloads)} events"


async def mcp_call(session: ResponsesSession, label: str) -> str:
    """A response with the server's MCP tools (``label``) and a call required.

    The tools must be listed and a call run to ``completed`` or ``failed``.
    """
    tool = {"type": "mcp", "server_label": label, "require_approval": "never"}
    body: JSON = {
        "input": "Use one of the MCP server's tools, then say what it returned.",
        "tools": [tool],
        "tool_choice": "required",
    }
    final = (await session.stream(body, feature="mcp")).final
    listings = [item for item in final.output if item.type == "mcp_list_tools"]
    calls = [item for item in final.output if item.type == "mcp_call"]
    if not listings:
        raise CheckFailed(f"no mcp_list_tools item for {label!r}")
    if not calls:
        raise CheckFailed("tool_choice 'required' with only MCP tools made no mcp_call")
    call = calls[0]
    if call.status not in ("completed", "failed"):
        raise CheckFailed(f"the mcp_call ended {call.status!r}")
    return f"{call.name}: {call.status}"
