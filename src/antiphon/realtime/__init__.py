"""The realtime agents SDK: agents, tools, handoffs and guardrails over a Realtime session."""

from __future__ import annotations

__all__: list[str] = []
