"""The main job: `antiphon demo` runs its five steps against a real `antiphon serve`."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from antiphon.demo.run import get_weather, run_demo
from antiphon.demo.voice_step import ANSWER, KEY_WORD
from antiphon.speech.audio import read_wav

pytestmark = pytest.mark.e2e

_FDS = Path("/proc/self/fd")


def _open_sockets() -> int:
    """Sockets this process holds open (Linux: the ``socket:[inode]`` links of its fds)."""
    count = 0
    for fd in _FDS.iterdir():
        # The listing's own descriptor is closed by the time it is read.
        with contextlib.suppress(FileNotFoundError):
            count += os.readlink(fd).startswith("socket:")
    return count


def test_the_demo_streams_every_step_and_exits_zero(tmp_path: Path) -> None:
    out = io.StringIO()
    before = _open_sockets() if _FDS.is_dir() else 0
    wav = tmp_path / "answer.wav"
    assert run_demo(Console(file=out, width=100), answer_wav=wav) == 0
    if _FDS.is_dir():
        # The demo closes its client: no connection is left open for the GC to warn about.
        assert _open_sockets() <= before
    shown = out.getvalue()
    for expected in (
        "function_call get_weather",
        "It is sunny in Paris",
        "mcp_call calc.add",
        "->  5",  # the calc MCP server's own result, shown on its item
        "response.completed",
        # Step 4, the realtime agents SDK: the handoff call and the switch it made...
        "function_call transfer_to_forecaster (concierge)",
        "concierge -> forecaster",
        # ...the new agent's tool call, its arguments and the tool's own output...
        "function_call get_forecast (forecaster)",
        '{"city": "Marseille", "day": "tomorrow"}  ->  {"city": "Marseille"',
        # ...and its streamed answer, which the step checked before printing.
        "final answer (forecaster): No rain in Marseille tomorrow",
        # Step 5, voice: the server VAD found the spoken question, PocketSphinx heard its key
        # word, and the scripted answer was spoken back, with its transcript.
        "speech started at",
        "speech stopped at",
        f"answered aloud: {ANSWER}",
        f"to play:\n{wav}",
    ):
        assert expected in shown
    assert "skipped" not in shown  # the dev extra installs the speech engines: step 5 ran
    [heard] = re.findall(r"^heard: '([^']*)'$", shown, re.MULTILINE)
    assert KEY_WORD in heard  # what the demo says PocketSphinx heard
    pcm, rate = read_wav(wav.read_bytes())
    assert rate == 24000
    assert len(pcm) > 2 * rate  # the spoken answer, over a second of it


def test_the_demo_tool_answers_like_an_application_would() -> None:
    assert '"city": "Lyon"' in get_weather("Lyon")
