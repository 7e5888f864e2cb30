"""The ``conversation.item.*`` client events: create, retrieve, delete, truncate.

Clients may create text messages (system, user, assistant), function calls, function call
outputs (whose call must be in the conversation) and MCP approval responses (whose request must
be). Other item kinds are produced by the server only. A created item is echoed with
``conversation.item.added`` and ``conversation.item.done``, so a client's copy of the history is
complete.
"""

from __future__ import annotations

from collections.abc import Callable

from openai.types.realtime import (
    ConversationItem,
    ConversationItemAdded,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDeleteEvent,
    ConversationItemDone,
    ConversationItemRetrieveEvent,
    ConversationItemTruncatedEvent,
    ConversationItemTruncateEvent,
    RealtimeServerEvent,
)
from openai.types.realtime.realtime_server_event import ConversationItemRetrieved

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server.items import ConversationItems

__all__ = ["ItemEvents", "check_item"]

_CREATABLE = ("message", "function_call", "function_call_output", "mcp_approval_response")


class ItemEvents:
    """Answers the ``conversation.item.*`` events over one conversation's items."""

    def __init__(self, items: ConversationItems, ids: Callable[[str], str]) -> None:
        self._items = items
        self._ids = ids

    def create(self, event: ConversationItemCreateEvent) -> list[RealtimeServerEvent]:
        """Add the item after ``previous_item_id`` and echo it."""
        item = event.item
        check_item(item, "item", self._items)
        item_id = item.id or self._ids("item")
        if self._items.has(item_id):
            raise InvalidRequestError(f"Item with id '{item_id}' already exists.", param="item.id")
        update: dict[str, object] = {"id": item_id}
        fields = type(item).model_fields
        if "object" in fields:
            update["object"] = "realtime.item"
        if "status" in fields:
            update["status"] = "completed"
        item = item.model_copy(update=update)
        previous = self._items.insert(item, event.previous_item_id)
        return [
            ConversationItemAdded(
                type="conversation.item.added",
                event_id=self._ids("event"),
                item=item,
                previous_item_id=previous,
            ),
            ConversationItemDone(
                type="conversation.item.done",
                event_id=self._ids("event"),
                item=item,
                previous_item_id=previous,
            ),
        ]

    def retrieve(self, event: ConversationItemRetrieveEvent) -> RealtimeServerEvent:
        """The item, as the server holds it."""
        return ConversationItemRetrieved(
            type="conversation.item.retrieved",
            event_id=self._ids("event"),
            item=self._items.get(event.item_id),
        )

    def delete(self, event: ConversationItemDeleteEvent) -> RealtimeServerEvent:
        """Remove the item."""
        self._items.delete(event.item_id)
        return ConversationItemDeletedEvent(
            type="conversation.item.deleted", event_id=self._ids("event"), item_id=event.item_id
        )

    def truncate(self, event: ConversationItemTruncateEvent) -> RealtimeServerEvent:
        """Cut an assistant item's content to what its audio played by ``audio_end_ms``."""
        self._items.truncate(event.item_id, event.content_index, event.audio_end_ms)
        return ConversationItemTruncatedEvent(
            type="conversation.item.truncated",
            event_id=self._ids("event"),
            item_id=event.item_id,
            content_index=event.content_index,
            audio_end_ms=event.audio_end_ms,
        )


def check_item(item: ConversationItem, param: str, items: ConversationItems | None) -> None:
    """Refuse an item a client may not create here, naming the field at fault.

    With ``items``, the call an output answers (or the approval request an approval response
    answers) must be among them.
    """
    if item.type not in _CREATABLE:
        raise InvalidRequestError(
            f"Items of type {item.type!r} are produced by the server; a client can create "
            f"{', '.join(_CREATABLE)} items.",
            param=f"{param}.type",
        )
    if item.type == "message":
        for index, part in enumerate(item.content):
            if part.type not in (None, "input_text", "output_text", "text"):
                raise InvalidRequestError(
                    f"Content of type {part.type!r} is not supported: this server has no speech "
                    "pipeline configured (text only).",
                    param=f"{param}.content[{index}].type",
                )
    elif items is None:
        return
    elif item.type == "function_call_output":
        if not any(
            other.type == "function_call" and other.call_id == item.call_id for other in items
        ):
            raise InvalidRequestError(
                f"No function call found for function_call_output with call_id '{item.call_id}'.",
                param=f"{param}.call_id",
            )
    elif item.type == "mcp_approval_response" and not any(
        other.type == "mcp_approval_request" and other.id == item.approval_request_id
        for other in items
    ):
        raise InvalidRequestError(
            f"No MCP approval request found with id '{item.approval_request_id}'.",
            param=f"{param}.approval_request_id",
        )
