"""Where the text of one engine item goes: the ledger handle its classification calls for.

A :class:`Sink` hides which output item type a model message became, so the turn loop feeds
every item the same way (``delta``..., ``done``). Server-side tool items (MCP, code interpreter,
web search) arrive with the server-side tools; until a request can declare them, the classifier
never returns those kinds.
"""

from __future__ import annotations

from typing import Protocol

from antiphon.engines.base import ItemStarted
from antiphon.exceptions import ProtocolError
from antiphon.harmony.classifier import Classification, MessageKind
from antiphon.wire._content import MessageHandle
from antiphon.wire._tools import FunctionCallHandle
from antiphon.wire.ledger import ResponseLedger

__all__ = ["Sink", "open_sink"]


class Sink(Protocol):
    """One open output item being streamed."""

    def delta(self, text: str, /) -> None:
        """Append text (message text, reasoning text, or call arguments)."""
        ...

    def done(self) -> None:
        """Close the item."""
        ...


class _MessageSink:
    __slots__ = ("_handle",)

    def __init__(self, handle: MessageHandle) -> None:
        self._handle = handle
        handle.open_text()

    def delta(self, text: str) -> None:
        self._handle.delta(text)

    def done(self) -> None:
        self._handle.done()


def open_sink(ledger: ResponseLedger, event: ItemStarted, verdict: Classification) -> Sink:
    """Open the output item ``verdict`` calls for and return where its text goes."""
    kind = verdict.kind
    if kind is MessageKind.REASONING:
        return ledger.add_reasoning()  # a reasoning handle is itself a sink
    if kind is MessageKind.MESSAGE:
        # Only an engine that knows the channel (harmony) says whether this is a preamble.
        return _MessageSink(ledger.add_message(phase=event.phase))
    if kind is MessageKind.FUNCTION_CALL:
        handle: FunctionCallHandle = ledger.add_function_call(
            verdict.name or "", call_id=event.call_id
        )
        return handle
    raise ProtocolError(f"no output item for a {kind.value} message without its tool declared")
