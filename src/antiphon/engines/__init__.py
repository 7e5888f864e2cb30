"""Model engines behind one small interface: chat-completions, harmony completions, scripted.

See :mod:`antiphon.engines.base` for the :class:`Engine` protocol, its request object and its
events. Engines talk to a model; the Responses turn loop turns their events into a response.
"""

from __future__ import annotations

from antiphon.engines._http import UpstreamConfig
from antiphon.engines.base import (
    HISTORY_ITEM_TYPES,
    Engine,
    EngineEvent,
    EngineRequest,
    ForcedTool,
    FunctionTool,
    HistorySegment,
    ItemDelta,
    ItemFinished,
    ItemStarted,
    McpServerTools,
    TextFormat,
    TurnFinished,
    Usage,
)
from antiphon.engines.chat import ChatEngine, ChatOptions
from antiphon.engines.harmony import HarmonyEngine, HarmonyOptions
from antiphon.engines.scripted import (
    Chunking,
    Script,
    ScriptedEngine,
    ScriptedFailure,
    ScriptedItem,
    ScriptedTurn,
    TurnRule,
    load_script,
    parse_script,
)

__all__ = [
    "HISTORY_ITEM_TYPES",
    "ChatEngine",
    "Chunking",
    "HarmonyEngine",
    "HarmonyOptions",
    "Script",
    "ScriptedEngine",
    "ScriptedFailure",
    "ScriptedItem",
    "ScriptedTurn",
    "TurnRule",
    "load_script",
    "parse_script",
    "ChatOptions",
    "Engine",
    "EngineEvent",
    "EngineRequest",
    "ForcedTool",
    "FunctionTool",
    "HistorySegment",
    "ItemDelta",
    "ItemFinished",
    "ItemStarted",
    "McpServerTools",
    "TextFormat",
    "TurnFinished",
    "UpstreamConfig",
    "Usage",
]
