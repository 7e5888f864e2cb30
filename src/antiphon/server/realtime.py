"""``GET /v1/realtime?model=NAME``: the WebSocket adapter around the realtime conversation core.

All protocol decisions live in :class:`~antiphon.realtime_server.conversation.RealtimeConversation`;
this module only moves frames. One connection is one task group: this handler reads client
frames, a writer task sends server events from a bounded queue (a client that stops reading
stops the engine turn, not the server's memory), and at most one engine-turn task streams the
active response. When the client leaves, the turn is cancelled and the group closes.

Authentication is :class:`~antiphon.server.auth.BearerAuth`'s (``Authorization: Bearer`` or
the ``openai-insecure-api-key.KEY`` subprotocol browsers use); the ``realtime`` subprotocol is
echoed when offered. An ephemeral client secret it let through is redeemed here, once there is
room for the session, so a secret refused for capacity is not lost; its session, if any, is
where the conversation starts.

The bounds (:mod:`antiphon.server.realtime_bounds`) are timers of the reading loop, inside the
connection's task group: the session's lifetime is an :func:`asyncio.timeout` around the loop,
the idle limit one around each wait for a frame. The frame size limit is uvicorn's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from openai.types.realtime import RealtimeServerEvent, ResponseDoneEvent
from starlette.websockets import WebSocket, WebSocketDisconnect

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server.conversation import RealtimeConversation, Step, error_event
from antiphon.realtime_server.translate import Outgoing
from antiphon.realtime_server.voice import SpeakJob
from antiphon.responses.catalog import ModelCatalog
from antiphon.responses.turn import TurnLoop
from antiphon.server.auth import CLIENT_SECRET_SCOPE_KEY
from antiphon.server.client_secrets import ClientSecretStore
from antiphon.server.metrics import Metrics
from antiphon.server.realtime_bounds import (
    Ending,
    RealtimeSessions,
    idle_timeout,
    session_expired,
    session_limit_reached,
)
from antiphon.server.realtime_voice import Voice
from antiphon.server.settings import RealtimeLimits
from antiphon.speech.base import SpeechPipeline
from antiphon.wire.json import dump_json

__all__ = ["realtime_endpoint"]

_log = logging.getLogger(__name__)

#: Server events waiting for the socket; past this, the engine turn waits for the client.
OUTBOX_SIZE: Final = 256
_SUBPROTOCOL: Final = "realtime"
#: Close code for a refused connection (policy violation), as for a bad API key.
_POLICY: Final = 1008
#: How long an ending session waits for its last events to reach a slow client.
_CLOSE_SECONDS: Final = 5.0


async def realtime_endpoint(websocket: WebSocket) -> None:
    """Accept one realtime connection and serve it until either side closes or a bound ends it."""
    sessions: RealtimeSessions = websocket.app.state.realtime_sessions
    if not sessions.try_open():
        await _accept(websocket)
        await _refuse(websocket, session_limit_reached(sessions.limits.max_sessions))
        return
    try:
        await _serve(websocket, sessions.limits)
    finally:
        sessions.close()


async def _serve(websocket: WebSocket, limits: RealtimeLimits) -> None:
    session = None
    secret: str | None = websocket.scope.get(CLIENT_SECRET_SCOPE_KEY)
    if secret is not None:
        store: ClientSecretStore = websocket.app.state.client_secrets
        redeemed = store.redeem(secret)
        if redeemed is None:
            # Used by another connection (or expired) since BearerAuth checked it: refused as
            # a wrong key is, before the handshake completes (HTTP 403).
            await websocket.close(_POLICY, "invalid api key")
            return
        session = redeemed.session
    await _accept(websocket)
    catalog: ModelCatalog = websocket.app.state.models
    model = websocket.query_params.get("model") or (session.model if session else None) or ""
    served = await catalog.resolve(model) if model else None
    if served is None:
        message = (
            f"The model '{model}' does not exist or is not served here."
            if model
            else "Missing required parameter: 'model' (GET /v1/realtime?model=NAME)."
        )
        await _refuse(websocket, Ending("model_not_found", message, _POLICY), param="model")
        return
    try:
        state = websocket.app.state
        speech: SpeechPipeline | None = state.speech
        conversation = RealtimeConversation(
            model,
            served,
            runtime=state.tool_runtime,
            limits=state.turn_limits,
            session=session,
            speech=speech,
        )
    except InvalidRequestError as exc:  # checked when the secret was issued; kept as a guard
        await _refuse(websocket, Ending(exc.code, exc.message, _POLICY), param=exc.param)
        return
    await _Connection(websocket, conversation, limits, speech).serve()


async def _accept(websocket: WebSocket) -> None:
    offered: list[str] = list(websocket.scope.get("subprotocols", []))
    await websocket.accept(subprotocol=_SUBPROTOCOL if _SUBPROTOCOL in offered else None)


async def _refuse(websocket: WebSocket, ending: Ending, *, param: str | None = None) -> None:
    """Send the ending's ``error`` event and close, before any conversation started."""
    event = error_event(ending.message, code=ending.code, param=param)
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_text(dump_json(event))
        await websocket.close(ending.close_code, ending.reason)


class _Connection:
    """One WebSocket, its conversation core, its outbox and its engine turn."""

    def __init__(
        self,
        websocket: WebSocket,
        conversation: RealtimeConversation,
        limits: RealtimeLimits,
        speech: SpeechPipeline | None,
    ) -> None:
        self._websocket = websocket
        self._conversation = conversation
        self._limits = limits
        self._voice = Voice(speech, conversation, self._send) if speech is not None else None
        # An Ending is the last thing queued: the writer sends its error event, then closes.
        self._outbox: asyncio.Queue[RealtimeServerEvent | Ending] = asyncio.Queue(OUTBOX_SIZE)
        self._turn: asyncio.Task[None] | None = None
        self._response_id = ""
        self._metrics: Metrics = websocket.app.state.metrics

    async def serve(self) -> None:
        async with asyncio.TaskGroup() as group:
            writer = group.create_task(self._write())
            try:
                await self._send(self._conversation.open())
                ending = await self._read(group)
                if ending is not None:
                    await self._end(ending, writer)
            finally:
                # The client left (or the writer failed): nothing is left to answer.
                if self._turn is not None:
                    self._turn.cancel()
                writer.cancel()

    async def _end(self, ending: Ending, writer: asyncio.Task[None]) -> None:
        """Stop the turn, let the writer flush, say why and close; bounded if nobody reads."""
        if self._turn is not None:
            self._turn.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_SECONDS):
                await self._outbox.put(ending)
                await asyncio.wait({writer})

    async def _read(self, group: asyncio.TaskGroup) -> Ending | None:
        """Serve client frames until the client leaves (``None``) or a time bound ends it."""
        lifetime = self._limits.session_seconds
        try:
            async with asyncio.timeout(lifetime or None):
                return await self._read_frames(group)
        except TimeoutError:
            return session_expired(lifetime)

    async def _read_frames(self, group: asyncio.TaskGroup) -> Ending | None:
        idle = self._limits.idle_seconds
        while True:
            try:
                async with asyncio.timeout(idle or None):
                    message = await self._websocket.receive()  # cancel-safe: a queue's get
            except TimeoutError:
                if self._turn is not None and not self._turn.done():
                    continue  # the client is waiting for a response, not idle
                return idle_timeout(idle)
            if message["type"] == "websocket.disconnect":
                return None
            text: str | None = message.get("text")
            try:
                step = self._conversation.receive(
                    text if text is not None else message.get("bytes") or b""
                )
            except Exception:  # a bug must cost one event, not the connection
                _log.exception("realtime event failed unexpectedly")
                message_text = "The server failed to handle this event; the session goes on."
                step = Step([error_event(message_text, code="server_error")])
            await self._apply(step, group)

    async def _apply(self, step: Step, group: asyncio.TaskGroup) -> None:
        """Send a step's events, then start, cancel or transcribe what it asks."""
        await self._send(step.events)
        if step.cancel and self._turn is not None:
            self._turn.cancel()
            await asyncio.wait({self._turn})
            await self._hand_out(self._conversation.cancelled(self._response_id))
        if step.turn is not None:
            self._response_id = step.response_id
            self._turn = group.create_task(self._run_turn(step.turn, step.response_id))
        if step.early and self._voice is not None:
            for job in step.early:
                self._voice.start_early(job, group)
        if step.transcribe and self._voice is not None:
            voice = self._voice
            for job in step.transcribe:
                group.create_task(voice.transcribe(job, lambda done: self._apply(done, group)))

    async def _run_turn(self, turn: TurnLoop, response_id: str) -> None:
        conversation = self._conversation
        try:
            # The turn loop turns engine failures into a failed response itself.
            async with contextlib.aclosing(turn.events()) as batches:
                async for batch in batches:
                    await self._hand_out(conversation.run_events(response_id, batch))
        except Exception:
            _log.exception("realtime response failed unexpectedly")
            message = "The server failed to run the response."
            await self._hand_out(conversation.failed(response_id, message))
        # A stream that ended without TurnFinished leaves its response active: end it failed.
        message = "The run ended without finishing the response."
        await self._hand_out(conversation.failed(response_id, message))

    async def _hand_out(self, outgoing: list[Outgoing]) -> None:
        """Send events in order; speak each sentence (send its audio) in its place.

        So the closing events of a spoken item follow its audio.
        """
        for thing in outgoing:
            if isinstance(thing, SpeakJob):
                if self._voice is not None:
                    await self._voice.speak(thing)
            else:
                await self._outbox.put(thing)

    async def _send(self, events: list[RealtimeServerEvent]) -> None:
        for event in events:
            await self._outbox.put(event)

    async def _write(self) -> None:
        gone = False
        while True:
            event = await self._outbox.get()
            if isinstance(event, Ending):
                if not gone:
                    await _refuse(self._websocket, event)
                return
            if isinstance(event, ResponseDoneEvent):  # counted whether or not the client hears it
                self._metrics.realtime_response_finished(event.response.status or "completed")
            if gone:
                continue  # keep draining, so no producer waits on a queue nobody empties
            try:
                await self._websocket.send_text(dump_json(event))
            except (WebSocketDisconnect, RuntimeError, OSError):
                gone = True  # the client left; the reader sees the disconnect and ends the group
