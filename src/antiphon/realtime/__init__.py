"""The realtime agents SDK: agents, tools, handoffs and guardrails over a Realtime session.

::

    from antiphon.realtime import RealtimeAgent, RealtimeRunner, function_tool

    agent = RealtimeAgent(name="assistant", instructions="Be brief.", tools=[get_weather])
    session = await RealtimeRunner(agent).run(model_config={"url": url, "api_key": key})
    async with session:
        await session.send_message("Weather in Paris?")
        async for event in session:
            ...

The curated surface is below; modules starting with ``_`` are private. The shipped test harness
(a real local GA WebSocket server) lives in :mod:`antiphon.realtime.testing`.
"""

from __future__ import annotations

from antiphon.realtime.agent import Handoff, RealtimeAgent, realtime_handoff
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import (
    AgentEndEvent,
    AgentStartEvent,
    AudioEndEvent,
    AudioEvent,
    AudioInterruptedEvent,
    ErrorEvent,
    GuardrailTrippedEvent,
    HandoffEvent,
    HistoryAddedEvent,
    HistoryUpdatedEvent,
    RawModelEvent,
    RealtimeSessionEvent,
    ToolEndEvent,
    ToolStartEvent,
)
from antiphon.realtime.guardrails import GuardrailResult, OutputGuardrail, output_guardrail
from antiphon.realtime.model import RealtimeModel, RealtimeModelConfig
from antiphon.realtime.playback import PlaybackTracker
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.sequencer import ResponseHandle
from antiphon.realtime.session import RealtimeSession
from antiphon.realtime.tools import FunctionTool, ToolContext, function_tool
from antiphon.realtime.websocket import WebSocketRealtimeModel

__all__ = [
    "AgentEndEvent",
    "AgentStartEvent",
    "AudioEndEvent",
    "AudioEvent",
    "AudioInterruptedEvent",
    "ErrorEvent",
    "FunctionTool",
    "GuardrailResult",
    "GuardrailTrippedEvent",
    "Handoff",
    "HandoffEvent",
    "HistoryAddedEvent",
    "HistoryUpdatedEvent",
    "OutputGuardrail",
    "PlaybackTracker",
    "RawModelEvent",
    "RealtimeAgent",
    "RealtimeModel",
    "RealtimeModelConfig",
    "RealtimeRunConfig",
    "RealtimeRunner",
    "RealtimeSession",
    "RealtimeSessionEvent",
    "ResponseHandle",
    "ToolContext",
    "ToolEndEvent",
    "ToolStartEvent",
    "WebSocketRealtimeModel",
    "function_tool",
    "output_guardrail",
    "realtime_handoff",
]
