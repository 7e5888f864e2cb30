"""The response sequencing over a real socket: the server-VAD race against the fake GA server."""

from __future__ import annotations

import asyncio

import pytest

from antiphon.exceptions import TransportError
from antiphon.realtime._response_handle import RequestKind
from antiphon.realtime._responses import Responses
from antiphon.realtime.model import ServerEventReceived
from antiphon.realtime.testing import FakeRealtimeServer, text_reply
from antiphon.realtime.websocket import WebSocketRealtimeModel

pytestmark = pytest.mark.e2e


async def test_server_vad_race_over_a_real_socket_loses_no_request() -> None:
    async with FakeRealtimeServer() as server:
        model = WebSocketRealtimeModel()
        await model.connect({"url": server.url})
        await server.wait_connected()
        responses = Responses(model.send)
        answer = server.respond_with_text("mine")
        vad = server.start_response(text_reply("server vad"), hold=True)
        await vad.wait_started()
        handle = responses.request(kind=RequestKind.MANUAL)  # before response.created is seen

        async def pump() -> None:
            async for received in model.events():
                if isinstance(received, ServerEventReceived):
                    responses.on_server_event(received.event)
                    if received.event.type == "error":
                        vad.release()

        async with asyncio.timeout(5), asyncio.TaskGroup() as group:
            group.create_task(responses.run())
            reader = group.create_task(pump())
            outcome = await handle.wait()
            responses.release_all(TransportError("test over"))
            reader.cancel()
        await answer.wait_finished()
        await model.close()
    creates = server.log.of_type("response.create")
    assert [create.event_id for create in creates] == ["antiphon_rc_1", "antiphon_rc_2"]
    assert outcome.status == "completed"
    assert outcome.id != await vad.wait_started()
