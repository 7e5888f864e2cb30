from __future__ import annotations

from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.realtime import (
    RealtimeConversationItemAssistantMessage,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemUserMessage,
    RealtimeServerEvent,
    ResponseOutputItemAddedEvent,
)
from pydantic import Field, TypeAdapter

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.events import HistoryAddedEvent, HistoryUpdatedEvent
from antiphon.realtime.history import ConversationHistory

ADAPTER: TypeAdapter[RealtimeServerEvent] = TypeAdapter(
    Annotated[RealtimeServerEvent, Field(discriminator="type")]
)


def server(type_: str, **fields: object) -> RealtimeServerEvent:
    return ADAPTER.validate_python({"type": type_, "event_id": "evt", **fields})


def user_item(item_id: str, text: str = "hi") -> dict[str, object]:
    content = [{"type": "input_text", "text": text}]
    return {"id": item_id, "type": "message", "role": "user", "content": content}


def assistant_item(item_id: str, content: list[dict[str, object]]) -> dict[str, object]:
    return {"id": item_id, "type": "message", "role": "assistant", "content": content}


def text_delta(
    item_id: str, delta: str, kind: str = "response.output_text.delta"
) -> RealtimeServerEvent:
    ids = {"response_id": "resp_1", "item_id": item_id, "output_index": 0, "content_index": 0}
    return server(kind, delta=delta, **ids)


def test_added_item_enters_history_and_is_reported() -> None:
    history = ConversationHistory()
    change = history.apply(server("conversation.item.added", item=user_item("u1")))
    assert isinstance(change, HistoryAddedEvent)
    assert [item.id for item in history.items] == ["u1"]


def test_done_for_a_known_item_is_an_update_not_a_duplicate() -> None:
    history = ConversationHistory()
    history.apply(server("conversation.item.added", item=user_item("u1", "a")))
    change = history.apply(server("conversation.item.done", item=user_item("u1", "b")))
    assert isinstance(change, HistoryUpdatedEvent)
    assert len(history) == 1
    item = history.get("u1")
    assert isinstance(item, RealtimeConversationItemUserMessage)
    assert item.content[0].text == "b"


def test_transcript_delta_updates_history_and_emits_history_updated() -> None:
    # openai-agents #2940: transcript deltas updated history without telling the application.
    history = ConversationHistory()
    history.apply(
        server(
            "response.output_item.added",
            response_id="resp_1",
            output_index=0,
            item=assistant_item("a1", [{"type": "output_audio"}]),
        )
    )
    first = history.apply(text_delta("a1", "Hel", "response.output_audio_transcript.delta"))
    second = history.apply(text_delta("a1", "lo", "response.output_audio_transcript.delta"))
    assert isinstance(first, HistoryUpdatedEvent)
    assert isinstance(second, HistoryUpdatedEvent)
    item = second.item
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    assert item.content[0].transcript == "Hello"


def test_delta_for_an_unannounced_item_starts_an_assistant_message() -> None:
    history = ConversationHistory()
    change = history.apply(text_delta("a9", "hi"))
    assert isinstance(change, HistoryAddedEvent)
    item = history.get("a9")
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    assert item.content[0].text == "hi"


def test_final_item_without_text_keeps_the_streamed_text() -> None:
    history = ConversationHistory()
    history.apply(text_delta("a1", "streamed"))
    done = assistant_item("a1", [{"type": "output_text"}])
    history.apply(server("response.output_item.done", response_id="r", output_index=0, item=done))
    item = history.get("a1")
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    assert item.content[0].text == "streamed"


def test_audio_bytes_are_not_kept_in_history() -> None:
    history = ConversationHistory()
    part: dict[str, object] = {"type": "output_audio", "audio": "AAAA", "transcript": "hi"}
    history.apply(server("conversation.item.retrieved", item=assistant_item("a1", [part])))
    item = history.get("a1")
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    assert item.content[0].audio is None
    assert item.content[0].transcript == "hi"


def test_input_transcription_sets_the_user_transcript() -> None:
    history = ConversationHistory()
    audio_item = {
        "id": "u1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio"}],
    }
    history.apply(server("conversation.item.added", item=audio_item))
    history.apply(
        server(
            "conversation.item.input_audio_transcription.delta",
            item_id="u1",
            content_index=0,
            delta="hel",
        )
    )
    change = history.apply(
        server(
            "conversation.item.input_audio_transcription.completed",
            item_id="u1",
            content_index=0,
            transcript="hello",
            usage={"type": "duration", "seconds": 1.0},
        )
    )
    assert isinstance(change, HistoryUpdatedEvent)
    item = history.get("u1")
    assert isinstance(item, RealtimeConversationItemUserMessage)
    assert item.content[0].transcript == "hello"


def test_transcription_of_an_unknown_item_changes_nothing() -> None:
    history = ConversationHistory()
    change = history.apply(
        server(
            "conversation.item.input_audio_transcription.completed",
            item_id="nope",
            content_index=0,
            transcript="x",
            usage={"type": "duration", "seconds": 1.0},
        )
    )
    assert change is None
    assert history.items == ()


def test_deleted_item_leaves_history_with_an_update_carrying_none() -> None:
    history = ConversationHistory()
    history.apply(server("conversation.item.added", item=user_item("u1")))
    change = history.apply(server("conversation.item.deleted", item_id="u1"))
    assert change == HistoryUpdatedEvent("u1", None)
    assert history.items == ()
    assert history.apply(server("conversation.item.deleted", item_id="u1")) is None


def test_function_call_items_are_kept_and_deltas_on_them_change_nothing() -> None:
    history = ConversationHistory()
    call = {"id": "f1", "type": "function_call", "name": "x", "arguments": "{}", "call_id": "c1"}
    history.apply(server("conversation.item.added", item=call))
    change = history.apply(text_delta("f1", "stray"))
    assert isinstance(change, HistoryUpdatedEvent)
    assert isinstance(history.get("f1"), RealtimeConversationItemFunctionCall)


def test_items_without_id_and_unrelated_events_are_ignored() -> None:
    history = ConversationHistory()
    no_id = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
    assert history.apply(server("conversation.item.added", item=no_id)) is None
    assert history.apply(server("input_audio_buffer.cleared")) is None
    assert len(history) == 0


def test_history_is_bounded_and_forgets_the_oldest_first() -> None:
    history = ConversationHistory(max_items=3)
    for index in range(5):
        history.apply(server("conversation.item.added", item=user_item(f"u{index}")))
    assert [item.id for item in history.items] == ["u2", "u3", "u4"]


def test_history_bound_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        ConversationHistory(max_items=0)


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=20))
def test_streamed_text_is_the_concatenation_of_its_deltas(deltas: list[str]) -> None:
    history = ConversationHistory()
    for delta in deltas:
        history.apply(text_delta("a1", delta))
    item = history.get("a1")
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    assert item.content[0].text == "".join(deltas)


def test_history_never_mutates_the_server_events_item() -> None:
    history = ConversationHistory()
    event = server(
        "response.output_item.added",
        response_id="resp_1",
        output_index=0,
        item=assistant_item("a1", [{"type": "output_text", "text": ""}]),
    )
    history.apply(event)
    history.apply(text_delta("a1", "grown"))
    assert isinstance(event, ResponseOutputItemAddedEvent)
    assert isinstance(event.item, RealtimeConversationItemAssistantMessage)
    assert event.item.content[0].text == ""


def test_items_are_live_views_that_grow_in_place() -> None:
    history = ConversationHistory()
    added = history.apply(text_delta("a1", "Hel"))
    history.apply(text_delta("a1", "lo"))
    assert isinstance(added, HistoryAddedEvent)
    assert isinstance(added.item, RealtimeConversationItemAssistantMessage)
    assert added.item.content[0].text == "Hello"


def test_a_delta_for_a_missing_part_of_a_user_message_is_ignored() -> None:
    history = ConversationHistory()
    history.apply(server("conversation.item.added", item=user_item("u1", "hi")))
    history.apply(
        server(
            "conversation.item.input_audio_transcription.delta",
            item_id="u1",
            content_index=3,
            delta="x",
        )
    )
    item = history.get("u1")
    assert isinstance(item, RealtimeConversationItemUserMessage)
    assert len(item.content) == 1
