"""Step 4 of ``antiphon demo``: antiphon's realtime agents SDK against ``/v1/realtime``.

A ``concierge`` agent, which can only hand over, receives a forecast question; the scripted model
takes the handoff to the ``forecaster`` agent, which owns the ``get_forecast`` function tool; the
model calls it, the SDK runs it and sends its output back, and the forecaster's answer streams.
The server ends a response at each function call, so this is three responses, the second and
third asked for by the SDK after it answered a call. Everything is checked, not only shown.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Final

from rich.console import Console

from antiphon.demo.realtime_view import RealtimeView
from antiphon.realtime import (
    ErrorEvent,
    HandoffEvent,
    HistoryAddedEvent,
    RealtimeAgent,
    RealtimeRunConfig,
    RealtimeRunner,
    RealtimeSession,
    ToolEndEvent,
    function_tool,
)

__all__ = ["QUESTION", "forecast", "run_realtime_step"]

QUESTION: Final = "Will it rain in Marseille tomorrow?"
#: What the script's call passes to the tool, and what the check expects the tool to get.
EXPECTED_ARGUMENTS: Final = {"city": "Marseille", "day": "tomorrow"}
#: How long the whole step may take; it needs well under a second, this only bounds a hang.
WITHIN: Final = 15.0
_CONFIG: RealtimeRunConfig = {
    # The server speaks text only; raw events are what the view streams the items from.
    "session": {"type": "realtime", "output_modalities": ["text"]},
    "raw_model_events": True,
    "tool_failure": "raise",  # a failed tool ends the step with its error, loudly
}


def forecast(city: str, day: str) -> str:
    """The forecaster's tool, as an application would implement it (JSON for the model)."""
    return json.dumps({"city": city, "day": day, "sky": "clear", "rain_mm": 0, "high_c": 24})


@dataclass(slots=True)
class _Outcome:
    """What the step observed, for the checks."""

    tool_calls: list[dict[str, str]] = field(default_factory=list[dict[str, str]])
    handoffs: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    tool_outputs: dict[str, str] = field(default_factory=dict[str, str])
    #: Call ids the model made that the SDK has not answered yet (``tool_end`` not seen).
    unanswered: set[str] = field(default_factory=set[str])
    errors: list[str] = field(default_factory=list[str])
    final_text: str = ""
    final_agent: str = ""

    def problems(self) -> list[str]:
        """Why the step did not check out; empty when it did."""
        found = [f"error event: {error}" for error in self.errors]
        if self.handoffs != [("concierge", "forecaster")]:
            found.append(f"expected one handoff concierge -> forecaster, got {self.handoffs}")
        if self.tool_calls != [EXPECTED_ARGUMENTS]:
            wanted = EXPECTED_ARGUMENTS
            found.append(f"expected get_forecast to run with {wanted}, got {self.tool_calls}")
        sent, expected = self.tool_outputs.get("get_forecast"), forecast(**EXPECTED_ARGUMENTS)
        if sent != expected:
            found.append(f"expected the model to get get_forecast's output {expected}, got {sent}")
        if self.final_agent != "forecaster" or "No rain in Marseille" not in self.final_text:
            got = f"{self.final_text!r} from {self.final_agent!r}"
            found.append(f"expected the forecaster's answer, got {got}")
        return found


def _agents(outcome: _Outcome) -> RealtimeAgent:
    """The starting agent; its handoff leads to the agent with the tool."""

    @function_tool(name="get_forecast")
    def get_forecast(city: str, day: str) -> str:
        """Tomorrow's or today's forecast for a city."""
        # Recorded here, inside the tool, so the check proves the tool itself ran.
        outcome.tool_calls.append({"city": city, "day": day})
        return forecast(city, day)

    forecaster = RealtimeAgent(
        name="forecaster",
        instructions="Answer weather questions with the get_forecast tool. Be brief.",
        tools=[get_forecast],
        handoff_description="Weather forecasts.",
    )
    return RealtimeAgent(
        name="concierge",
        instructions="Hand weather questions to the forecaster.",
        handoffs=[forecaster],
    )


def run_realtime_step(console: Console, base_url: str, model: str) -> bool:
    """Run the step against the server at ``base_url`` (http://...); whether it checked out."""
    url = base_url.replace("http://", "ws://", 1) + f"/v1/realtime?model={model}"
    outcome = _Outcome()
    view = RealtimeView("4. a realtime agent: a handoff, then a function tool", "concierge")
    try:
        with view.live(console):
            asyncio.run(_converse(url, outcome, view))
    except TimeoutError:
        outcome.errors.append(f"the session did not finish within {WITHIN} s")
    except Exception as exc:  # the step reports any failure as a failed check, not a traceback
        outcome.errors.append(f"{type(exc).__name__}: {exc}")
    problems = outcome.problems()
    if problems:
        # The live view leaves the cursor at the end of its footer line.
        # Not markup: a problem quotes server text, whose brackets rich would take for tags.
        console.print("\n" + "\n".join(problems), style="red", markup=False)
    if not problems:
        speaker = outcome.final_agent
        console.print(f"\n[bold green]final answer ({speaker}):[/] {outcome.final_text}")
    return not problems


async def _converse(url: str, outcome: _Outcome, view: RealtimeView) -> None:
    session = await RealtimeRunner(_agents(outcome), config=_CONFIG).run(
        model_config={"url": url, "api_key": "demo"}
    )
    async with asyncio.timeout(WITHIN), session:
        await session.send_message(QUESTION)
        async for event in session:
            view.add(event)
            if isinstance(event, HistoryAddedEvent) and event.item.type == "function_call":
                # history_added is a control event (never dropped), so no call goes unnoticed.
                outcome.unanswered.add(event.item.call_id or event.item.id or "")
            elif isinstance(event, HandoffEvent):
                outcome.handoffs.append((event.from_agent.name, event.to_agent.name))
            elif isinstance(event, ToolEndEvent):
                outcome.tool_outputs[event.tool_name] = event.output
                outcome.unanswered.discard(event.call_id)
            elif isinstance(event, ErrorEvent):
                outcome.errors.append(str(event.error))
                return
            elif event.type == "agent_end" and _answered(session, outcome):
                return


def _answered(session: RealtimeSession, outcome: _Outcome) -> bool:
    """Whether the conversation is over: an assistant message ends it and every call was answered.

    A ``tool_end`` is queued by the tool task just after it sends the output, so it can in
    principle trail the response that output asked for; waiting for it keeps the checks complete.
    """
    last = session.history[-1] if session.history else None
    if last is None or last.type != "message" or last.role != "assistant":
        return False
    outcome.final_text = "".join(getattr(part, "text", None) or "" for part in last.content)
    outcome.final_agent = session.agent.name
    return not outcome.unanswered
