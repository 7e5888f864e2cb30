"""The sans-I/O parts of record and replay: redaction, differences, matching, the file format."""

from __future__ import annotations

from pathlib import Path

import pytest

from antiphon.exceptions import ConfigurationError
from antiphon.record import ReplayBook, ReplayMismatch, read_cassette
from antiphon.record.book import client_frame_difference
from antiphon.record.cassette import CassetteWriter, Chunk, HttpExchange, WebSocketExchange
from antiphon.record.diff import first_difference
from antiphon.record.redact import (
    REDACTED,
    redact_answer,
    redact_headers,
    redact_json,
    redact_query,
)


def test_an_answer_loses_its_issued_secrets_and_keeps_its_shape() -> None:
    issued = b'{"value":"ek_abc","expires_at":17,"session":{"type":"realtime","model":"m"}}'
    assert redact_answer(issued) == (
        b'{"value":"[redacted]","expires_at":17,"session":{"type":"realtime","model":"m"}}'
    )
    nested = b'{"id":"s","client_secret":{"value":"ek_abc","expires_at":17}}'
    assert redact_answer(nested) == (
        b'{"id":"s","client_secret":{"value":"[redacted]","expires_at":17}}'
    )
    echoed = b'{"tools":[{"type":"mcp","authorization":"tok","server_label":"x"}]}'
    assert redact_answer(echoed) == (
        b'{"tools":[{"type":"mcp","authorization":"[redacted]","server_label":"x"}]}'
    )
    # What answers legitimately hold under secret-sounding names stays intact.
    logprobs = b'{"type":"x","logprobs":[{"token":"Hi","logprob":-0.1}]}'
    schema = b'{"input_schema":{"properties":{"headers":{"type":"object"}}},"password":null}'
    assert redact_answer(logprobs) is None
    assert redact_answer(schema) is None
    # Nothing to hide, or not JSON: kept as it came (None), byte for byte.
    assert redact_answer(b'{"value": "plain", "id": 1}') is None
    assert redact_answer(b"data: not json\n\n") is None


def test_secrets_are_redacted_and_the_rest_kept() -> None:
    tool = {"type": "mcp", "server_label": "x", "authorization": "tok", "headers": {"X-Key": "k"}}
    body: dict[str, object] = {
        "model": "m",
        "tools": [tool],
        "session": {"client_secret": {"value": "ek_1"}},
    }
    assert redact_json(body) == {
        "model": "m",
        "tools": [
            {
                "type": "mcp",
                "server_label": "x",
                "authorization": REDACTED,
                "headers": {"X-Key": REDACTED},
            }
        ],
        "session": {"client_secret": REDACTED},
    }
    assert tool["authorization"] == "tok"  # a copy: the request is not changed
    assert redact_headers([("Authorization", "Bearer sk"), ("Accept", "*/*")]) == [
        ("Authorization", REDACTED),
        ("Accept", "*/*"),
    ]
    assert redact_query([("api_key", "sk"), ("model", "m")]) == [
        ("api_key", REDACTED),
        ("model", "m"),
    ]


def test_the_first_difference_is_named_by_its_path() -> None:
    recorded = {"input": [{"content": "Hi"}], "model": "m"}
    assert first_difference(recorded, recorded) is None
    got = {"input": [{"content": "Hello"}], "model": "m"}
    assert first_difference(recorded, got) == ".input[0].content: recorded 'Hi', got 'Hello'"
    assert (
        first_difference(recorded, {"model": "m"})
        == ".input: missing (recorded [{'content': 'Hi'}])"
    )
    assert first_difference({"a": [1]}, {"a": [1, 2]}) == ".a: recorded 1 entries, got 2"
    assert (
        client_frame_difference('{"type": "x", "event_id": "e1"}', {"type": "x", "event_id": "e2"})
        is None
    )


def _http(t: float, body: object, reply: bytes) -> HttpExchange:
    return HttpExchange(t, "POST", "/v1/responses", [], [], body, 200, [], [Chunk(0.0, reply)])


def test_a_request_takes_the_first_unused_matching_exchange() -> None:
    one, two, three = (
        _http(0.0, {"input": "a"}, b"1"),
        _http(1.0, {"input": "b"}, b"2"),
        _http(2.0, {"input": "a"}, b"3"),
    )
    book = ReplayBook([one, two, three])
    # Out of the recorded order (a concurrent client), and the same request twice.
    assert book.take_http("POST", "/v1/responses", [], {"input": "b"}) is two
    assert book.take_http("POST", "/v1/responses", [], {"input": "a"}) is one
    with pytest.raises(
        ReplayMismatch, match=r"departs from the recording at \.body\.input: recorded 'a', got 'c'"
    ):
        book.take_http("POST", "/v1/responses", [], {"input": "c"})
    assert book.take_http("POST", "/v1/responses", [], {"input": "a"}) is three
    with pytest.raises(ReplayMismatch, match="no recorded request is left"):
        book.take_http("POST", "/v1/responses", [], {"input": "a"})
    assert book.unused() == 0


def test_a_cassette_round_trips_and_a_broken_one_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        writer = CassetteWriter(stream)
        writer.write(_http(0.5, {"input": "a"}, b"\xff\xfe not utf-8"))
        writer.write(WebSocketExchange(0.1, "/v1/realtime", [("model", "m")], []))
    socket, http = read_cassette(path)  # ordered by start time
    assert isinstance(socket, WebSocketExchange)
    assert isinstance(http, HttpExchange)
    assert http.chunks[0].data == b"\xff\xfe not utf-8"
    path.write_text(path.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="line 4 is not JSON"):
        read_cassette(path)
    path.write_text('{"cassette": "other"}\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not an antiphon cassette"):
        read_cassette(path)
