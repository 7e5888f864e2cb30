"""What the ledger and its item handles share: sequence numbers, the outbox, the guards.

:class:`LedgerCore` numbers every event it emits (0, 1, 2, ... for the whole stream) and keeps
them until the ledger's owner drains them. :class:`ItemHandle` is the base of the per-item state
machines: it emits ``response.output_item.added`` / ``.done`` and refuses an operation its stage
does not allow with :class:`~antiphon.LedgerStateError`, before anything is emitted, so a refused
call leaves the stream as it was.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal, TypeAlias, TypeVar

from openai.types.responses import (
    ResponseOutputItem,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseStreamEvent,
)

from antiphon.exceptions import LedgerStateError
from antiphon.wire._response import construct
from antiphon.wire.ids import IdFactory

__all__ = ["ItemHandle", "LedgerCore", "Stage"]

#: The response-level stage: not started, queued (background), in progress, or its final status.
Stage: TypeAlias = Literal[
    "new", "queued", "in_progress", "completed", "incomplete", "failed", "cancelled"
]

_E = TypeVar("_E", bound=ResponseStreamEvent)


class LedgerCore:
    """Sequence numbers, the event outbox and the response stage of one ledger."""

    __slots__ = ("ids", "outbox", "seq", "stage")

    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids
        self.outbox: list[ResponseStreamEvent] = []
        self.seq = 0
        self.stage: Stage = "new"

    def emit(self, event_type: type[_E], /, **fields: object) -> _E:
        """Build an event with the next sequence number and queue it for sending."""
        event = construct(event_type, sequence_number=self.seq, **fields)
        self.seq += 1
        self.outbox.append(event)
        return event

    def require(self, what: str, *stages: Stage) -> None:
        """Refuse ``what`` unless the response is in one of ``stages``."""
        if self.stage not in stages:
            raise LedgerStateError(
                what,
                expected="response " + " or ".join(stages),
                actual=f"response {self.stage}",
            )


class ItemHandle(ABC):
    """One output item of a response: its id, its output_index and its state machine.

    Handles are made by :class:`~antiphon.wire.ResponseLedger` (``add_*`` methods), which assigns
    the output_index. Their methods queue events in the ledger; ``ledger.drain()`` hands them out.
    """

    __slots__ = ("_core", "_done_item", "_stage", "id", "output_index")

    #: The item ``type``, used in error messages.
    kind: str = "item"

    def __init__(self, core: LedgerCore, output_index: int, item_id: str, stage: str) -> None:
        self._core = core
        self.id = item_id
        self.output_index = output_index
        self._stage = stage
        self._done_item: ResponseOutputItem | None = None

    @property
    def closed(self) -> bool:
        """True once ``response.output_item.done`` has been emitted for this item."""
        return self._done_item is not None

    @property
    def stage(self) -> str:
        """The stage of the item's state machine (``"done"`` at the end)."""
        return self._stage

    @property
    def item(self) -> ResponseOutputItem:
        """The item as it stands: the exact ``output_item.done`` item once done."""
        return self._done_item if self._done_item is not None else self._snapshot("in_progress")

    def abandon(self, *, failed: bool = False) -> None:
        """Close the item unfinished: status ``incomplete``, or ``failed`` if asked and allowed.

        The closing events keep the stream valid (open parts and argument streams get their
        ``.done`` events). The ledger calls this for every open item when a response ends
        early; the item types that have no ``failed`` status end ``incomplete`` either way.
        """
        self._expect("abandon", *self._open_stages())
        self._abandon(failed)

    def _expect(self, what: str, *stages: str) -> None:
        # On the hot path (every delta): the message is only formatted when the check fails.
        if self._core.stage != "in_progress":
            self._core.require(f"{what} ({self.kind} {self.id})", "in_progress")
        if self._stage not in stages:
            raise LedgerStateError(
                f"{what} ({self.kind} {self.id})",
                expected=" or ".join(stages),
                actual=self._stage,
            )

    def _emit_added(self) -> None:
        self._core.emit(
            ResponseOutputItemAddedEvent,
            type="response.output_item.added",
            output_index=self.output_index,
            item=self._snapshot("in_progress"),
        )

    def _finish(self, status: str) -> None:
        item = self._snapshot(status)
        self._core.emit(
            ResponseOutputItemDoneEvent,
            type="response.output_item.done",
            output_index=self.output_index,
            item=item,
        )
        self._done_item = item
        self._stage = "done"

    def _item_event(self, event_type: type[_E], /, **fields: object) -> _E:
        """Emit an item-scoped event: ``item_id`` and ``output_index`` filled in."""
        return self._core.emit(
            event_type, item_id=self.id, output_index=self.output_index, **fields
        )

    @abstractmethod
    def _open_stages(self) -> tuple[str, ...]:
        """Every stage but ``"done"``."""

    @abstractmethod
    def _snapshot(self, status: str) -> ResponseOutputItem:
        """The item built from the current state, with ``status`` where the type has one."""

    @abstractmethod
    def _abandon(self, failed: bool) -> None:
        """Emit the events that close the item early, ending with ``_finish``."""
