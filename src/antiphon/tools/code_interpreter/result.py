"""What a code interpreter call returns, what protections hold, and the executor seam.

:class:`ExecutionResult` is the layer's answer to one call: the server turns it into a
``code_interpreter_call`` item with :meth:`ExecutionResult.outputs` (official ``openai.types``
models). :class:`CodeExecutor` is the seam the Responses turn loop depends on;
:class:`~.manager.ContainerManager` is the real implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from openai.types.responses.response_code_interpreter_tool_call import OutputLogs

__all__ = ["CodeExecutor", "ExecutionResult", "Protection"]


@dataclass(frozen=True, slots=True)
class Protection:
    """One isolation layer, whether it is active on this host, and how (or why not)."""

    name: str
    active: bool
    detail: str


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The outcome of running one cell.

    ``output`` is stdout and stderr interleaved in write order, followed by the ``repr`` of the
    cell's last expression (as a REPL shows it). ``error`` is the traceback or the limit that
    stopped the cell. ``new_container`` is true when this call started the container;
    ``container_lost`` when the process was killed or died, so the next call with this
    ``container_id`` gets a fresh one. ``notice`` explains either event in plain words.
    """

    container_id: str
    status: Literal["completed", "failed"]
    output: str
    error: str | None = None
    timed_out: bool = False
    output_truncated: bool = False
    memory_exceeded: bool = False
    crashed: bool = False
    new_container: bool = False
    container_lost: bool = False
    notice: str | None = None

    @property
    def logs(self) -> str:
        """The text the model reads: output, then the error, then any notice."""
        parts = [self.output.rstrip("\n")] if self.output else []
        if self.output_truncated:
            parts.append("[output truncated]")
        parts.extend(text.rstrip("\n") for text in (self.error, self.notice) if text)
        return "\n".join(parts)

    def outputs(self) -> list[OutputLogs]:
        """The ``outputs`` of the ``code_interpreter_call`` item."""
        return [OutputLogs(type="logs", logs=self.logs)]


class CodeExecutor(Protocol):
    """Runs Python cells in stateful, sandboxed containers."""

    async def run(self, container_id: str | None, code: str) -> ExecutionResult:
        """Run ``code`` in ``container_id`` (``None``, unknown or expired: a new container)."""
        ...
