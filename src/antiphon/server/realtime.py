"""``GET /v1/realtime?model=NAME``: the WebSocket adapter around the realtime conversation core.

All protocol decisions live in :class:`~antiphon.realtime_server.conversation.RealtimeConversation`;
this module only moves frames. One connection is one task group: this handler reads client
frames, a writer task sends server events from a bounded queue (a client that stops reading
stops the engine turn, not the server's memory), and at most one engine-turn task streams the
active response. When the client leaves, the turn is cancelled and the group closes.

Authentication is :class:`~antiphon.server.auth.BearerAuth`'s (``Authorization: Bearer`` or
the ``openai-insecure-api-key.KEY`` subprotocol browsers use); the ``realtime`` subprotocol is
echoed when offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from openai.types.realtime import RealtimeServerEvent
from starlette.websockets import WebSocket, WebSocketDisconnect

from antiphon.realtime_server.conversation import RealtimeConversation, error_event
from antiphon.responses.catalog import ModelCatalog
from antiphon.responses.turn import TurnLoop
from antiphon.wire.json import dump_json

__all__ = ["realtime_endpoint"]

_log = logging.getLogger(__name__)

#: Server events waiting for the socket; past this, the engine turn waits for the client.
OUTBOX_SIZE: Final = 256
_SUBPROTOCOL: Final = "realtime"
#: Close code for a refused connection (policy violation), as for a bad API key.
_POLICY: Final = 1008


async def realtime_endpoint(websocket: WebSocket) -> None:
    """Accept one realtime connection and serve it until either side closes."""
    offered: list[str] = list(websocket.scope.get("subprotocols", []))
    await websocket.accept(subprotocol=_SUBPROTOCOL if _SUBPROTOCOL in offered else None)
    catalog: ModelCatalog = websocket.app.state.models
    model = websocket.query_params.get("model") or ""
    served = await catalog.resolve(model) if model else None
    if served is None:
        message = (
            f"The model '{model}' does not exist or is not served here."
            if model
            else "Missing required parameter: 'model' (GET /v1/realtime?model=NAME)."
        )
        event = error_event(message, code="model_not_found", param="model")
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.send_text(dump_json(event))
            await websocket.close(_POLICY, "model_not_found")
        return
    state = websocket.app.state
    conversation = RealtimeConversation(
        model, served, runtime=state.tool_runtime, limits=state.turn_limits
    )
    await _Connection(websocket, conversation).serve()


class _Connection:
    """One WebSocket, its conversation core, its outbox and its engine turn."""

    def __init__(self, websocket: WebSocket, conversation: RealtimeConversation) -> None:
        self._websocket = websocket
        self._conversation = conversation
        self._outbox: asyncio.Queue[RealtimeServerEvent] = asyncio.Queue(OUTBOX_SIZE)
        self._turn: asyncio.Task[None] | None = None
        self._response_id = ""

    async def serve(self) -> None:
        async with asyncio.TaskGroup() as group:
            writer = group.create_task(self._write())
            try:
                await self._send(self._conversation.open())
                await self._read(group)
            finally:
                # The client left (or the writer failed): nothing is left to answer.
                if self._turn is not None:
                    self._turn.cancel()
                writer.cancel()

    async def _read(self, group: asyncio.TaskGroup) -> None:
        while True:
            message = await self._websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text: str | None = message.get("text")
            step = self._conversation.receive(
                text if text is not None else message.get("bytes") or b""
            )
            await self._send(step.events)
            if step.turn is not None:
                self._response_id = step.response_id
                self._turn = group.create_task(self._run_turn(step.turn, step.response_id))
            if step.cancel and self._turn is not None:
                self._turn.cancel()
                await asyncio.wait({self._turn})
                await self._send(self._conversation.cancelled(self._response_id))

    async def _run_turn(self, turn: TurnLoop, response_id: str) -> None:
        conversation = self._conversation
        try:
            # The turn loop turns engine failures into a failed response itself.
            async with contextlib.aclosing(turn.events()) as batches:
                async for batch in batches:
                    await self._send(conversation.run_events(response_id, batch))
        except Exception:
            _log.exception("realtime response failed unexpectedly")
            message = "The server failed to run the response."
            await self._send(conversation.failed(response_id, message))
        # A run that ended without its terminal event leaves its response active: end it failed.
        message = "The run ended without finishing the response."
        await self._send(conversation.failed(response_id, message))

    async def _send(self, events: list[RealtimeServerEvent]) -> None:
        for event in events:
            await self._outbox.put(event)

    async def _write(self) -> None:
        gone = False
        while True:
            event = await self._outbox.get()
            if gone:
                continue  # keep draining, so no producer waits on a queue nobody empties
            try:
                await self._websocket.send_text(dump_json(event))
            except (WebSocketDisconnect, RuntimeError, OSError):
                gone = True  # the client left; the reader sees the disconnect and ends the group
