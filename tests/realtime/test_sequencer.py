"""The response sequencer as a pure machine: fed requests and events, drained by the test."""

from __future__ import annotations

import pytest
from openai.types.realtime import (
    RealtimeResponseCreateParams,
    RealtimeServerEvent,
    ResponseCreateEvent,
)

from antiphon.exceptions import ProtocolError, ResponseRequestRejected, TransportError
from antiphon.realtime.sequencer import RequestKind, ResponseSequencer, SequencerState
from antiphon.realtime.testing._frames import SERVER_EVENT_ADAPTER

MANUAL = RequestKind.MANUAL


class Wire:
    """Drains the machine the way the session's sender does, recording what went out."""

    def __init__(self, machine: ResponseSequencer) -> None:
        self.machine = machine
        self.sent: list[ResponseCreateEvent] = []

    def drain(self) -> list[str | None]:
        """Send everything the machine releases now; return the event ids sent so far."""
        while (create := self.machine.next_send()) is not None:
            self.sent.append(create)
        return [create.event_id for create in self.sent]


def event(type_: str, **fields: object) -> RealtimeServerEvent:
    return SERVER_EVENT_ADAPTER.validate_python({"type": type_, "event_id": "ev", **fields})


def created(response_id: str) -> RealtimeServerEvent:
    return event("response.created", response={"id": response_id, "status": "in_progress"})


def done(response_id: str, status: str = "completed") -> RealtimeServerEvent:
    return event("response.done", response={"id": response_id, "status": status})


def rejected(event_id: str | None, code: str = "conversation_already_has_active_response"):
    error: dict[str, object] = {"type": "invalid_request_error", "code": code, "message": "no"}
    if event_id is not None:
        error["event_id"] = event_id
    return event("error", error=error)


@pytest.fixture
def seq() -> ResponseSequencer:
    return ResponseSequencer()


@pytest.fixture
def wire(seq: ResponseSequencer) -> Wire:
    return Wire(seq)


async def test_idle_request_is_sent_at_once_with_a_correlation_id(
    seq: ResponseSequencer, wire: Wire
) -> None:
    seq.request(kind=MANUAL)
    assert wire.drain() == ["antiphon_rc_1"]
    assert wire.sent[0].model_dump(exclude_unset=True, mode="json") == {
        "type": "response.create",
        "event_id": "antiphon_rc_1",
    }
    assert seq.state is SequencerState.REQUESTED


async def test_manual_parameters_reach_the_wire(seq: ResponseSequencer, wire: Wire) -> None:
    seq.request(RealtimeResponseCreateParams(instructions="greet"), kind=MANUAL)
    wire.drain()
    assert wire.sent[0].response is not None
    assert wire.sent[0].response.instructions == "greet"


async def test_second_manual_request_waits_for_response_done(
    seq: ResponseSequencer, wire: Wire
) -> None:
    first = seq.request(kind=MANUAL)
    second = seq.request(kind=MANUAL)
    wire.drain()
    seq.on_server_event(created("resp_1"))
    assert (seq.pending, first.response_id, seq.active_response_id) == (1, "resp_1", "resp_1")
    seq.on_server_event(done("resp_1"))
    assert (await first.wait()).id == "resp_1"
    assert wire.drain() == ["antiphon_rc_1", "antiphon_rc_2"]
    assert not second.done()


async def test_auto_requests_during_a_response_coalesce_into_one_create(
    seq: ResponseSequencer, wire: Wire
) -> None:
    seq.on_server_event(created("resp_vad"))  # a response the server started itself
    handles = [seq.request(), seq.request(), seq.request()]
    assert seq.pending == 3
    seq.on_server_event(done("resp_vad"))
    wire.drain()
    seq.on_server_event(created("resp_2"))
    seq.on_server_event(done("resp_2"))
    outcomes = [await handle.wait() for handle in handles]
    assert {outcome.id for outcome in outcomes} == {"resp_2"}
    assert len(wire.sent) == 1


async def test_manual_request_is_never_merged_with_auto_ones(
    seq: ResponseSequencer, wire: Wire
) -> None:
    seq.on_server_event(created("resp_0"))
    auto = seq.request()
    manual = seq.request(kind=MANUAL)
    later_auto = seq.request()
    seq.on_server_event(done("resp_0"))
    for number, handle in enumerate((auto, manual, later_auto), start=1):
        assert len(wire.drain()) == number
        seq.on_server_event(created(f"resp_{number}"))
        seq.on_server_event(done(f"resp_{number}"))
        assert (await handle.wait()).id == f"resp_{number}"
    assert len(wire.sent) == 3


async def test_server_vad_race_retries_the_rejected_create(
    seq: ResponseSequencer, wire: Wire
) -> None:
    handle = seq.request(kind=MANUAL)
    wire.drain()
    seq.on_server_event(created("resp_vad"))  # not ours, though it looks like it
    seq.on_server_event(rejected("antiphon_rc_1"))
    assert seq.state is SequencerState.ACTIVE
    assert seq.pending == 1
    seq.on_server_event(done("resp_vad"))
    assert wire.drain() == ["antiphon_rc_1", "antiphon_rc_2"]
    seq.on_server_event(created("resp_mine"))
    seq.on_server_event(done("resp_mine"))
    assert (await handle.wait()).id == "resp_mine"
    assert handle.event_id == "antiphon_rc_2"


async def test_rejection_without_event_id_is_matched_by_its_code(
    seq: ResponseSequencer, wire: Wire
) -> None:
    handle = seq.request(kind=MANUAL)
    wire.drain()
    seq.on_server_event(rejected(None))
    wire.drain()
    assert not handle.done()


async def test_errors_about_other_events_are_ignored(seq: ResponseSequencer, wire: Wire) -> None:
    handle = seq.request(kind=MANUAL)
    wire.drain()
    seq.on_server_event(rejected("someone_else"))
    seq.on_server_event(rejected(None, code="invalid_value"))
    assert seq.state is SequencerState.REQUESTED
    assert not handle.done()


async def test_rejected_coalesced_requests_are_restored_ahead_of_newer_ones(
    seq: ResponseSequencer, wire: Wire
) -> None:
    first = seq.request()
    wire.drain()
    newer = seq.request()
    seq.on_server_event(created("resp_vad"))
    seq.on_server_event(rejected("antiphon_rc_1"))
    assert seq.pending == 2
    seq.on_server_event(done("resp_vad"))
    wire.drain()
    seq.on_server_event(created("resp_2"))
    seq.on_server_event(done("resp_2"))
    assert [(await first.wait()).id, (await newer.wait()).id] == ["resp_2", "resp_2"]


async def test_a_request_rejected_for_good_raises_to_its_caller(
    seq: ResponseSequencer, wire: Wire
) -> None:
    handle = seq.request(kind=MANUAL)
    wire.drain()
    seq.on_server_event(rejected("antiphon_rc_1", code="invalid_value"))
    with pytest.raises(ResponseRequestRejected) as caught:
        await handle.wait()
    assert (caught.value.code, caught.value.event_id) == ("invalid_value", "antiphon_rc_1")
    assert seq.state is SequencerState.IDLE


async def test_retries_stop_after_max_attempts() -> None:
    seq = ResponseSequencer(max_attempts=2)
    wire = Wire(seq)
    handle = seq.request(kind=MANUAL)
    for number in (1, 2):
        assert len(wire.drain()) == number
        seq.on_server_event(rejected(f"antiphon_rc_{number}"))
    assert wire.drain() == ["antiphon_rc_1", "antiphon_rc_2"]  # no third attempt
    with pytest.raises(ResponseRequestRejected):
        await handle.wait()


async def test_auto_rejection_is_reported_to_the_owner() -> None:
    reports: list[ResponseRequestRejected] = []
    seq = ResponseSequencer(on_auto_rejected=reports.append)
    handle = seq.request()
    Wire(seq).drain()
    seq.on_server_event(rejected("antiphon_rc_1", code="invalid_value"))
    assert [report.code for report in reports] == ["invalid_value"]
    with pytest.raises(ResponseRequestRejected):
        await handle.wait()


async def test_cancel_gate_opens_once_per_active_response(seq: ResponseSequencer) -> None:
    assert not seq.begin_cancel()
    seq.on_server_event(created("resp_1"))
    assert not seq.begin_cancel("resp_other")
    assert seq.begin_cancel("resp_1")
    assert not seq.begin_cancel("resp_1")
    seq.abort_cancel()
    assert seq.begin_cancel()
    seq.on_server_event(done("resp_1", "cancelled"))
    assert seq.state is SequencerState.IDLE


async def test_illegal_transition_names_expected_and_actual_state(seq: ResponseSequencer) -> None:
    with pytest.raises(ProtocolError, match="expected cancelling, found idle"):
        seq.abort_cancel()


async def test_unrelated_response_done_is_ignored(seq: ResponseSequencer) -> None:
    seq.on_server_event(created("resp_1"))
    seq.on_server_event(created("resp_parallel"))
    seq.on_server_event(done("resp_parallel"))
    assert seq.active_response_id == "resp_1"
    seq.on_server_event(
        event(
            "response.output_text.delta",
            response_id="resp_1",
            item_id="i",
            output_index=0,
            content_index=0,
            delta="x",
        )
    )
    assert seq.state is SequencerState.ACTIVE


async def test_release_all_fails_every_waiter_and_later_requests(
    seq: ResponseSequencer, wire: Wire
) -> None:
    inflight = seq.request(kind=MANUAL)
    wire.drain()
    queued = seq.request()
    seq.release_all(TransportError("gone"))
    seq.release_all(TransportError("second error is ignored"))
    late = seq.request(kind=MANUAL)
    for handle in (inflight, queued, late):
        with pytest.raises(TransportError, match="gone"):
            await handle.wait()
    seq.on_server_event(created("resp_1"))
    assert seq.state is SequencerState.CLOSED


def test_nothing_else_goes_out_while_a_create_is_in_flight(
    seq: ResponseSequencer, wire: Wire
) -> None:
    seq.request(kind=MANUAL)
    seq.request(kind=MANUAL)
    assert wire.drain() == ["antiphon_rc_1"]
    assert not seq.ready
    seq.on_server_event(created("resp_1"))
    assert wire.drain() == ["antiphon_rc_1"]
    seq.on_server_event(done("resp_1"))
    assert seq.ready
    assert wire.drain() == ["antiphon_rc_1", "antiphon_rc_2"]


async def test_a_failed_send_releases_everything(seq: ResponseSequencer, wire: Wire) -> None:
    inflight = seq.request(kind=MANUAL)
    queued = seq.request(kind=MANUAL)
    wire.drain()
    seq.send_failed(TransportError("socket dead", context="send failed"))
    assert seq.state is SequencerState.CLOSED
    assert seq.next_send() is None
    for handle in (inflight, queued):
        with pytest.raises(TransportError, match="socket dead"):
            await handle.wait()


def test_auto_requests_carry_no_parameters(seq: ResponseSequencer) -> None:
    with pytest.raises(ProtocolError):
        seq.request(RealtimeResponseCreateParams(instructions="x"))


def test_manual_requests_are_bounded() -> None:
    seq = ResponseSequencer(max_pending=2)
    seq.request(kind=MANUAL)
    seq.request(kind=MANUAL)
    with pytest.raises(ResponseRequestRejected) as caught:
        seq.request(kind=MANUAL)
    assert caught.value.code == "antiphon_queue_full"
