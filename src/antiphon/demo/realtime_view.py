"""A live terminal view of a realtime agent session: one panel per conversation item.

It takes both kinds of event a :class:`~antiphon.realtime.RealtimeSession` delivers: the server's
own events (``raw_model_event``, for the items and their streamed text or arguments) and the
SDK's events (the handoff, the tool results, which agent is speaking).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openai.types.realtime import (
    ConversationItemAdded,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemUserMessage,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
)
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from antiphon.demo.view import LiveView
from antiphon.realtime import (
    AgentStartEvent,
    HandoffEvent,
    RawModelEvent,
    RealtimeSessionEvent,
    ToolEndEvent,
)

__all__ = ["RealtimeView"]

_STYLES = {"user": "bold", "message": "green", "function_call": "yellow", "handoff": "bold blue"}


@dataclass(slots=True)
class _Panel:
    title: str
    style: str
    text: list[str] = field(default_factory=list[str])
    status: str = "in_progress"


class RealtimeView(LiveView):
    """Collects session events and renders them; use :meth:`live` around the event loop."""

    def __init__(self, title: str, agent: str) -> None:
        self._title = title
        self._agent = agent
        # Keyed by item id (or a synthetic key for SDK-only panels); insertion order is display
        # order, which is the order things happened in.
        self._panels: dict[str, _Panel] = {}
        self._calls: dict[str, str] = {}  # call id -> the item id of its function_call panel
        self._server_events = 0
        self._sdk_events = 0
        self._last = ""

    def add(self, event: RealtimeSessionEvent) -> None:
        """Take one session event into the view."""
        if isinstance(event, RawModelEvent):
            self._server_events += 1
            self._last = event.event.type
            self._server(event)
        else:
            self._sdk_events += 1
            self._last = f"sdk {event.type}"
            self._sdk(event)
        self.refresh()

    def _server(self, raw: RawModelEvent) -> None:
        event = raw.event
        if isinstance(event, ConversationItemAdded):
            item = event.item
            if isinstance(item, RealtimeConversationItemUserMessage) and item.id is not None:
                text = "".join(part.text or "" for part in item.content)
                self._panels[item.id] = _Panel("user message", _STYLES["user"], [text], "sent")
        elif isinstance(event, ResponseOutputItemAddedEvent) and event.item.id is not None:
            item = event.item
            title = f"{item.type} ({self._agent})"
            if isinstance(item, RealtimeConversationItemFunctionCall):
                title = f"function_call {item.name} ({self._agent})"
                self._calls[item.call_id or item.id or ""] = item.id or ""
            self._panels[event.item.id] = _Panel(title, _STYLES.get(item.type, "white"))
        elif isinstance(event, ResponseTextDeltaEvent | ResponseFunctionCallArgumentsDeltaEvent):
            panel = self._panels.get(event.item_id)
            if panel is not None:
                panel.text.append(event.delta)
        elif isinstance(event, ResponseOutputItemDoneEvent) and event.item.id is not None:
            panel = self._panels.get(event.item.id)
            if panel is not None:
                panel.status = getattr(event.item, "status", None) or "done"

    def _sdk(self, event: RealtimeSessionEvent) -> None:
        if isinstance(event, AgentStartEvent):
            self._agent = event.agent.name
        elif isinstance(event, HandoffEvent):
            self._agent = event.to_agent.name
            text = f"{event.from_agent.name} -> {event.to_agent.name}"
            panel = _Panel("handoff (sdk)", _STYLES["handoff"], [text], "switched")
            self._panels[f"handoff {event.call_id}"] = panel
        elif isinstance(event, ToolEndEvent):
            panel = self._panels.get(self._calls.get(event.call_id, ""))
            if panel is not None:
                # The output exactly as the SDK sent it back to the model.
                panel.text.append(f"  ->  {event.output}")
                panel.status = "failed" if event.error is not None else "answered"

    def render(self) -> Group:
        """The current picture."""
        panels = [
            Panel(
                Text("".join(panel.text), style=panel.style),
                title=panel.title,
                subtitle=panel.status,
                title_align="left",
            )
            for panel in self._panels.values()
        ]
        footer = Text(
            f"{self._server_events} server events, {self._sdk_events} SDK events, "
            f"last: {self._last}",
            style="dim",
        )
        return Group(Text(self._title, style="bold"), *panels, footer)
