"""The fake Realtime GA server: a real local WebSocket server driven by a script.

It listens on ``127.0.0.1`` (port 0), answers each client event the way the real GA server
does (``session.created`` on connect, ``session.updated`` for each ``session.update``,
``conversation.item.added`` and ``.done`` for each ``conversation.item.create``,
``conversation.item.truncated``, ``response.*``), and consumes one scripted reply per
``response.create``. Like the real server it rejects a ``response.create`` that arrives while a
response is active (``conversation_already_has_active_response``) and a ``response.cancel`` with
nothing to cancel (``response_cancel_not_active``). Every frame it builds is validated against
the official GA server union before it is sent; every client frame is recorded and validated
(:class:`~antiphon.realtime.testing.ClientEventLog`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.testing._conversation import PeerClosed
from antiphon.realtime.testing._script import ScriptedServer
from antiphon.realtime.testing._writer import Reply

__all__ = ["FakeRealtimeServer"]


class FakeRealtimeServer(ScriptedServer):
    """A scriptable Realtime GA server on a real socket; use it as an async context manager.

    ::

        async with FakeRealtimeServer() as server:
            server.respond_with_tool_call("get_weather", {"city": "Paris"})
            server.respond_with_text("It is sunny.", chunks=3)
            ...  # connect a model to server.url
            await server.wait_for("response.create", 2)

    With an empty script a ``response.create`` is answered by ``default_reply`` (the text
    ``"OK"`` unless given). Actions on "the connection" apply to the latest one.
    """

    def __init__(self, *, default_reply: Reply | None = None, model: str = "fake-realtime") -> None:
        super().__init__(default_reply=default_reply, model=model)
        self.request_headers: list[Headers] = []
        """The handshake headers of each connection."""
        self._server: Server | None = None

    async def __aenter__(self) -> Self:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=16 * 2**20)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>/v1/realtime?model=<model>``."""
        if self._server is None:
            raise ConfigurationError("the fake server is not started (use `async with`)")
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/v1/realtime?model={self.model}"

    async def _handle(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None  # the handler runs after the handshake
        self.request_headers.append(websocket.request.headers)
        await self.serve_connection(_WebSocketPeer(websocket))


class _WebSocketPeer:
    """A :class:`~antiphon.realtime.testing._conversation.Peer` over a ``websockets`` connection."""

    def __init__(self, websocket: ServerConnection) -> None:
        self._websocket = websocket

    async def incoming(self) -> AsyncIterator[str | bytes]:
        try:
            async for message in self._websocket:
                yield message
        except ConnectionClosed as exc:
            raise PeerClosed(str(exc)) from exc

    async def send_text(self, text: str) -> None:
        try:
            await self._websocket.send(text)
        except ConnectionClosed as exc:
            raise PeerClosed(str(exc)) from exc

    async def close(self, code: int, reason: str) -> None:
        await self._websocket.close(code, reason)

    def abort(self) -> None:
        self._websocket.transport.abort()
