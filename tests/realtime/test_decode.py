"""Decoding one server frame: the GA union, and the three failures told apart (pure, no socket)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from antiphon.realtime.model import ServerEventReceived, TransportFailed, UnknownServerEvent
from antiphon.realtime.websocket import decode_server_frame


def test_a_json_value_that_is_not_an_event_is_invalid() -> None:
    result = decode_server_frame("[1, 2]")
    assert isinstance(result, TransportFailed)
    assert result.error.context == "invalid server event"


@given(st.one_of(st.text(), st.binary()))
def test_decoding_never_raises(frame: str | bytes) -> None:
    assert isinstance(
        decode_server_frame(frame),
        ServerEventReceived | UnknownServerEvent | TransportFailed,
    )


@given(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4))
def test_objects_with_a_known_type_but_bad_fields_fail_with_that_type(
    fields: dict[str, int | str],
) -> None:
    fields.pop("response", None)
    result = decode_server_frame(json.dumps({**fields, "type": "response.created"}))
    assert isinstance(result, TransportFailed)
    assert result.error.context == "invalid server event response.created"
