"""A child process that announces readiness with one line on stdout.

The stand-in upstreams, the MCP test servers, ``antiphon serve`` (for the demo and the tests) all
print one line once they listen. :class:`ReadyChild` starts such a command and waits for that line
with a bounded wait on the pipe, never a sleep, then stops and reaps the child on exit.
"""

from __future__ import annotations

import selectors
import subprocess
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Self

from antiphon.exceptions import ConfigurationError

__all__ = ["ReadyChild"]


class ReadyChild:
    """Runs ``command``; :attr:`ready_line` is the first line it printed (stripped)."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        start_timeout: float = 30.0,
        stderr: IO[bytes] | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self._stop_timeout = stop_timeout
        self._process = subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        self.pid = self._process.pid
        self.ready_line = self._first_line(start_timeout)
        if not self.ready_line:
            self.stop()
            raise ConfigurationError(f"{name} did not start within {start_timeout} s")

    def _first_line(self, timeout: float) -> str:
        stdout = self._process.stdout
        assert stdout is not None  # Popen was given stdout=PIPE
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            ready = selector.select(timeout)
        return stdout.readline().strip() if ready else ""

    def wait_exited(self, timeout: float) -> int | None:
        """The child's exit code once it exits, or ``None`` if it still runs after ``timeout``."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Terminate the child and reap it (killed if it does not exit in time)."""
        self._process.terminate()
        try:
            self._process.wait(self._stop_timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
