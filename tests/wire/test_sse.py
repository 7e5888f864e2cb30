from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.responses import ResponseTextDeltaEvent

from antiphon.exceptions import StreamLimitError
from antiphon.wire.sse import DONE, SSEDecoder, SSEEncoder, SSEMessage


def _delta(text: str, seq: int = 3) -> ResponseTextDeltaEvent:
    return ResponseTextDeltaEvent.model_construct(
        type="response.output_text.delta",
        item_id="msg_1",
        output_index=0,
        content_index=0,
        delta=text,
        logprobs=[],
        sequence_number=seq,
    )


def _decode_all(data: bytes, cuts: list[int]) -> list[SSEMessage]:
    decoder = SSEDecoder()
    messages: list[SSEMessage] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        messages += decoder.feed(data[start:cut])
        start = cut
    return messages + decoder.finish()


def test_encoder_writes_event_name_and_one_compact_data_line() -> None:
    frame = SSEEncoder().encode(_delta("a\nb"))
    head, data, blank, end = frame.split(b"\n")
    assert head == b"event: response.output_text.delta"
    assert (blank, end) == (b"", b"")
    payload = json.loads(data.removeprefix(b"data: "))
    assert payload["delta"] == "a\nb"
    assert payload["sequence_number"] == 3


def test_encoder_leaves_unset_fields_off_the_wire() -> None:
    event = ResponseTextDeltaEvent.model_construct(type="response.output_text.delta", delta="x")
    data = SSEEncoder().encode(event).split(b"\n")[1].removeprefix(b"data: ")
    assert json.loads(data) == {"type": "response.output_text.delta", "delta": "x"}


def test_keepalive_is_a_comment_the_decoder_ignores() -> None:
    frame = SSEEncoder().keepalive("still\nworking")
    assert frame == b": still working\n\n"
    assert SSEDecoder().feed(frame) == []


def test_encoded_stream_round_trips_through_the_decoder() -> None:
    encoder = SSEEncoder()
    stream = b"".join(encoder.encode(_delta(t, i)) for i, t in enumerate(["hé", "llo"]))
    messages = SSEDecoder().feed(stream)
    assert [m.event for m in messages] == ["response.output_text.delta"] * 2
    assert [json.loads(m.data)["delta"] for m in messages] == ["hé", "llo"]


def test_decoder_reads_an_openai_chat_stream_to_done() -> None:
    body = b'data: {"id":"c1","choices":[]}\n\ndata: [DONE]\n\n'
    assert [m.data for m in SSEDecoder().feed(body)] == ['{"id":"c1","choices":[]}', DONE]


@pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\n"])
def test_decoder_accepts_every_line_ending(newline: bytes) -> None:
    body = newline.join([b"event: ping", b"data: one", b"data: two", b"", b""])
    assert SSEDecoder().feed(body) == [SSEMessage("one\ntwo", "ping")]


def test_decoder_handles_crlf_split_across_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == [SSEMessage("a")]
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [SSEMessage("b")]


def test_decoder_field_rules() -> None:
    body = b"\xef\xbb\xbfid: 7\nretry: 1500\ndata\ndata:x\n:comment\nbogus: 1\n\n"
    decoder = SSEDecoder()
    assert decoder.feed(body) == [SSEMessage("\nx", "message", "7")]
    assert decoder.retry_ms == 1500


def test_bom_split_across_chunks_is_stripped() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb\xbfdata: z\n\n") == [SSEMessage("z")]


def test_last_event_id_persists_and_events_without_data_are_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 4\nevent: x\n\ndata: a\n\n") == [SSEMessage("a", "message", "4")]


def test_cut_stream_drops_the_partial_event_and_says_so() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: whole\n\ndata: par") == [SSEMessage("whole")]
    assert decoder.has_partial_event
    assert decoder.finish() == []
    assert not decoder.has_partial_event


def test_line_longer_than_the_limit_is_a_typed_error_even_without_a_newline() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    with pytest.raises(StreamLimitError) as caught:
        decoder.feed(b"data: " + b"x" * 20)
    assert (caught.value.limit, caught.value.size) == (16, 26)


def test_event_larger_than_the_limit_is_a_typed_error() -> None:
    decoder = SSEDecoder(max_line_bytes=100, max_event_bytes=20)
    decoder.feed(b"data: 0123456789\n")
    with pytest.raises(StreamLimitError, match="SSE event"):
        decoder.feed(b"data: 0123456789\n")
    assert decoder.feed(b"data: ok\n\n") == [SSEMessage("ok")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert SSEDecoder().feed(b"data: \xff\n\n") == [SSEMessage("\ufffd")]


_LINES = st.sampled_from(
    [
        b"data: alpha",
        b"data:beta",
        b"event: e",
        b": note",
        b"id: 9",
        b"",
        b"data: \xc3\xa9t\xc3\xa9",
    ]
)


@given(
    lines=st.lists(_LINES, max_size=30),
    newline=st.sampled_from([b"\n", b"\r", b"\r\n"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_every_chunking_decodes_to_the_same_messages(
    lines: list[bytes], newline: bytes, cuts: list[int]
) -> None:
    data = newline.join([*lines, b"", b""])
    cuts = [c for c in cuts if c <= len(data)]
    assert _decode_all(data, cuts) == _decode_all(data, [])


def test_an_empty_chunk_between_cr_and_lf_does_not_split_the_line_end() -> None:
    decoder = SSEDecoder()
    parts = [b"data: a\r", b"", b"\ndata: b\r\n\r\n"]
    messages = [message for part in parts for message in decoder.feed(part)]
    assert messages == [SSEMessage(data="a\nb")]


_MESSAGES = st.lists(
    st.sampled_from(
        [
            b'data: {"a":1}\n\n',  # one data line: the decoder's whole-message path
            b"data: \xc3\xa9\n\n",
            b"data: \xff\n\n",
            b"data: \n\n",
            b"id: 7\ndata: x\n\n",  # the line-by-line path
            b"event: e\ndata: y\n\n",
            b"data: a\ndata: b\n\n",
            b"data: cr\r\n\r\n",
            b": keep-alive\n\n",
        ]
    ),
    max_size=20,
)


@given(messages=_MESSAGES)
def test_whole_messages_decode_as_they_do_byte_by_byte(messages: list[bytes]) -> None:
    whole = SSEDecoder()
    by_message = [m for chunk in [b"\xef\xbb\xbf", *messages] for m in whole.feed(chunk)]
    data = b"\xef\xbb\xbf" + b"".join(messages)
    assert by_message == _decode_all(data, list(range(len(data))))


def test_a_whole_message_over_a_limit_is_refused_as_line_by_line() -> None:
    for limits, chunk in (
        ({"max_line_bytes": 10}, b"data: " + b"x" * 5 + b"\n\n"),
        ({"max_event_bytes": 5}, b"data: " + b"x" * 5 + b"\n\n"),
    ):
        fast, slow = SSEDecoder(**limits), SSEDecoder(**limits)
        fast.feed(b"data: \n\n")  # past the stream's start: the whole-message path applies
        slow.feed(b"data: \n\n")
        with pytest.raises(StreamLimitError) as by_message:
            fast.feed(chunk)
        by_line: StreamLimitError | None = None
        for index in range(len(chunk)):
            try:
                slow.feed(chunk[index : index + 1])
            except StreamLimitError as exc:
                by_line = exc
                break
        assert by_line is not None
        assert by_message.value.limit == by_line.limit
    exact = SSEDecoder(max_line_bytes=11, max_event_bytes=6)
    exact.feed(b"data: \n\n")
    assert exact.feed(b"data: xxxxx\n\n") == [SSEMessage("xxxxx")]
