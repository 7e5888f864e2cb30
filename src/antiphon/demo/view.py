"""A live terminal view of a Responses stream: one panel per output item, growing as it streams."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field

from openai.types.responses import (
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
)
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

__all__ = ["StreamView"]

_DELTAS = (
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseTextDeltaEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
)
_STYLES = {
    "reasoning": "dim cyan",
    "message": "green",
    "function_call": "yellow",
    "mcp_list_tools": "magenta",
    "mcp_call": "magenta",
}


@dataclass(slots=True)
class _Item:
    title: str
    style: str
    text: list[str] = field(default_factory=list[str])
    status: str = "in_progress"


class LiveView:
    """A picture refreshed on the console while a block runs (:meth:`live`)."""

    _live: Live | None = None

    def render(self) -> Group:
        """The current picture."""
        raise NotImplementedError

    @contextmanager
    def live(self, console: Console) -> Generator[None]:
        """Refresh the view on the console while the block runs."""
        with Live(self.render(), console=console, refresh_per_second=20) as live:
            self._live = live
            try:
                yield
            finally:
                live.update(self.render())
                self._live = None

    def refresh(self) -> None:
        """Show the current picture (when live)."""
        if self._live is not None:
            self._live.update(self.render())


class StreamView(LiveView):
    """Collects events and renders them; use :meth:`live` around the event loop."""

    def __init__(self, title: str) -> None:
        self._title = title
        self._items: dict[int, _Item] = {}
        self._events = 0
        self._last = ""

    def add(self, event: ResponseStreamEvent) -> None:
        """Take one event into the view."""
        self._events += 1
        self._last = event.type
        if isinstance(event, ResponseOutputItemAddedEvent):
            item = event.item
            title = item.type
            if item.type == "function_call":
                title = f"function_call {item.name}"
            elif item.type == "mcp_call":
                title = f"mcp_call {item.server_label}.{item.name}"
            elif item.type == "mcp_list_tools":
                title = f"mcp_list_tools {item.server_label}"
            elif item.type == "message" and item.phase:
                title = f"message ({item.phase})"
            self._items[event.output_index] = _Item(title, _STYLES.get(item.type, "white"))
        elif isinstance(event, _DELTAS):
            self._items[event.output_index].text.append(event.delta)
        elif isinstance(event, ResponseOutputItemDoneEvent):
            shown = self._items[event.output_index]
            shown.status = getattr(event.item, "status", None) or "done"
            if event.item.type == "mcp_call":
                shown.text.append(f"  ->  {event.item.output or event.item.error}")
            elif event.item.type == "mcp_list_tools":
                shown.text.append(", ".join(tool.name for tool in event.item.tools))
        self.refresh()

    def render(self) -> Group:
        """The current picture."""
        panels = [
            Panel(
                Text("".join(item.text), style=item.style),
                title=f"[{index}] {item.title}",
                subtitle=item.status,
                title_align="left",
            )
            for index, item in sorted(self._items.items())
        ]
        footer = Text(f"{self._events} events, last: {self._last}", style="dim")
        return Group(Text(self._title, style="bold"), *panels, footer)
