"""What both batteries ask: prompts with the markers a scripted model keys on, and the tool."""

from __future__ import annotations

from antiphon.check._json import JSON

__all__ = ["HELLO", "LONG_TASK", "REALTIME_WEATHER_TOOL", "WEATHER_PROMPT", "WEATHER_TOOL"]

HELLO = "Say hello in one short sentence."
#: long enough that a real model is still answering when the check cancels it
LONG_TASK = "Count from 1 to 200, one number per line."
WEATHER_PROMPT = "What is the weather in Paris? Use get_weather."
#: a strict Responses function tool
WEATHER_TOOL: JSON = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather of a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
#: the same tool as a Realtime session takes it (Realtime function tools have no ``strict``)
REALTIME_WEATHER_TOOL: JSON = {k: v for k, v in WEATHER_TOOL.items() if k != "strict"}
