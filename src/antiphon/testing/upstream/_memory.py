"""The stand-in upstream in-process: an ``httpx.MockTransport`` over the same scripts.

:class:`ScriptedUpstream` answers an engine's requests the way the stand-in process does (the
same :class:`~antiphon.testing.upstream._book.ScriptBook` decides, the same SSE bytes go out,
one frame per body chunk) without a socket, and its methods mirror
:class:`~antiphon.testing.upstream.UpstreamControl`. What needs a real socket cannot be
scripted here: a stall (timeouts are the transport's), a cut mid-body, connection reuse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Final

import httpx

from antiphon.engines._http import JSONObject, as_object
from antiphon.exceptions import ConfigurationError
from antiphon.testing.upstream._book import DONE_FRAME, Record, ScriptBook, encode_frames

__all__ = ["ScriptedUpstream"]

#: The base URL an in-process upstream's clients use; nothing resolves or dials it.
BASE_URL: Final = "http://upstream.test/v1"
_SOCKET_ONLY: Final = ("cut_after", "stall_after", "interval")


class _Frames(httpx.AsyncByteStream):
    """A turn's body, one frame per chunk; closing it early records a disconnect."""

    def __init__(self, frames: list[bytes], record: Record) -> None:
        self._frames = frames
        self._record = record

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for frame in self._frames:
            yield frame
        self._record.end("completed")

    async def aclose(self) -> None:
        self._record.end("disconnected")  # a no-op once the body was read to its end


class ScriptedUpstream:
    """A stand-in upstream behind :meth:`transport`, scripted per model name.

    Give an engine :meth:`client` (or a client over :meth:`transport`); queue turns with
    :meth:`script` (built with :func:`~antiphon.testing.upstream.turn` and the chunk builders)
    and read back what was received with :meth:`requests` and :meth:`bodies`. A request's
    ``outcome`` is ``completed`` when its body was read to the end, ``disconnected`` when the
    client closed it before, ``status`` when an error status was answered.
    """

    def __init__(self) -> None:
        self._book = ScriptBook()

    async def script(self, model: str, turns: Sequence[JSONObject]) -> None:
        """Queue ``turns`` for ``model``: each request for it plays the next one.

        Raises:
            ConfigurationError: a turn asks for a stall, a cut or a pace, which need a real socket
                (use :class:`~antiphon.testing.upstream.UpstreamProcess`).
        """
        for turn in turns:
            if socket_only := [key for key in _SOCKET_ONLY if key in turn]:
                raise ConfigurationError(
                    f"{', '.join(socket_only)} needs a real socket: use UpstreamProcess"
                )
        self._book.add(model, turns)

    async def requests(self, model: str) -> list[JSONObject]:
        """The requests received for ``model``: ``path``, ``body`` and ``outcome`` each."""
        return [record.as_json() for record in self._book.records(model)]

    async def bodies(self, model: str) -> list[JSONObject]:
        """Just the JSON bodies of the requests received for ``model``."""
        return [as_object(record.body) or {} for record in self._book.records(model)]

    def transport(self) -> httpx.MockTransport:
        """A transport that answers from the scripts."""
        return httpx.MockTransport(self._handle)

    def client(self) -> httpx.AsyncClient:
        """An httpx client over :meth:`transport` with base URL :data:`BASE_URL` (close it)."""
        return httpx.AsyncClient(transport=self.transport(), base_url=BASE_URL + "/")

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/models"):
            names = self._book.model_names
            data = [{"id": name, "object": "model", "owned_by": "antiphon"} for name in names]
            return httpx.Response(200, json={"object": "list", "data": data})
        if request.method != "POST" or not path.endswith(("/chat/completions", "/completions")):
            return httpx.Response(404, json={"error": {"message": f"no route {path}"}})
        answer = self._book.answer(path, request.content, peer="in-process")
        if answer.turn is None:
            return httpx.Response(answer.status, json=answer.error)
        frames = encode_frames(answer.turn)
        if answer.turn.get("done", True):
            frames.append(DONE_FRAME)
        headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        return httpx.Response(200, headers=headers, stream=_Frames(frames, answer.record))
