from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from antiphon.exceptions import ToolExecutionError
from antiphon.realtime.agent import Handoff, RealtimeAgent, realtime_handoff
from antiphon.realtime.tools import ToolContext, function_tool

BILLING = RealtimeAgent(name="Billing Agent", handoff_description="Pays and refunds.")


@function_tool
def ping() -> str:
    """Ping."""
    return "pong"


def ctx(agent: RealtimeAgent, name: str = "transfer") -> ToolContext:
    return ToolContext(call_id="call_1", tool_name=name, agent=agent)


class Escalation(BaseModel):
    reason: str


async def test_instructions_may_be_text_or_a_sync_or_async_function() -> None:
    async def dynamic(agent: RealtimeAgent) -> str:
        return f"You are {agent.name}."

    assert await RealtimeAgent(name="a", instructions="Be brief.").get_instructions() == "Be brief."
    assert await RealtimeAgent(name="b", instructions=dynamic).get_instructions() == "You are b."
    sync = RealtimeAgent(name="c", instructions=lambda agent: agent.name * 2)
    assert await sync.get_instructions() == "cc"


def test_agent_is_frozen_and_clone_applies_changes() -> None:
    tools = [ping]
    agent = RealtimeAgent(name="a", tools=tools)
    tools.append(ping)
    assert agent.tools == (ping,)
    clone = agent.clone(name="b", instructions="New.")
    assert (clone.name, clone.instructions, clone.tools) == ("b", "New.", (ping,))
    assert agent.name == "a"
    with pytest.raises(AttributeError):
        agent.name = "changed"  # pyright: ignore[reportAttributeAccessIssue]


def test_agents_listed_as_handoffs_are_wrapped_with_the_default_name() -> None:
    triage = RealtimeAgent(name="Triage", tools=[ping], handoffs=[BILLING])
    (handoff,) = triage.enabled_handoffs()
    assert handoff.tool_name == "transfer_to_billing_agent"
    assert "Billing Agent" in handoff.tool_description
    assert "Pays and refunds." in handoff.tool_description
    names = [tool.name for tool in triage.session_tools()]
    assert names == ["ping", "transfer_to_billing_agent"]
    assert triage.find_tool("transfer_to_billing_agent") == handoff
    assert triage.find_tool("ping") is ping
    assert triage.find_tool("nope") is None


def test_disabled_handoffs_are_neither_declared_nor_found() -> None:
    off = realtime_handoff(BILLING, is_enabled=False)
    gated = realtime_handoff(
        BILLING, tool_name_override="gated", is_enabled=lambda agent: agent.name == "VIP"
    )
    agent = RealtimeAgent(name="Triage", handoffs=[off, gated])
    assert agent.session_tools() == []
    assert agent.find_tool(off.tool_name) is None
    vip = agent.clone(name="VIP")
    assert [tool.name for tool in vip.session_tools()] == ["gated"]


async def test_handoff_without_callback_returns_its_agent() -> None:
    handoff = realtime_handoff(BILLING, tool_name_override="to_billing")
    assert handoff.input_json_schema == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    assert await handoff.invoke(ctx(BILLING), "") is BILLING
    assert json.loads(handoff.transfer_message(BILLING)) == {"assistant": "Billing Agent"}


async def test_handoff_callback_receives_context_and_may_pick_another_agent() -> None:
    seen: list[str] = []
    other = BILLING.clone(name="Billing (Spanish)")

    async def on_handoff(context: ToolContext) -> RealtimeAgent:
        seen.append(context.call_id)
        return other

    handoff = realtime_handoff(BILLING, on_handoff=on_handoff)
    assert await handoff.invoke(ctx(BILLING), "{}") is other
    assert seen == ["call_1"]


async def test_handoff_with_input_type_validates_and_passes_parsed_input() -> None:
    received: list[Escalation] = []

    def on_handoff(context: ToolContext, data: Escalation) -> None:
        received.append(data)

    handoff = realtime_handoff(BILLING, on_handoff=on_handoff, input_type=Escalation)
    assert handoff.input_json_schema["required"] == ["reason"]
    assert await handoff.invoke(ctx(BILLING), '{"reason": "angry"}') is BILLING
    assert received == [Escalation(reason="angry")]
    with pytest.raises(ToolExecutionError, match="invalid arguments: reason: Field required"):
        await handoff.invoke(ctx(BILLING), "{}")


async def test_handoff_callback_raising_is_a_failure_with_the_cause() -> None:
    def on_handoff(context: ToolContext) -> None:
        raise RuntimeError("CRM down")

    handoff = realtime_handoff(BILLING, on_handoff=on_handoff)
    with pytest.raises(
        ToolExecutionError, match=r"^Handoff to 'Billing Agent' failed: CRM down$"
    ) as caught:
        await handoff.invoke(ctx(BILLING, handoff.tool_name), "{}")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.tool_name == "transfer_to_billing_agent"


async def test_handoff_returning_something_else_than_an_agent_is_a_failure() -> None:
    handoff = realtime_handoff(BILLING, on_handoff=lambda context: "Billing Agent")
    with pytest.raises(ToolExecutionError, match="expected a RealtimeAgent, got str"):
        await handoff.invoke(ctx(BILLING), "{}")


async def test_handoff_can_be_built_directly_with_its_own_invoker() -> None:
    async def on_invoke(context: ToolContext, arguments: str) -> object:
        return BILLING

    handoff = Handoff(
        tool_name="custom",
        tool_description="Custom.",
        agent=BILLING,
        input_json_schema={"type": "object"},
        on_invoke=on_invoke,
    )
    assert handoff.to_session_tool().name == "custom"
    assert await handoff.invoke(ctx(BILLING), "{}") is BILLING


async def test_agents_can_hand_back_to_each_other_through_a_callback() -> None:
    triage_box: list[RealtimeAgent] = []
    billing = RealtimeAgent(
        name="Billing",
        handoffs=[
            realtime_handoff(
                RealtimeAgent(name="Triage"),
                on_handoff=lambda context: triage_box[0],  # resolved at call time
            )
        ],
    )
    triage = RealtimeAgent(name="Triage", handoffs=[billing])
    triage_box.append(triage)
    back = billing.find_tool("transfer_to_triage")
    assert isinstance(back, Handoff)
    assert await back.invoke(ctx(billing), "{}") is triage
