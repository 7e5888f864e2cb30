"""Step 5 of the demo: skipped with a clear message without the speech extra, and failing,
with the reason, when what was heard or said is wrong."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from rich.console import Console

from antiphon.demo import voice_step
from antiphon.demo.voice_step import ANSWER, VoiceOutcome, run_voice_step


def _run(base_url: str, wav: Path) -> tuple[bool, str]:
    out = io.StringIO()
    passed = run_voice_step(Console(file=out, width=200), base_url, "any", wav)
    return passed, out.getvalue()


def test_without_the_speech_extra_the_step_is_skipped_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(voice_step, "local_available", lambda: False)
    passed, shown = _run("http://127.0.0.1:9", tmp_path / "answer.wav")
    assert passed
    assert "skipped: the speech extra is not installed" in shown
    assert "pip install 'antiphon[speech]'" in shown
    assert not (tmp_path / "answer.wav").exists()


def test_an_unreachable_server_fails_the_step_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    passed, shown = _run(f"http://127.0.0.1:{port}", tmp_path / "answer.wav")
    assert not passed
    assert "TransportError" in shown
    assert "Traceback" not in shown


def test_a_misheard_question_or_another_answer_fails_the_checks() -> None:
    heard = "what is the whether"
    outcome = VoiceOutcome(speech=["started", "stopped"], heard=heard, said="Sorry.")
    outcome.audio += bytes(48000)
    outcome.heard_back = "sorry"
    problems = "\n".join(outcome.problems())
    assert "expected the transcript to hold 'weather', heard 'what is the whether'" in problems
    assert f"expected the spoken answer's transcript {ANSWER!r}, got 'Sorry.'" in problems
    assert "expected 'weather' in the answer's audio, heard 'sorry'" in problems


def test_the_checks_pass_on_what_the_demo_should_observe() -> None:
    outcome = VoiceOutcome(speech=["started", "stopped"], heard="what is the weather", said=ANSWER)
    outcome.audio += bytes(48000)
    outcome.heard_back = "these are the weather is fine"
    assert outcome.problems() == []
    assert "expected the server VAD" in "".join(VoiceOutcome(heard="weather").problems())
