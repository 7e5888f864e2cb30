"""A deterministic test harness for realtime code, shipped for the test suite and for users.

One scripted Realtime GA server (it answers ``response.create`` from a script of replies and
validates every frame both ways against the official unions), reachable two ways:

- :class:`FakeRealtimeServer` listens on a real local WebSocket: point a
  :class:`~antiphon.realtime.websocket.WebSocketRealtimeModel` (or any other client) at its
  ``url``. For tests of the transport itself;
- :class:`InMemoryRealtimeServer` needs no socket: ``server.model`` is a model factory whose
  models talk to it through in-process channels. For everything above the transport.

Nothing here is used by the SDK at run time.
"""

from __future__ import annotations

from antiphon.realtime.testing._log import ClientEventLog
from antiphon.realtime.testing._memory import InMemoryRealtimeModel, InMemoryRealtimeServer
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
    "InMemoryRealtimeModel",
    "InMemoryRealtimeServer",
    "Reply",
    "ReplyControl",
    "ResponseWriter",
    "audio_reply",
    "close_reply",
    "error_reply",
    "text_reply",
    "tool_call_reply",
]
