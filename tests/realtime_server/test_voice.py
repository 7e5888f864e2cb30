"""Voice over the realtime core, in-process: server VAD, transcription, spoken answers,
barge-in, manual commits, G.711 and truncation to what was heard.

The speech engines are the shipped in-memory ones (an energy VAD, a scripted transcriber, a
tone synthesizer); the model is the scripted engine through the shared turn loop.
"""

from __future__ import annotations

import base64
import json
import math
from array import array
from contextlib import aclosing

from openai.types.realtime import RealtimeConversationItemAssistantMessage, RealtimeServerEvent

from antiphon.engines.scripted import ScriptedItem, ScriptedTurn
from antiphon.realtime_server.audio_in import InputAudio, Utterance
from antiphon.realtime_server.conversation import RealtimeConversation, Step
from antiphon.realtime_server.voice import SpeakJob
from antiphon.realtime_server.voice_settings import TurnDetection
from antiphon.speech import audio as codecs
from antiphon.speech.base import SpeechPipeline, SpeechRequest
from antiphon.speech.memory import EnergyVad, Fail, ScriptedTranscriber, ToneSynthesizer
from antiphon.wire.ids import SequentialIds
from tests.realtime_server.support import Frame, Spy, error_of, send, wire

ANSWER = ScriptedTurn(items=(ScriptedItem("message", "It is sunny. Take a hat!"),))
RATE = 24000


def _tone(ms: int, amplitude: int = 8000) -> bytes:
    samples = array(
        "h",
        (int(amplitude * math.sin(2 * math.pi * 440 * n / RATE)) for n in range(RATE * ms // 1000)),
    )
    return samples.tobytes()


def _silence(ms: int) -> bytes:
    return bytes(RATE * ms // 1000 * 2)


def _speech() -> tuple[SpeechPipeline, ScriptedTranscriber, ToneSynthesizer]:
    transcriber = ScriptedTranscriber(["What is the weather?"])
    synthesizer = ToneSynthesizer()
    return SpeechPipeline(transcriber, synthesizer, EnergyVad), transcriber, synthesizer


def _voiced(spy: Spy, pipeline: SpeechPipeline, **audio: object) -> RealtimeConversation:
    conversation = RealtimeConversation("m", spy.served(), speech=pipeline, ids=SequentialIds())
    turn = {"type": "server_vad", "silence_duration_ms": 300, "prefix_padding_ms": 200}
    session = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {"input": {"turn_detection": turn, **audio}},
    }
    [updated] = wire(send(conversation, {"type": "session.update", "session": session}).events)
    assert updated["type"] == "session.updated"
    return conversation


def _append(conversation: RealtimeConversation, pcm: bytes, chunk_ms: int = 100) -> list[Step]:
    size = RATE * chunk_ms // 1000 * 2
    return [
        send(
            conversation,
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(pcm[at : at + size]).decode(),
            },
        )
        for at in range(0, len(pcm), size)
    ]


async def _run(
    conversation: RealtimeConversation, step: Step, synthesizer: ToneSynthesizer
) -> list[Frame]:
    """Run the step's response, speaking its sentences as the adapter does."""
    assert step.turn is not None
    events: list[RealtimeServerEvent] = []
    async with aclosing(step.turn.events()) as batches:
        async for batch in batches:
            for thing in conversation.run_events(step.response_id, batch):
                if isinstance(thing, SpeakJob):
                    events += await _speak(conversation, thing, synthesizer)
                else:
                    events.append(thing)
    return wire(events)


async def _speak(
    conversation: RealtimeConversation, job: SpeakJob, synthesizer: ToneSynthesizer
) -> list[RealtimeServerEvent]:
    sent: list[RealtimeServerEvent] = []
    total = 0
    async with aclosing(synthesizer.synthesize(SpeechRequest(job.text, job.voice))) as chunks:
        async for chunk in chunks:
            event = conversation.audio_delta(job, chunk)
            assert event is not None
            sent.append(event)
            total += len(chunk)
    conversation.spoken(job, total * 1000 // (RATE * 2))
    return sent


async def test_server_vad_hears_a_question_and_the_answer_is_spoken() -> None:
    pipeline, _, synthesizer = _speech()
    spy = Spy(ANSWER)
    conversation = _voiced(spy, pipeline)
    steps = _append(conversation, _silence(500) + _tone(600) + _silence(600))
    frames = [frame for step in steps for frame in wire(step.events)]
    kinds = [frame["type"] for frame in frames]
    assert kinds == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
    ]
    started, stopped = frames[0], frames[1]
    assert 250 <= started["audio_start_ms"] <= 350  # 500 ms of silence, minus 200 ms of padding
    assert 1050 <= stopped["audio_end_ms"] <= 1200
    assert frames[3]["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    [job] = [job for step in steps for job in step.transcribe]
    assert abs(len(job.audio) // 48 - (stopped["audio_end_ms"] - started["audio_start_ms"])) <= 1
    # The pause before the commit offered the very same audio, to transcribe ahead of time.
    [early] = [early for step in steps for early in step.early]
    assert (early.item_id, early.audio) == (job.item_id, job.audio)
    # The transcript completes the item and starts the response server VAD asks for.
    after = conversation.transcribed(job, "What is the weather?")
    assert [frame["type"] for frame in wire(after.events)][:4] == [
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.done",
        "response.created",
    ]
    response = await _run(conversation, after, synthesizer)
    kinds = [frame["type"] for frame in response]
    assert "response.output_text.delta" not in kinds
    first_audio = kinds.index("response.output_audio.delta")
    assert kinds.index("response.output_audio_transcript.delta") < first_audio
    assert first_audio < kinds.index("response.output_audio.done")
    assert kinds[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    # Both sentences were spoken, one after the other.
    assert [request.text for request in synthesizer.requests] == ["It is sunny. ", "Take a hat!"]
    done = response[-1]["response"]
    assert done["output"][0]["content"] == [
        {"type": "output_audio", "transcript": "It is sunny. Take a hat!"}
    ]
    # The engine read the transcript as the user's words.
    assert spy.requests[0].history[0].items[-1].get("content") == [
        {"type": "input_text", "text": "What is the weather?"}
    ]


async def test_speech_over_an_answer_interrupts_it_and_truncation_keeps_what_was_heard() -> None:
    pipeline, _, synthesizer = _speech()
    conversation = _voiced(Spy(ANSWER), pipeline)
    steps = _append(conversation, _tone(600) + _silence(600))
    [job] = [job for step in steps for job in step.transcribe]
    step = conversation.transcribed(job, "What is the weather?")
    assert step.turn is not None
    # Speak the first sentence, then the user talks over it.
    spoken: list[RealtimeServerEvent] = []
    async with aclosing(step.turn.events()) as batches:
        async for batch in batches:
            outgoing = conversation.run_events(step.response_id, batch)
            jobs = [thing for thing in outgoing if isinstance(thing, SpeakJob)]
            if jobs:
                spoken += await _speak(conversation, jobs[0], synthesizer)
                break
    interrupting = _append(conversation, _tone(300))
    assert any(s.cancel for s in interrupting)
    assert "input_audio_buffer.speech_started" in [
        frame["type"] for s in interrupting for frame in wire(s.events)
    ]
    [done] = [
        frame
        for frame in wire(conversation.cancelled(step.response_id))
        if frame["type"] == "response.done"
    ]
    assert done["response"]["status"] == "cancelled"
    item_id = done["response"]["output"][0]["id"]
    # The client heard half of the first sentence's audio.
    heard_ms = (
        sum(len(base64.b64decode(json.loads(e.model_dump_json())["delta"])) for e in spoken)
        // 48
        // 2
    )
    truncate = {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": heard_ms,
    }
    [truncated] = wire(send(conversation, truncate).events)
    assert truncated["type"] == "conversation.item.truncated"
    item = conversation.items.get(item_id)
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    transcript = item.content[0].transcript or ""
    assert 0 < len(transcript) < len("It is sunny. ")
    assert "It is sunny. ".startswith(transcript)


def test_manual_commits_clears_and_g711() -> None:
    pipeline, _, _ = _speech()
    conversation = RealtimeConversation("m", Spy().served(), speech=pipeline, ids=SequentialIds())
    session = {
        "type": "realtime",
        "audio": {"input": {"turn_detection": None, "format": {"type": "audio/pcmu"}}},
    }
    send(conversation, {"type": "session.update", "session": session})
    error = error_of(send(conversation, {"type": "input_audio_buffer.commit"}))
    assert error["code"] == "input_audio_buffer_commit_empty"
    ulaw = codecs.ulaw_encode(codecs.resample(_tone(300), RATE, 8000))
    step = send(
        conversation,
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(ulaw).decode()},
    )
    assert step.events == []  # no VAD: nothing is detected
    committed = send(conversation, {"type": "input_audio_buffer.commit"})
    assert [frame["type"] for frame in wire(committed.events)] == [
        "input_audio_buffer.committed",
        "conversation.item.added",
    ]
    [job] = committed.transcribe
    assert 290 <= len(job.audio) // 48 <= 310  # 300 ms, decoded to 24 kHz PCM16
    send(
        conversation,
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(ulaw).decode()},
    )
    assert [
        frame["type"]
        for frame in wire(send(conversation, {"type": "input_audio_buffer.clear"}).events)
    ] == ["input_audio_buffer.cleared"]
    assert error_of(send(conversation, {"type": "input_audio_buffer.commit"}))["code"] == (
        "input_audio_buffer_commit_empty"
    )
    bad = {"type": "input_audio_buffer.append", "audio": "not base64!"}
    assert error_of(send(conversation, bad))["param"] == "audio"


async def test_a_failed_transcription_is_an_event_and_nothing_answers() -> None:
    transcriber = ScriptedTranscriber([Fail("the recogniser crashed")])
    pipeline = SpeechPipeline(transcriber, ToneSynthesizer(), EnergyVad)
    spy = Spy(ANSWER)
    conversation = _voiced(spy, pipeline)
    steps = _append(conversation, _tone(600) + _silence(600))
    [job] = [job for step in steps for job in step.transcribe]
    with_error = conversation.transcription_failed(job, "the recogniser crashed")
    [failed] = wire(with_error)
    assert failed["type"] == "conversation.item.input_audio_transcription.failed"
    assert failed["error"]["message"] == "the recogniser crashed"
    assert not conversation.responding
    assert spy.requests == []


def test_audio_output_needs_audio_or_text_alone() -> None:
    pipeline, _, _ = _speech()
    conversation = RealtimeConversation("m", Spy().served(), speech=pipeline, ids=SequentialIds())
    both = {
        "type": "session.update",
        "session": {"type": "realtime", "output_modalities": ["text", "audio"]},
    }
    assert error_of(send(conversation, both))["param"] == "session.output_modalities"
    audio = {
        "type": "session.update",
        "session": {"type": "realtime", "output_modalities": ["audio"]},
    }
    [updated] = wire(send(conversation, audio).events)
    assert updated["session"]["output_modalities"] == ["audio"]


async def test_spoken_answers_come_in_the_session_output_format() -> None:
    pipeline, _, synthesizer = _speech()
    conversation = RealtimeConversation(
        "m", Spy(ANSWER).served(), speech=pipeline, ids=SequentialIds()
    )
    session = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {"output": {"format": {"type": "audio/pcma"}, "voice": "ash"}},
    }
    send(conversation, {"type": "session.update", "session": session})
    text = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    send(conversation, {"type": "conversation.item.create", "item": text})
    frames = await _run(conversation, send(conversation, {"type": "response.create"}), synthesizer)
    audio = b"".join(
        base64.b64decode(frame["delta"])
        for frame in frames
        if frame["type"] == "response.output_audio.delta"
    )
    spoken_ms = sum(synthesizer.duration_ms(request) for request in synthesizer.requests)
    # A-law at 8 kHz: one byte a sample, 8 bytes a millisecond.
    assert abs(len(audio) - spoken_ms * 8) <= 16
    assert [request.voice for request in synthesizer.requests] == ["ash", "ash"]
    assert codecs.alaw_decode(audio[:80]) != bytes(160)  # not silence


def test_a_pause_that_does_not_last_is_replaced_by_the_next() -> None:
    pipeline, _, _ = _speech()
    conversation = _voiced(Spy(), pipeline)
    steps = _append(conversation, _tone(300) + _silence(200) + _tone(300) + _silence(600))
    first, last = [early for step in steps for early in step.early]
    [job] = [job for step in steps for job in step.transcribe]
    assert first.item_id == last.item_id == job.item_id  # one utterance, paused mid-way
    assert len(first.audio) < len(last.audio)
    assert last.audio == job.audio


def test_hostile_audio_and_settings_are_errors_naming_the_field() -> None:
    pipeline, _, _ = _speech()
    conversation = _voiced(Spy(), pipeline)
    odd = {"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\x01\x02\x03").decode()}
    assert error_of(send(conversation, odd))["param"] == "audio"
    for audio, param in [
        ({"input": {"turn_detection": {"type": "server_vad", "threshold": 5}}}, "threshold"),
        (
            {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": -1}}},
            "silence_duration_ms",
        ),
        (
            {"input": {"turn_detection": {"type": "server_vad", "prefix_padding_ms": 10**9}}},
            "prefix_padding_ms",
        ),
        ({"output": {"speed": 0}}, "speed"),
    ]:
        update = {"type": "session.update", "session": {"type": "realtime", "audio": audio}}
        assert error_of(send(conversation, update))["param"].endswith(param)
    turns = '{"type": "server_vad", "threshold": NaN}'  # what Python's json module sends
    nan = (
        '{"type": "session.update", "session": {"type": "realtime", "audio": '
        f'{{"input": {{"turn_detection": {turns}}}}}}}}}'
    )
    [error] = wire(conversation.receive(nan).events)
    assert error["error"]["param"] == "session.audio.input.turn_detection.threshold"
    # The session goes on, its settings untouched.
    assert any(step.transcribe for step in _append(conversation, _tone(600) + _silence(600)))


def test_the_buffer_and_the_detector_keep_one_clock() -> None:
    pipeline, _, _ = _speech()
    conversation = RealtimeConversation("m", Spy().served(), speech=pipeline, ids=SequentialIds())
    manual = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
    send(conversation, {"type": "session.update", "session": manual})
    _append(conversation, _silence(2000))
    send(conversation, {"type": "input_audio_buffer.clear"})
    _append(conversation, _silence(1000))  # left in the buffer, judged by nobody
    vad = {"type": "server_vad", "prefix_padding_ms": 200, "silence_duration_ms": 300}
    update = {"type": "realtime", "audio": {"input": {"turn_detection": vad}}}
    send(conversation, {"type": "session.update", "session": update})
    steps = _append(conversation, _silence(1000) + _tone(600) + _silence(600))
    [started] = [f for s in steps for f in wire(s.events) if f["type"].endswith("speech_started")]
    assert 3750 <= started["audio_start_ms"] <= 3850  # 4 s of audio before the tone, less padding
    [job] = [job for step in steps for job in step.transcribe]
    # What is committed is the tone (with its padding), not the unjudged silence before it.
    assert 700 <= len(job.audio) // 48 <= 1100


def test_an_utterance_that_never_ends_is_cut_at_its_limit() -> None:
    vad = EnergyVad()
    audio = InputAudio(vad, lambda pcm: pcm, SequentialIds(), max_utterance_ms=2000)
    turns = TurnDetection()
    audio.append(_silence(500), None)  # no detection yet
    audio.clear()
    signals = audio.append(_tone(5000), turns)
    cuts = [signal for signal in signals if isinstance(signal, Utterance)]
    assert cuts
    assert 1900 <= cuts[0].duration_ms <= 2400


async def test_a_truncation_asked_while_the_answer_is_spoken_applies_when_it_ends() -> None:
    pipeline, _, synthesizer = _speech()
    conversation = _voiced(Spy(ANSWER), pipeline)
    text = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    send(conversation, {"type": "conversation.item.create", "item": text})
    step = send(conversation, {"type": "response.create"})
    assert step.turn is not None
    asked = False
    item_id = ""
    async with aclosing(step.turn.events()) as batches:
        async for batch in batches:
            for thing in conversation.run_events(step.response_id, batch):
                if isinstance(thing, SpeakJob):
                    await _speak(conversation, thing, synthesizer)
                    if not asked:  # the first sentence played: the user cuts at 100 ms
                        truncate = {
                            "type": "conversation.item.truncate",
                            "item_id": thing.item_id,
                            "content_index": 0,
                            "audio_end_ms": 100,
                        }
                        assert wire(send(conversation, truncate).events)[0]["type"] == (
                            "conversation.item.truncated"
                        )
                        asked = True
                        item_id = thing.item_id
    item = conversation.items.get(item_id)
    assert isinstance(item, RealtimeConversationItemAssistantMessage)
    transcript = item.content[0].transcript or ""
    assert len(transcript) < len("It is sunny. ")
    bad = {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": -5,
    }
    assert error_of(send(conversation, bad))["param"] == "audio_end_ms"
