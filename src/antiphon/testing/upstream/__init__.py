"""Stand-in upstream servers: OpenAI-compatible chat and completions streams, scripted per test.

One process (``python -m antiphon.testing.upstream --port 0``, or :class:`UpstreamProcess`)
serves both ``/v1/chat/completions`` and ``/v1/completions``. Tests queue turns per model name
through :class:`UpstreamControl`, build the frames with :func:`chat_chunks` and
:func:`completion_chunks`, inject faults through :func:`turn` (an error status before the
first byte, a cut, a stall) and read back the requests the server received.

:class:`ScriptedUpstream` is the same stand-in in-process, behind an ``httpx.MockTransport``:
the same scripts and bytes, no socket; what needs one (stalls, cuts, connection reuse) stays
with the process.
"""

from __future__ import annotations

from antiphon.testing.upstream._memory import ScriptedUpstream
from antiphon.testing.upstream._process import UpstreamControl, UpstreamProcess
from antiphon.testing.upstream._wire import (
    ToolCallScript,
    chat_chunks,
    completion_chunks,
    turn,
    usage,
)

__all__ = [
    "ScriptedUpstream",
    "ToolCallScript",
    "UpstreamControl",
    "UpstreamProcess",
    "chat_chunks",
    "completion_chunks",
    "turn",
    "usage",
]
