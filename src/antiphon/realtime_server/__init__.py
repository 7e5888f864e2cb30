"""The server side of the Realtime GA protocol: ``/v1/realtime`` over antiphon's engines.

:mod:`~antiphon.realtime_server.conversation` is the sans-I/O core of one connection (client
events in, server events out); the WebSocket adapter lives in the server layer.
"""

from antiphon.realtime_server.conversation import RealtimeConversation, Step

__all__ = ["RealtimeConversation", "Step"]
