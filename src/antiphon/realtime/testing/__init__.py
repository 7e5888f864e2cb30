"""A deterministic test harness for realtime code, shipped for the test suite and for users.

:class:`FakeRealtimeServer` is a real local WebSocket server that speaks the Realtime GA
protocol and answers ``response.create`` from a script of replies; point a
:class:`~antiphon.realtime.websocket.WebSocketRealtimeModel` (or any other client) at its
``url``. Nothing here is used by the SDK at run time.
"""

from __future__ import annotations

from antiphon.realtime.testing._log import ClientEventLog
from antiphon.realtime.testing._replies import (
    audio_reply,
    close_reply,
    error_reply,
    text_reply,
    tool_call_reply,
)
from antiphon.realtime.testing._server import FakeRealtimeServer
from antiphon.realtime.testing._writer import Reply, ReplyControl, ResponseWriter

__all__ = [
    "ClientEventLog",
    "FakeRealtimeServer",
    "Reply",
    "ReplyControl",
    "ResponseWriter",
    "audio_reply",
    "close_reply",
    "error_reply",
    "text_reply",
    "tool_call_reply",
]
