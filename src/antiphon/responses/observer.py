"""What the server may watch of each run: the seam to its metrics and traces.

The service calls :meth:`RunObserver.running` around each run's task body (so what the run does,
model turns and tool calls included, happens inside it: a trace's response span is their parent)
and :meth:`RunObserver.finished` once with the final status. :class:`NoObserver` does nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

__all__ = ["NoObserver", "RunObserver"]


class RunObserver(Protocol):
    """Told when a response's run starts and how it ended."""

    def running(self, response_id: str, model: str) -> AbstractContextManager[object]:
        """A context the run's task body executes in, from start to end."""
        ...

    def finished(self, status: str) -> None:
        """The run ended with this final status."""
        ...


class NoObserver:
    """A :class:`RunObserver` that watches nothing."""

    def running(self, response_id: str, model: str) -> AbstractContextManager[object]:
        """An empty context."""
        return nullcontext()

    def finished(self, status: str) -> None:
        """Nothing."""
