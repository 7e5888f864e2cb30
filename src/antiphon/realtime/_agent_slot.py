"""Which agent is speaking: the one piece of state that handoffs and ``update_agent`` change."""

from __future__ import annotations

from antiphon.realtime.agent import RealtimeAgent

__all__ = ["AgentSlot"]


class AgentSlot:
    """Holds the current agent.

    Readers take it when they need it: a tool call captures it when it starts, so a handoff
    while the tool runs never re-routes that call.
    """

    __slots__ = ("_agent",)

    def __init__(self, agent: RealtimeAgent) -> None:
        self._agent = agent

    @property
    def current(self) -> RealtimeAgent:
        """The agent speaking now."""
        return self._agent

    def switch(self, agent: RealtimeAgent) -> None:
        """Make ``agent`` current (after its ``session.update`` was built)."""
        self._agent = agent
