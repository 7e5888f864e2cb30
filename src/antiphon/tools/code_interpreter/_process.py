"""One sandboxed worker process: spawn it, hand it cells, kill it, remove its scratch directory.

The parent side of the boundary: everything here runs in the server. The worker confines
itself (see :mod:`._child.confine`); the parent enforces what the worker cannot be trusted
with: the hard wall-clock deadline (kill the whole process group), the largest result frame it
will read, and the removal of the scratch directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path

from antiphon.exceptions import SandboxError

from ._child.framing import HEADER_SIZE, FrameError, as_mapping, decode_body, decode_header, encode
from .limits import SandboxLimits, SandboxPolicy
from .result import Protection

__all__ = ["CellOutcome", "WorkerProcess", "finish_cleanup"]

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_BOOTSTRAP = (
    "import sys;sys.path.insert(0,sys.argv[1]);from _child.main import main;main(sys.argv[2])"
)
_ENVELOPE_BYTES = 64 * 1024  # room for the traceback and JSON escaping around the output


@dataclass(frozen=True, slots=True)
class CellOutcome:
    """What became of one cell, before the manager names the container."""

    output: str = ""
    error: str | None = None
    timed_out: bool = False
    output_truncated: bool = False
    memory_exceeded: bool = False
    crashed: bool = False
    lost: bool = False


async def _read_frame(reader: asyncio.StreamReader, *, limit: int) -> dict[str, object] | None:
    try:
        header = await reader.readexactly(HEADER_SIZE)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise FrameError("output ended inside a frame header") from exc
        return None
    try:
        return decode_body(await reader.readexactly(decode_header(header, limit=limit)))
    except asyncio.IncompleteReadError as exc:
        raise FrameError("output ended inside a frame") from exc


def _make_owner_writable(directory: str) -> None:
    """``chmod 0700`` a real directory, never what a symlink in its place points to."""
    if not hasattr(os, "O_PATH"):  # not Linux: lstat, then chmod without following
        if stat.S_ISDIR(os.lstat(directory).st_mode):
            os.chmod(directory, stat.S_IRWXU, follow_symlinks=False)
        return
    # O_NOFOLLOW | O_DIRECTORY fails on a symlink; the descriptor then names the directory
    # itself, whatever is renamed meanwhile, and /proc/self/fd reaches it even without read
    # permission on it.
    handle = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.chmod(f"/proc/self/fd/{handle}", stat.S_IRWXU)
    finally:
        os.close(handle)


def _remove_tree(path: str) -> None:
    def retry_writable(function: object, failed: str, _info: object) -> None:
        # User code may leave a directory without write permission; the owner can restore it.
        # The code may also plant symlinks: only real directories are ever made writable.
        with contextlib.suppress(OSError):
            _make_owner_writable(os.path.dirname(failed))
            if stat.S_ISDIR(os.lstat(failed).st_mode):
                _make_owner_writable(failed)
                shutil.rmtree(failed, onerror=retry_writable)
            else:
                os.unlink(failed)

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=retry_writable)


async def finish_cleanup(cleanup: Coroutine[object, object, None]) -> None:
    """Run ``cleanup`` to the end even if the caller is cancelled meanwhile, then re-cancel."""
    task = asyncio.ensure_future(cleanup)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def _describe_exit(returncode: int | None) -> tuple[str, bool]:
    """Explain how the worker ended and whether that was a time limit."""
    if returncode is not None and returncode < 0:
        number = -returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        return f"the worker was killed by {name}", number == signal.SIGXCPU
    return f"the worker exited with status {returncode}", False


class WorkerProcess:
    """A started worker: its process, its scratch directory and the protections it reported."""

    def __init__(
        self, process: asyncio.subprocess.Process, scratch: str, limits: SandboxLimits
    ) -> None:
        self._process = process
        self._scratch = scratch
        self._limits = limits
        self.protections: tuple[Protection, ...] = ()

    @classmethod
    async def start(
        cls, limits: SandboxLimits, policy: SandboxPolicy, uid: int | None
    ) -> WorkerProcess:
        """Spawn a worker and wait for its ready frame; raise :class:`SandboxError` if none."""
        scratch = tempfile.mkdtemp(prefix="antiphon-ci-")
        if uid is not None:
            os.chown(scratch, uid, uid)
        config: dict[str, object] = {
            "scratch": scratch, "uid": uid, "package_dir": _PACKAGE_DIR,
            "isolate_network": policy.isolate_network, "landlock": policy.landlock,
            "seccomp": policy.seccomp, "scratch_tmpfs": policy.scratch_tmpfs,
            "audit_hook": policy.audit_hook, "user_namespace": policy.user_namespace,
            "cpu_seconds": limits.cpu_seconds,
            "wall_seconds": limits.wall_seconds, "max_output_bytes": limits.max_output_bytes,
            "limits": {"memory_bytes": limits.memory_bytes, "max_file_bytes": limits.max_file_bytes,
                       "max_open_files": limits.max_open_files,
                       "max_scratch_bytes": limits.max_scratch_bytes},
        }  # fmt: skip
        try:
            process = await cls._spawn(scratch, config)
        except BaseException:
            _remove_tree(scratch)
            raise
        worker = cls(process, scratch, limits)
        try:
            await worker._await_ready()
        except BaseException:
            await finish_cleanup(worker.close())
            raise
        return worker

    @staticmethod
    async def _spawn(scratch: str, config: dict[str, object]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-c", _BOOTSTRAP, _PACKAGE_DIR, json.dumps(config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, cwd=scratch, start_new_session=True,
            env={"HOME": scratch, "TMPDIR": scratch, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )  # fmt: skip

    async def _await_ready(self) -> None:
        assert self._process.stdout is not None  # created with stdout=PIPE
        try:
            async with asyncio.timeout(self._limits.start_timeout_seconds):
                frame = await _read_frame(self._process.stdout, limit=_ENVELOPE_BYTES)
        except (TimeoutError, FrameError) as exc:
            raise SandboxError(f"the code interpreter worker did not start: {exc!r}") from exc
        if frame is None or frame.get("ready") is not True:
            reason = frame.get("error") if frame else "it exited before reporting"
            raise SandboxError(f"the code interpreter worker did not start: {reason}")
        statuses = as_mapping(frame.get("protections")) or {}
        self.protections = tuple(
            Protection(name, str(status).startswith("active"), str(status))
            for name, status in sorted(statuses.items())
        )

    async def execute(self, code: str) -> CellOutcome:
        """Run one cell; on a hard timeout or a broken channel the process is killed (lost)."""
        assert self._process.stdin is not None  # created with stdin=PIPE
        assert self._process.stdout is not None
        limit = self._limits.max_output_bytes * 4 + _ENVELOPE_BYTES  # UTF-8 + JSON escaping
        deadline = self._limits.wall_seconds + self._limits.kill_grace_seconds
        try:
            self._process.stdin.write(encode({"code": code}))
            await self._process.stdin.drain()
            async with asyncio.timeout(deadline):
                frame = await _read_frame(self._process.stdout, limit=limit)
        except TimeoutError:
            await finish_cleanup(self.close())
            message = f"killed after {deadline:g} s: the wall-clock limit was not honoured"
            return CellOutcome(error=message, timed_out=True, lost=True)
        except (FrameError, ConnectionError) as exc:
            await finish_cleanup(self.close())
            return CellOutcome(
                error=f"the worker broke its channel: {exc}", crashed=True, lost=True
            )
        except BaseException:
            # Cancelled mid-cell: the namespace is in an unknown state, so the process goes.
            await finish_cleanup(self.close())
            raise
        if frame is None:
            return await self._ended()
        return self._outcome(frame)

    async def _ended(self) -> CellOutcome:
        returncode = await self._process.wait()
        await self.close()
        description, cpu = _describe_exit(returncode)
        if cpu:
            return CellOutcome(
                error=f"CPU time limit exceeded: {description}", timed_out=True, lost=True
            )
        return CellOutcome(error=f"the worker crashed: {description}", crashed=True, lost=True)

    @staticmethod
    def _outcome(frame: dict[str, object]) -> CellOutcome:
        output, error = frame.get("output"), frame.get("error")
        return CellOutcome(
            output=output if isinstance(output, str) else "",
            error=error if isinstance(error, str) else None,
            timed_out=frame.get("interrupted") is not None,
            output_truncated=frame.get("output_truncated") is True,
            memory_exceeded=frame.get("memory_exceeded") is True,
        )

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process.returncode is None

    async def close(self) -> None:
        """Kill the process group, reap it, remove the scratch directory; idempotent."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        if self._process.stdin is not None:
            self._process.stdin.close()
        await self._process.wait()
        await asyncio.to_thread(_remove_tree, self._scratch)
