"""The conversation's items: truncation to what was heard, through the client event."""

from __future__ import annotations

import pytest
from openai.types.realtime import RealtimeConversationItemAssistantMessage

from antiphon.realtime_server.conversation import RealtimeConversation
from antiphon.realtime_server.items import AudioSpan
from antiphon.wire.ids import SequentialIds
from tests.realtime_server.support import Spy, error_of, send, user, wire


def _spoken(conversation: RealtimeConversation) -> str:
    """An assistant item said in three spoken pieces of 1 s each."""
    item = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "One. Two. Three."}],
    }
    [added, _] = wire(send(conversation, {"type": "conversation.item.create", "item": item}).events)
    item_id = added["item"]["id"]
    for piece in ("One. ", "Two. ", "Three."):
        conversation.items.record_audio(item_id, 0, AudioSpan(piece, 1000))
    return item_id


def _truncate(item_id: str, audio_end_ms: int, content_index: int = 0) -> dict[str, object]:
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": content_index,
        "audio_end_ms": audio_end_ms,
    }


@pytest.mark.parametrize(
    ("audio_end_ms", "heard"),
    [(0, ""), (1000, "One. "), (1500, "One. Tw"), (3000, "One. Two. Three.")],
)
def test_truncate_keeps_what_was_heard(audio_end_ms: int, heard: str) -> None:
    conversation = RealtimeConversation("m", Spy().served(), ids=SequentialIds())
    item_id = _spoken(conversation)
    [done] = wire(send(conversation, _truncate(item_id, audio_end_ms)).events)
    assert done == {
        "type": "conversation.item.truncated",
        "event_id": done["event_id"],
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": audio_end_ms,
    }
    item = conversation.items.get(item_id)
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    assert item.content[0].transcript == heard
    assert item.content[0].text == heard


def test_truncate_refuses_what_it_cannot_cut_naming_the_field() -> None:
    conversation = RealtimeConversation("m", Spy().served(), ids=SequentialIds())
    item_id = _spoken(conversation)
    assert error_of(send(conversation, _truncate(item_id, 3001)))["param"] == "audio_end_ms"
    assert error_of(send(conversation, _truncate(item_id, 0, 1)))["param"] == "content_index"
    assert error_of(send(conversation, _truncate("nope", 0)))["code"] == "item_not_found"
    [added, _] = wire(send(conversation, user("hi")).events)
    assert error_of(send(conversation, _truncate(added["item"]["id"], 0)))["param"] == "item_id"
    # A text-only assistant item has no audio to cut.
    text = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "x"}],
    }
    [added, _] = wire(send(conversation, {"type": "conversation.item.create", "item": text}).events)
    error = error_of(send(conversation, _truncate(added["item"]["id"], 0)))
    assert error["param"] == "content_index"
    # Nothing was cut by the refusals.
    kept = conversation.items.get(item_id)
    assert isinstance(kept, RealtimeConversationItemAssistantMessage)
    assert kept.content[0].text == "One. Two. Three."
