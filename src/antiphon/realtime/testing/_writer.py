"""One response of the fake server: the writer a reply uses, and the control a test keeps.

A *reply* is an async callable taking a :class:`ResponseWriter`; the scripted helpers
(:func:`text_reply`, :func:`tool_call_reply`, …) are replies too. The writer emits each output
item the way the GA server does (``response.output_item.added``, ``conversation.item.added``, the
item's deltas and ``.done`` events: ``content_part``/``output_text`` for text, audio and
transcript for audio, ``function_call_arguments`` with ``name`` for a call, then
``conversation.item.done`` and ``response.output_item.done``) and wraps them in
``response.created`` … ``response.done``: the response starts lazily, at the first output, so an
:func:`error_reply` starts none.

Holding: a held response pauses after its first delta (or right after ``response.created`` when
it has no output) until :meth:`ReplyControl.release` or a ``response.cancel``. After a cancel,
every further emit unwinds the reply and ``response.done`` reports ``status: "cancelled"``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from openai.types.realtime import ResponseCreateEvent

from antiphon.realtime.testing._frames import (
    Frame,
    Ids,
    error_event,
    function_call_item,
    message_item,
    response_object,
    server_event,
    split,
)

__all__ = ["Reply", "ReplyControl", "ResponseWriter"]


class ResponseCancelled(Exception):
    """Unwinds a reply after ``response.cancel`` (caught by the server, never seen by tests)."""


class Link(Protocol):
    """What a writer needs of its connection."""

    ids: Ids

    async def send_frame(self, frame: Frame, *, validate: bool = True) -> None:
        """Send one frame (validated against the GA union unless told otherwise)."""
        ...

    async def send_text(self, text: str) -> None:
        """Send raw text, unchecked."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with a close frame."""
        ...

    def append_item(self, item_id: str) -> str | None:
        """Record a conversation item; return the id of the item before it."""
        ...

    def end_response(self, writer: ResponseWriter) -> None:
        """Note that ``writer``'s response is over (before its ``response.done`` is sent)."""
        ...


class ReplyState:
    """Shared by a reply's writer (which sets it) and its control (which reads it)."""

    def __init__(self, hold: bool) -> None:
        self.hold = hold
        self.released = asyncio.Event()
        self.started = asyncio.Event()
        self.finished = asyncio.Event()
        self.response_id: str | None = None


class ReplyControl:
    """A test's grip on one scripted reply: wait for it, release it when held."""

    def __init__(self, state: ReplyState) -> None:
        self._state = state

    def release(self) -> None:
        """Let a held response continue."""
        self._state.released.set()

    async def wait_started(self) -> str:
        """Wait until ``response.created`` was sent; return the response id."""
        await self._state.started.wait()
        assert self._state.response_id is not None  # set before `started`
        return self._state.response_id

    async def wait_finished(self) -> None:
        """Wait until the reply ended (``response.done`` sent, or no response at all)."""
        await self._state.finished.wait()


class ResponseWriter:
    """Emits one response's events; given to every reply."""

    def __init__(self, link: Link, state: ReplyState, request: ResponseCreateEvent | None) -> None:
        self.request = request
        """The ``response.create`` that started it; None for a server-started response."""
        self.status = "completed"
        """The ``response.done`` status when the reply ends normally (a reply may change it)."""
        self.cancelled = False
        self._link = link
        self._state = state
        self.response_id = link.ids.next("resp")
        self._output: list[Frame] = []
        self._started = self._ended = False
        self._held = False

    async def emit(self, frame: Frame, *, validate: bool = True) -> None:
        """Send one frame as part of this response (raw: no lifecycle, no ids added)."""
        if self.cancelled:
            raise ResponseCancelled
        await self._link.send_frame(frame, validate=validate)

    async def send_raw(self, text: str) -> None:
        """Send text that need not be JSON (to test malformed frames)."""
        await self._link.send_text(text)

    async def error(self, code: str, message: str) -> None:
        """Reject the request with an ``error`` event naming its ``event_id``."""
        event_id = self.request.event_id if self.request is not None else None
        await self.emit(error_event(self._link.ids, code, message, client_event_id=event_id))

    async def close(self, code: int = 1011, reason: str = "") -> None:
        """Close the connection; the response ends without ``response.done``."""
        self._ended = True
        await self._link.close(code, reason)

    async def text(self, text: str, *, chunks: int = 1) -> None:
        """One assistant text message, streamed in ``chunks`` deltas."""
        item_id, index = await self._open_item(message_item)
        part = {"response_id": self.response_id, "item_id": item_id, "output_index": index}
        await self._event(
            "response.content_part.added",
            **part,
            content_index=0,
            part={"type": "text", "text": ""},
        )
        for number, piece in enumerate(split(text, chunks)):
            await self._event("response.output_text.delta", **part, content_index=0, delta=piece)
            if number == 0:
                await self._hold_point()
        await self._hold_point()
        await self._event("response.output_text.done", **part, content_index=0, text=text)
        await self._event(
            "response.content_part.done",
            **part,
            content_index=0,
            part={"type": "text", "text": text},
        )
        content: list[Frame] = [{"type": "output_text", "text": text}]
        await self._close_item(index, message_item(item_id, "completed", content))

    async def audio(self, audio: bytes, transcript: str, *, chunks: int = 1) -> None:
        """One assistant audio message: audio and transcript deltas interleaved."""
        item_id, index = await self._open_item(message_item)
        part = {
            "response_id": self.response_id,
            "item_id": item_id,
            "output_index": index,
            "content_index": 0,
        }
        await self._event(
            "response.content_part.added", **part, part={"type": "audio", "transcript": ""}
        )
        size = -(-len(audio) // max(chunks, 1)) or 1
        pieces = [audio[i : i + size] for i in range(0, len(audio), size)]
        words = split(transcript, chunks)
        for number in range(max(len(pieces), len(words))):
            if number < len(pieces):
                delta = base64.b64encode(pieces[number]).decode("ascii")
                await self._event("response.output_audio.delta", **part, delta=delta)
            if number < len(words):
                await self._event(
                    "response.output_audio_transcript.delta", **part, delta=words[number]
                )
            if number == 0:
                await self._hold_point()
        await self._hold_point()
        await self._event("response.output_audio.done", **part)
        await self._event("response.output_audio_transcript.done", **part, transcript=transcript)
        await self._event(
            "response.content_part.done", **part, part={"type": "audio", "transcript": transcript}
        )
        content: list[Frame] = [{"type": "output_audio", "transcript": transcript}]
        await self._close_item(index, message_item(item_id, "completed", content))

    async def tool_call(
        self, name: str, arguments: str | Mapping[str, object], *, call_id: str | None = None
    ) -> None:
        """One ``function_call`` item; ``arguments`` given as a mapping is JSON-encoded."""
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call = call_id or self._link.ids.next("call")

        def opening(item_id: str, status: str, _content: list[Frame]) -> Frame:
            return function_call_item(item_id, call, name, "", status)

        item_id, index = await self._open_item(opening)
        ids = {
            "response_id": self.response_id,
            "item_id": item_id,
            "output_index": index,
            "call_id": call,
        }
        if args:
            await self._event("response.function_call_arguments.delta", **ids, delta=args)
        await self._hold_point()
        await self._event("response.function_call_arguments.done", **ids, name=name, arguments=args)
        await self._close_item(index, function_call_item(item_id, call, name, args, "completed"))

    async def _event(self, type_: str, **fields: object) -> None:
        await self.emit(server_event(self._link.ids, type_, **fields))

    async def _start(self) -> None:
        if not self._started:
            self._started = True
            response = response_object(self.response_id, "in_progress", [])
            await self._event("response.created", response=response)
            self._state.response_id = self.response_id
            self._state.started.set()

    async def _open_item(self, build: Callable[[str, str, list[Frame]], Frame]) -> tuple[str, int]:
        await self._start()
        item_id = self._link.ids.next("item")
        index = len(self._output)
        item = build(item_id, "in_progress", [])
        self._output.append(item)
        await self._event(
            "response.output_item.added",
            response_id=self.response_id,
            output_index=index,
            item=item,
        )
        previous = self._link.append_item(item_id)
        await self._event("conversation.item.added", item=item, previous_item_id=previous)
        return item_id, index

    async def _close_item(self, index: int, item: Frame) -> None:
        self._output[index] = item
        await self._event("conversation.item.done", item=item)
        await self._event(
            "response.output_item.done", response_id=self.response_id, output_index=index, item=item
        )

    async def _hold_point(self) -> None:
        await self._start()
        if self._state.hold and not self._held:
            self._held = True
            await self._state.released.wait()
        if self.cancelled:
            raise ResponseCancelled

    def cancel(self) -> None:
        """Cancel the response (the server calls this on ``response.cancel``)."""
        self.cancelled = True
        self._state.released.set()

    def abandon(self) -> None:
        """Mark the reply over without sending anything (the connection is gone)."""
        self._ended = True
        self._state.finished.set()

    async def finish(self) -> None:
        """End the reply: send ``response.done`` if a response was started and not ended."""
        if not self._started:
            # A reply that only rejected the request (an error) never made a response active.
            self._link.end_response(self)
        try:
            if self._started and not self._ended:
                self._ended = True
                status = "cancelled" if self.cancelled else self.status
                output = [
                    {**item, "status": "incomplete"}
                    if item.get("status") == "in_progress"
                    else item
                    for item in self._output
                ]
                response = response_object(self.response_id, status, output)
                self._link.end_response(self)
                await self._link.send_frame(
                    server_event(self._link.ids, "response.done", response=response)
                )
        finally:
            self._state.finished.set()


Reply = Callable[[ResponseWriter], Awaitable[None]]
"""A custom reply: an async callable given the response's writer."""
