"""Audio delivery, interrupts with truncation at what was played, and output guardrails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import (
    ConversationItemCreateEvent,
    ConversationItemTruncateEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
)

from antiphon.exceptions import GuardrailError
from antiphon.realtime._guarding import DEFAULT_RECOVERY_INSTRUCTIONS
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import (
    AudioEndEvent,
    AudioEvent,
    AudioInterruptedEvent,
    ErrorEvent,
    GuardrailTrippedEvent,
)
from antiphon.realtime.guardrails import GuardrailResult, output_guardrail
from antiphon.realtime.playback import AudioProgress, TruncatePoint
from antiphon.realtime.testing import InMemoryRealtimeServer
from tests.realtime.session_support import (
    checked_server,
    client_types,
    nth_of_type,
    of_type,
    open_session,
    read_until,
)

AUDIO = bytes(range(256)) * 18 + bytes(192)  # 4800 bytes: 100 ms of PCM16 at 24 kHz
AGENT = RealtimeAgent(name="voice", instructions="Speak.")


@pytest.fixture
async def server() -> AsyncIterator[InMemoryRealtimeServer]:
    async with checked_server() as server:
        yield server


class FixedTracker:
    def __init__(self, played: float | None) -> None:
        self.played = played
        self.asked: list[tuple[str, int]] = []

    def played_ms(self, item_id: str, content_index: int) -> float | None:
        self.asked.append((item_id, content_index))
        return self.played


async def test_audio_is_delivered_decoded_then_ended(server: InMemoryRealtimeServer) -> None:
    server.respond_with_audio(AUDIO, "hello", chunks=4)
    async with open_session(server, AGENT) as session:
        await session.send_message("speak")
        events = await read_until(session, of_type("audio_end"))
    chunks = [e for e in events if isinstance(e, AudioEvent)]
    assert b"".join(chunk.audio for chunk in chunks) == AUDIO
    end = events[-1]
    assert isinstance(end, AudioEndEvent)
    assert end.item_id == chunks[0].item_id


async def interrupted_truncate(
    server: InMemoryRealtimeServer, config: RealtimeRunConfig | None = None
) -> tuple[ConversationItemTruncateEvent, AudioInterruptedEvent]:
    control = server.respond_with_audio(AUDIO, "hello there", chunks=4, hold=True)
    async with open_session(server, AGENT, config) as session:
        await session.send_message("speak")
        await read_until(session, of_type("audio"))
        await control.wait_started()
        await session.interrupt()
        events = await read_until(session, of_type("agent_end"))
        await server.wait_for("response.cancel")
    interrupted = next(e for e in events if isinstance(e, AudioInterruptedEvent))
    (truncate,) = server.log.of_type("conversation.item.truncate")
    assert isinstance(truncate, ConversationItemTruncateEvent)
    assert not [e for e in events if isinstance(e, AudioEvent)]  # the rest is never played
    return truncate, interrupted


async def test_interrupt_truncates_at_the_received_audio_and_cancels(
    server: InMemoryRealtimeServer,
) -> None:
    truncate, interrupted = await interrupted_truncate(server)
    assert truncate.audio_end_ms == 25  # 1200 bytes received / 48 bytes per ms
    assert (interrupted.item_id, interrupted.audio_end_ms) == (truncate.item_id, 25)
    (cancel,) = server.log.of_type("response.cancel")
    assert isinstance(cancel, ResponseCancelEvent)
    assert cancel.response_id is not None


async def test_interrupt_uses_the_application_playback_tracker(
    server: InMemoryRealtimeServer,
) -> None:
    truncate, _ = await interrupted_truncate(server, {"playback_tracker": FixedTracker(10.0)})
    assert truncate.audio_end_ms == 10


async def test_playback_report_is_clamped_to_the_received_audio(
    server: InMemoryRealtimeServer,
) -> None:
    truncate, _ = await interrupted_truncate(server, {"playback_tracker": FixedTracker(5000.0)})
    assert truncate.audio_end_ms == 25


async def test_interrupt_when_nothing_plays_sends_nothing(server: InMemoryRealtimeServer) -> None:
    async with open_session(server, AGENT) as session:
        await session.interrupt()
        await session.send_message("ping")
        await read_until(session, of_type("agent_end"))
    assert "conversation.item.truncate" not in client_types(server)
    assert "response.cancel" not in client_types(server)


async def test_server_vad_barge_in_stops_playback_without_cancelling(
    server: InMemoryRealtimeServer,
) -> None:
    control = server.respond_with_audio(AUDIO, "hello", chunks=4, hold=True)
    async with open_session(server, AGENT) as session:
        await session.send_message("speak")
        await read_until(session, of_type("audio"))
        await control.wait_started()
        await server.send_event(
            {
                "type": "input_audio_buffer.speech_started",
                "event_id": "evt_vad",
                "audio_start_ms": 0,
                "item_id": "item_user",
            }
        )
        events = await read_until(session, of_type("audio_interrupted"))
        await server.wait_for("conversation.item.truncate")
        control.release()
    interrupted = events[-1]
    assert isinstance(interrupted, AudioInterruptedEvent)
    assert interrupted.audio_end_ms == 25
    assert "response.cancel" not in client_types(server)


@output_guardrail
def no_secrets(agent: RealtimeAgent, text: str) -> GuardrailResult:
    return GuardrailResult(tripwire_triggered="secret" in text)


@output_guardrail(name="broken")
def broken(agent: RealtimeAgent, text: str) -> GuardrailResult:
    raise ValueError("guardrail bug")


GUARDED = RealtimeAgent(name="guarded", instructions="Talk.", output_guardrails=[no_secrets])


@pytest.mark.parametrize("kind", ["text", "audio"])
async def test_tripped_guardrail_cancels_and_recovers_out_of_band(
    server: InMemoryRealtimeServer, kind: str
) -> None:
    if kind == "text":
        server.respond_with_text("the secret plan", hold=True)
    else:
        server.respond_with_audio(AUDIO, "the secret plan", hold=True)
    server.respond_with_text("I cannot help with that.")
    config: RealtimeRunConfig = {"guardrail_debounce_chars": 5}
    async with open_session(server, GUARDED, config) as session:
        await session.send_message("tell me")
        events = await read_until(session, nth_of_type("agent_end", 2))
    tripped = next(e for e in events if isinstance(e, GuardrailTrippedEvent))
    assert tripped.guardrail_names == ("no_secrets",)
    assert "secret" in tripped.transcript
    assert "response.cancel" in client_types(server)
    recovery = server.log.of_type("response.create")[-1]
    assert isinstance(recovery, ResponseCreateEvent)
    assert recovery.response is not None
    assert recovery.response.instructions == DEFAULT_RECOVERY_INSTRUCTIONS
    user_items = [e for e in server.events if isinstance(e, ConversationItemCreateEvent)]
    assert len(user_items) == 1  # no fake "guardrail triggered" user message


async def test_a_raising_guardrail_is_reported_and_never_trips(
    server: InMemoryRealtimeServer,
) -> None:
    server.respond_with_text("harmless words", chunks=2)
    agent = RealtimeAgent(name="g", instructions="x", output_guardrails=[broken])
    async with open_session(server, agent, {"guardrail_debounce_chars": 3}) as session:
        await session.send_message("hi")
        events = await read_until(session, of_type("error"))
    error = events[-1]
    assert isinstance(error, ErrorEvent)
    assert isinstance(error.error, GuardrailError)
    assert "response.cancel" not in client_types(server)


async def test_run_config_guardrails_apply_to_every_agent(server: InMemoryRealtimeServer) -> None:
    server.respond_with_text("a secret", hold=True)
    config: RealtimeRunConfig = {
        "output_guardrails": [no_secrets],
        "guardrail_recovery_instructions": None,
        "guardrail_debounce_chars": 5,
    }
    async with open_session(server, AGENT, config) as session:
        await session.send_message("hi")
        await read_until(session, of_type("guardrail_tripped"))
        await read_until(session, of_type("agent_end"))
    assert client_types(server).count("response.create") == 1


def test_audio_progress_restarts_for_a_new_part_and_forgets_on_reset() -> None:
    progress = AudioProgress()
    assert progress.truncate_point() is None
    progress.on_audio("item_1", 0, 480)
    progress.on_audio("item_2", 0, 96)
    assert progress.current_item_id == "item_2"
    assert progress.truncate_point() == TruncatePoint("item_2", 0, 2)
    progress.reset()
    assert progress.truncate_point() is None


def test_a_tracker_without_a_report_falls_back_to_the_estimate() -> None:
    tracker = FixedTracker(None)
    progress = AudioProgress(tracker)
    progress.on_audio("item_1", 1, 4800)
    assert progress.truncate_point() == TruncatePoint("item_1", 1, 100)
    assert tracker.asked == [("item_1", 1)]


def test_a_negative_playback_report_is_clamped_to_zero() -> None:
    progress = AudioProgress(FixedTracker(-5.0))
    progress.on_audio("item_1", 0, 4800)
    assert progress.truncate_point() == TruncatePoint("item_1", 0, 0)
