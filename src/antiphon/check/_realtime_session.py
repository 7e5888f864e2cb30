"""One WebSocket to a Realtime server for the battery: frames out, every server event checked.

Thin over ``websockets``: each received frame is decoded and fed to a
:class:`~antiphon.check.realtime_rules.RealtimeEventChecker`; the first violation ends the check
as :class:`CheckFailed`. A refused handshake (4xx) is :class:`NotSupported`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from antiphon.check._json import JSON, is_json
from antiphon.check.outcome import CheckFailed, NotSupported
from antiphon.check.realtime_rules import RealtimeEventChecker
from antiphon.check.violation import Violation

__all__ = ["RealtimeTarget", "RealtimeProbe"]

#: a server event larger than this is refused (a check never needs audio)
_MAX_FRAME = 16 << 20


class RealtimeProbe:
    """A connected session: send client events, receive checked server events."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self.checker = RealtimeEventChecker()
        self.seen: list[JSON] = []

    async def send(self, frame: Mapping[str, object] | str) -> None:
        """Send a client event (a mapping), or raw text (for the malformed-event check)."""
        await self._connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self) -> JSON:
        """The next server event, checked."""
        try:
            raw = await self._connection.recv(decode=True)
        except ConnectionClosed as closed:
            raise CheckFailed(f"the server closed the session ({closed})") from closed
        index = len(self.seen)
        try:
            payload: object = json.loads(raw)
        except ValueError as error:
            found = Violation("realtime.json", f"a frame is not JSON: {str(raw)[:120]!r}", index)
            raise CheckFailed(found.message, found) from error
        if not is_json(payload):
            found = Violation("realtime.json", "a frame is not a JSON object", index, payload)
            raise CheckFailed(found.message, found)
        self.seen.append(payload)
        problems = self.checker.feed(payload)
        if problems:
            raise CheckFailed(problems[0].message, problems[0])
        return payload

    async def until(self, kind: str, where: Callable[[JSON], bool] = lambda _: True) -> JSON:
        """Receive until an event of type ``kind`` that satisfies ``where``."""
        while True:
            event = await self.recv()
            if event.get("type") == kind and where(event):
                return event

    async def finish(self) -> None:
        """Check what trails the last awaited event, then that no response is still open.

        A ``session.update`` that changes nothing is a barrier: every event the server sent
        before its ``session.updated`` (a second ``response.done``, a late delta) is read and
        checked, with no waiting on a quiet period.
        """
        await self.send({"type": "session.update", "session": {"type": "realtime"}})
        await self.until("session.updated")
        problems = self.checker.finish(idle=True)
        if problems:
            raise CheckFailed(problems[0].message, problems[0])


class RealtimeTarget:
    """Where and how to connect: the server's base URL (``http(s)://.../v1``), a model, a key."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None) -> None:
        scheme, _, rest = base_url.rstrip("/").partition("://")
        ws = {"http": "ws", "https": "wss"}.get(scheme, scheme)
        self.url = f"{ws}://{rest}/realtime?model={quote(model)}"
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    @asynccontextmanager
    async def session(self) -> AsyncGenerator[RealtimeProbe]:
        """A connected probe (its first event, ``session.created``, is read with the rest)."""
        try:
            connection = await connect(
                self.url, additional_headers=self._headers, max_size=_MAX_FRAME
            )
        except InvalidStatus as refused:
            status = refused.response.status_code
            if 400 <= status < 500:
                raise NotSupported(
                    f"realtime: the handshake was refused with HTTP {status}"
                ) from refused
            raise CheckFailed(f"the handshake failed with HTTP {status}") from refused
        async with connection:
            yield RealtimeProbe(connection)
