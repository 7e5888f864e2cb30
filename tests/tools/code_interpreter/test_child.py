"""The worker's pure parts, run in-process: framing, the audit hook's decisions, the output sink."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from antiphon.tools.code_interpreter._child import audit, framing
from antiphon.tools.code_interpreter._child.execute import OutputSink
from antiphon.tools.code_interpreter.result import ExecutionResult

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_frames_round_trip(message: dict[str, object]) -> None:
    frame = framing.encode(message)
    size = framing.decode_header(frame[: framing.HEADER_SIZE], limit=len(frame))
    assert framing.decode_body(frame[framing.HEADER_SIZE :]) == message
    assert size == len(frame) - framing.HEADER_SIZE


@given(st.binary(max_size=64))
def test_arbitrary_bodies_decode_or_raise_frame_error(body: bytes) -> None:
    with contextlib.suppress(framing.FrameError):
        assert isinstance(framing.decode_body(body), dict)


def test_oversized_and_malformed_frames_are_refused() -> None:
    with pytest.raises(framing.FrameError, match="exceeds the limit of 4"):
        framing.decode_header(framing.encode({"a": "long"})[:4], limit=4)
    with pytest.raises(framing.FrameError, match="expected 4"):
        framing.decode_header(b"\x00", limit=4)
    with pytest.raises(framing.FrameError, match="JSON list"):
        framing.decode_body(b"[1]")


def test_frames_cross_a_pipe_and_end_cleanly() -> None:
    read_end, write_end = os.pipe()
    framing.write_frame(write_end, {"code": "1"})
    os.close(write_end)
    assert framing.read_frame(read_end, limit=100) == {"code": "1"}
    assert framing.read_frame(read_end, limit=100) is None
    os.close(read_end)


def test_a_pipe_cut_inside_a_frame_is_an_error() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, framing.encode({"code": "1"})[:-2])
    os.close(write_end)
    with pytest.raises(framing.FrameError, match="inside a frame"):
        framing.read_frame(read_end, limit=100)
    os.close(read_end)


@pytest.fixture
def hook(tmp_path: Path) -> audit.Hook:
    return audit.make_hook(str(tmp_path), audit.Gate())


@pytest.mark.parametrize(
    "event", ["socket.connect", "subprocess.Popen", "os.system", "ctypes.dlopen", "os.fork"]
)
def test_hook_refuses_network_processes_and_native_code(hook: audit.Hook, event: str) -> None:
    with pytest.raises(PermissionError, match=event):
        hook(event, ())


def test_hook_allows_writes_inside_scratch_only(hook: audit.Hook, tmp_path: Path) -> None:
    hook("open", (str(tmp_path / "ok.txt"), "w", 0))
    hook("open", ("/etc/passwd", "r", os.O_RDONLY))
    hook("open", (3, "w", 0))
    hook("os.rename", (str(tmp_path / "a"), str(tmp_path / "b"), None, None))
    with pytest.raises(PermissionError, match="outside"):
        hook("open", ("/etc/passwd", None, os.O_WRONLY))
    with pytest.raises(PermissionError, match=r"os\.rename"):
        hook("os.rename", (str(tmp_path / "a"), "/tmp/elsewhere", None, None))
    with pytest.raises(PermissionError, match=r"os\.remove"):
        hook("os.remove", (b"/etc/hosts", None))


def test_open_gate_lets_the_worker_adjust_its_own_limits(tmp_path: Path) -> None:
    gate = audit.Gate()
    hook = audit.make_hook(str(tmp_path), gate)
    with gate:
        hook("resource.setrlimit", ())
    with pytest.raises(PermissionError):
        hook("resource.setrlimit", ())


def test_sink_keeps_whole_characters_within_its_byte_budget() -> None:
    sink = OutputSink(5)
    sink.write("ab")
    sink.write("cdé€f")
    assert sink.truncated
    assert sink.text() == "abcd"
    assert len(sink.text().encode()) <= 5


def test_logs_combine_output_error_and_notice() -> None:
    result = ExecutionResult(
        container_id="cntr_1",
        status="failed",
        output="partial\n",
        error="Boom\n",
        output_truncated=True,
        notice="Lost.",
    )
    assert result.logs == "partial\n[output truncated]\nBoom\nLost."
    assert result.outputs()[0].model_dump() == {"type": "logs", "logs": result.logs}
