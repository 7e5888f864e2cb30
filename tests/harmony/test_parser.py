from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from antiphon.exceptions import ProtocolError
from antiphon.harmony.messages import SPECIAL_TOKENS, HarmonyHeader
from antiphon.harmony.parser import (
    ContentDelta,
    HarmonyEvent,
    HarmonyStreamParser,
    MessageEnd,
    MessageStart,
    SkippedText,
    parse_text,
)
from tests.harmony.transcripts import TRANSCRIPTS, Transcript

BREAKS = ("<|end|>", "<|call|>", "<|return|>", "<|start|>")


def run(chunks: Sequence[str], *, role: str = "assistant") -> list[HarmonyEvent]:
    parser = HarmonyStreamParser(role=role, max_header_chars=64)
    events: list[HarmonyEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


def coalesce(events: Sequence[HarmonyEvent]) -> list[HarmonyEvent]:
    """The normal form two chunkings must agree on: adjacent deltas (and skips) merged."""
    merged: list[HarmonyEvent] = []
    for event in events:
        last = merged[-1] if merged else None
        if isinstance(event, ContentDelta) and isinstance(last, ContentDelta):
            merged[-1] = ContentDelta(last.text + event.text)
        elif isinstance(event, SkippedText) and isinstance(last, SkippedText):
            merged[-1] = SkippedText(last.text + event.text)
        else:
            merged.append(event)
    return merged


def raw_of(event: HarmonyEvent) -> str:
    if isinstance(event, MessageStart):
        return event.raw
    if isinstance(event, MessageEnd):
        return event.stop or ""
    return event.text


def assert_well_formed(events: Sequence[HarmonyEvent]) -> None:
    """Starts and ends alternate, deltas only inside a message, no empty or token-bearing delta."""
    open_message = False
    for event in events:
        if isinstance(event, MessageStart):
            assert not open_message
            open_message = True
        elif isinstance(event, MessageEnd):
            assert open_message
            open_message = False
        elif isinstance(event, ContentDelta):
            assert open_message
            assert event.text
            assert not any(token in event.text for token in BREAKS)
    assert not open_message


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.name)
def test_transcript_parses_to_its_messages(transcript: Transcript) -> None:
    parsed = parse_text(transcript.text)
    assert [p.message for p in parsed] == [e.message for e in transcript.expected]
    assert [p.stop for p in parsed] == [e.stop for e in transcript.expected]


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.name)
def test_events_tile_the_transcript_exactly(transcript: Transcript) -> None:
    events = run([transcript.text])
    assert "".join(raw_of(event) for event in events) == transcript.text
    assert_well_formed(events)


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.name)
def test_one_character_chunks_match_the_whole_text(transcript: Transcript) -> None:
    assert coalesce(run(list(transcript.text))) == coalesce(run([transcript.text]))


@settings(max_examples=300)
@given(st.sampled_from(TRANSCRIPTS), st.lists(st.integers(min_value=0), max_size=40))
def test_any_chunking_of_a_transcript_gives_the_same_events(
    transcript: Transcript, cuts: list[int]
) -> None:
    chunks = split(transcript.text, cuts)
    assert coalesce(run(chunks)) == coalesce(run([transcript.text]))


FUZZ_PIECES = st.sampled_from(
    [
        *SPECIAL_TOKENS,
        "<",
        "|",
        ">",
        "<|",
        "|>",
        " ",
        "\n",
        "a",
        "é",
        "to=",
        "json",
        "code",
        "assistant",
        "functions.f",
        "analysis",
        "final",
        "commentary",
        "<|refusal|>",
        "x" * 70,
    ]
)


@settings(max_examples=500)
@given(st.lists(FUZZ_PIECES, max_size=60).map("".join), st.lists(st.integers(0), max_size=30))
def test_arbitrary_text_never_raises_and_is_accounted_for(text: str, cuts: list[int]) -> None:
    events = run(split(text, cuts))
    assert_well_formed(events)
    assert "".join(raw_of(event) for event in events) == text
    assert coalesce(events) == coalesce(run([text]))


def test_content_leaves_in_the_call_that_brought_it() -> None:
    parser = HarmonyStreamParser()
    assert list(parser.feed("<|channel|>final<|message|>")) == [
        MessageStart(HarmonyHeader("assistant", "final"), "<|channel|>final<|message|>"),
    ]
    assert list(parser.feed("ab")) == [ContentDelta("ab")]
    assert list(parser.feed("c<b")) == [ContentDelta("c<b")]


def test_only_a_possible_stop_token_is_held_back() -> None:
    parser = HarmonyStreamParser()
    parser.feed("<|message|>")
    assert list(parser.feed("x<|en")) == [ContentDelta("x")]
    assert list(parser.feed("d")) == []
    assert list(parser.feed("|>")) == [MessageEnd("<|end|>")]


def test_a_held_prefix_that_is_not_a_token_is_released() -> None:
    parser = HarmonyStreamParser()
    parser.feed("<|message|>")
    assert list(parser.feed("<|e")) == []
    assert list(parser.feed("x")) == [ContentDelta("<|ex")]


def test_close_ends_the_open_message_and_keeps_a_lone_angle_bracket() -> None:
    parser = HarmonyStreamParser()
    parser.feed("<|message|>1 <")
    assert list(parser.close()) == [ContentDelta("<"), MessageEnd(None)]
    assert list(parser.close()) == []


def test_close_skips_a_token_cut_in_transit() -> None:
    parser = HarmonyStreamParser()
    parser.feed("<|message|>done<|ca")
    assert list(parser.close()) == [SkippedText("<|ca"), MessageEnd(None)]


def test_feeding_a_closed_parser_is_a_protocol_error() -> None:
    parser = HarmonyStreamParser()
    parser.close()
    with pytest.raises(ProtocolError, match="expected an open stream, found closed"):
        parser.feed("more")


def test_short_plain_text_at_close_is_still_a_message() -> None:
    assert run(["to"]) == [
        MessageStart(HarmonyHeader("assistant"), ""),
        ContentDelta("to"),
        MessageEnd(None),
    ]


def test_whitespace_only_stream_is_skipped() -> None:
    assert run([" \n", " "]) == [SkippedText(" \n ")]


def test_a_long_whitespace_run_between_messages_is_skipped() -> None:
    text = "<|message|>A<|end|>" + " " * 100 + "B"
    events = coalesce(run([text]))
    assert SkippedText(" " * 100) in events
    assert events[-2:] == [ContentDelta("B"), MessageEnd(None)]
    assert coalesce(run([text[:30], text[30:90], text[90:]])) == events


def test_an_overlong_header_is_content_after_all() -> None:
    text = "<|start|>assistant " + "word " * 20 + "<|message|>tail<|end|>"
    events = coalesce(run([text]))
    assert events[0] == MessageStart(HarmonyHeader("assistant"), "<|start|>")
    assert events[1] == ContentDelta(text.removeprefix("<|start|>").removesuffix("<|end|>"))
    assert events[2] == MessageEnd("<|end|>")


def test_a_header_abandoned_by_start_is_skipped() -> None:
    events = run(["<|start|>assistant<|channel|>fin<|start|>user<|message|>hi"])
    assert events[0] == SkippedText("<|start|>assistant<|channel|>fin")
    assert events[1] == MessageStart(HarmonyHeader("user"), "<|start|>user<|message|>")


def test_implied_role_is_configurable() -> None:
    (parsed,) = parse_text("<|channel|>analysis<|message|>x", role="developer")
    assert parsed.message.header == HarmonyHeader("developer", "analysis")


def test_raw_text_of_each_message_is_exact() -> None:
    text = "<|channel|>analysis<|message|>a<|end|>\n<|start|>assistant<|message|>b<|return|>"
    raws = [p.raw for p in parse_text(text)]
    assert raws == [
        "<|channel|>analysis<|message|>a<|end|>",
        "<|start|>assistant<|message|>b<|return|>",
    ]


def header_of(header_text: str) -> HarmonyHeader:
    (parsed,) = parse_text(f"<|start|>{header_text}<|message|>x")
    return parsed.message.header


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("assistant<|channel|>analysis", HarmonyHeader("assistant", "analysis")),
        ("user", HarmonyHeader("user")),
        ("", HarmonyHeader("assistant")),
        ("<|channel|>final", HarmonyHeader("assistant", "final")),
        (" to=functions.f", HarmonyHeader("assistant", None, "functions.f")),
        (
            "assistant to=functions.f<|channel|>commentary json",
            HarmonyHeader("assistant", "commentary", "functions.f", "json"),
        ),
        (
            "assistant<|channel|>commentary<|constrain|>json",
            HarmonyHeader("assistant", "commentary", None, "<|constrain|>json"),
        ),
        (
            "assistant<|channel|>commentary to= functions.f json",
            HarmonyHeader("assistant", "commentary", "functions.f", "json"),
        ),
        (
            "assistant<|channel|>commentary functions.f json",
            HarmonyHeader("assistant", "commentary", "functions.f", "json"),
        ),
        (
            "assistant to=functions.f to=functions.g<|constrain|>json<|constrain|>xml",
            HarmonyHeader("assistant", None, "functions.f", "<|constrain|>json"),
        ),
        (
            "assistant<|channel|>final<|channel|>analysis",
            HarmonyHeader("assistant", "final"),
        ),
        ("assistant<|channel|> to=f", HarmonyHeader("assistant", None, "f")),
        ("assistant to=f<|constrain|>", HarmonyHeader("assistant", None, "f")),
        (
            "assistant to=f<|constrain|> <|x|> json",
            HarmonyHeader("assistant", None, "f", "<|constrain|>json"),
        ),
        (
            "python to=assistant<|channel|>analysis",
            HarmonyHeader("python", "analysis", "assistant"),
        ),
        (
            "assistant to=a to= b <|constrain|> c",
            HarmonyHeader("assistant", None, "a", "<|constrain|>c"),
        ),
    ],
)
def test_header_edge_cases(text: str, expected: HarmonyHeader) -> None:
    assert header_of(text) == expected
