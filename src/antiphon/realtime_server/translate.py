"""One realtime response, translated from the Responses events of the run behind it.

A realtime response runs on the same turn loop and ledger as ``POST /v1/responses`` (the same
engines, harmony classification, MCP calls, code interpreter, limits). A
:class:`ResponseTranslator` turns that run's Responses stream events into GA realtime server
events, keeps the response's output items, and adds them to the conversation as they open and
finish. Reasoning items never leave the server; output indexes count only what is shown. Most
events have a realtime twin of the same name (``response.output_text.delta``,
``response.mcp_call.completed``); ``response.mcp_list_tools.*`` loses its prefix, and a code
interpreter call is shown as an ``mcp_call`` (see :mod:`antiphon.realtime_server._convert`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from openai.types.realtime import (
    ConversationItem,
    RealtimeServerEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseTextDeltaEvent,
)
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseStreamEvent,
)

from antiphon.realtime_server._convert import Status, realtime_item
from antiphon.realtime_server._translated import (
    SAME_EVENTS,
    Ending,
    OpenItem,
    Outgoing,
    Voice,
    server_event,
    text_of,
)
from antiphon.realtime_server.items import ConversationItems
from antiphon.realtime_server.voice import SpeakJob
from antiphon.wire.json import dump

__all__ = ["Ending", "Outgoing", "ResponseTranslator", "Voice"]


@dataclass(slots=True)
class ResponseTranslator:
    """Translates one run (see the module docstring); ``ending`` is set by its terminal event."""

    response_id: str
    in_conversation: bool
    items: ConversationItems
    ids: Callable[[str], str]
    #: Set when the response is spoken: its messages carry audio and their transcript.
    voice: Voice | None = None
    output: list[ConversationItem] = field(default_factory=list[ConversationItem])
    ending: Ending | None = None
    _open: dict[int, OpenItem] = field(default_factory=dict[int, OpenItem])
    _hidden: set[int] = field(default_factory=set[int])

    def feed(self, event: ResponseStreamEvent) -> list[Outgoing]:
        """The realtime events for one Responses event (often none)."""
        kind = event.type
        index: object = getattr(event, "output_index", None)
        if isinstance(
            event, ResponseCompletedEvent | ResponseIncompleteEvent | ResponseFailedEvent
        ):
            self._end(event.response)
            return []
        if not isinstance(index, int) or index in self._hidden:
            return []
        if isinstance(event, ResponseOutputItemAddedEvent):
            return self._added(dump(event.item), index)
        opened = self._open.get(index)
        if opened is None:
            return []
        if kind == "response.output_text.delta":
            return self._text_delta(opened, text_of(event, "delta"))
        if kind == "response.function_call_arguments.delta":
            return [self._arguments_delta(opened, text_of(event, "delta"))]
        if isinstance(event, ResponseOutputItemDoneEvent):
            return self._done(opened, dump(event.item))
        return self._other(kind, opened, event)

    def _other(self, kind: str, opened: OpenItem, event: ResponseStreamEvent) -> list[Outgoing]:
        fields: dict[str, object] = {
            "response_id": self.response_id,
            "item_id": opened.item_id,
            "output_index": opened.index,
        }
        # Realtime's mcp_call status events carry no response_id (the official types have none).
        status_fields = {"item_id": opened.item_id, "output_index": opened.index}
        if kind in SAME_EVENTS:
            return [self._event(kind, status_fields)]
        if kind == "response.mcp_call_arguments.done":
            return self._calling(fields, text_of(event, "arguments"))
        if kind == "response.mcp_call_arguments.delta":
            return [self._event(kind, {**fields, "delta": text_of(event, "delta")})]
        if kind.startswith("response.mcp_list_tools."):
            return [self._event(kind.removeprefix("response."), {"item_id": opened.item_id})]
        if kind == "response.code_interpreter_call_code.done":
            return self._calling(fields, json.dumps({"code": text_of(event, "code")}))
        text_part = {"content_index": 0, **fields}
        if self.voice is not None and opened.kind == "message":
            return self._spoken(kind, opened, event, text_part)
        if kind == "response.content_part.added" and opened.kind == "message":
            return [self._event(kind, {**text_part, "part": {"type": "text", "text": ""}})]
        if kind == "response.output_text.done":
            return [self._event(kind, {**text_part, "text": text_of(event, "text")})]
        if kind == "response.content_part.done" and opened.kind == "message":
            text = text_of(getattr(event, "part", None), "text")
            return [self._event(kind, {**text_part, "part": {"type": "text", "text": text}})]
        if kind == "response.function_call_arguments.done":
            return [
                self._event(
                    kind,
                    {
                        **fields,
                        "call_id": opened.call_id,
                        "name": opened.name,
                        "arguments": text_of(event, "arguments"),
                    },
                )
            ]
        return []  # a Responses-only event (reasoning text, code deltas, queued, in_progress)

    def _spoken(
        self, kind: str, opened: OpenItem, event: ResponseStreamEvent, part: dict[str, object]
    ) -> list[Outgoing]:
        """A message's closing events when it is spoken: audio, then transcript, then part."""
        if kind == "response.content_part.added":
            return [self._event(kind, {**part, "part": {"type": "audio", "transcript": ""}})]
        if kind == "response.output_text.done":
            rest = opened.sentences.flush()
            events: list[Outgoing] = [self._speak(opened, rest)] if rest else []
            transcript = text_of(event, "text")
            events.append(self._event("response.output_audio.done", part))
            events.append(
                self._event(
                    "response.output_audio_transcript.done", {**part, "transcript": transcript}
                )
            )
            return events
        if kind == "response.content_part.done":
            text = text_of(getattr(event, "part", None), "text")
            return [self._event(kind, {**part, "part": {"type": "audio", "transcript": text}})]
        return []

    def _speak(self, opened: OpenItem, text: str) -> SpeakJob:
        voice = self.voice
        assert voice is not None
        return SpeakJob(
            self.response_id, opened.item_id, opened.index, text, voice.voice, voice.speed
        )

    def _calling(self, fields: dict[str, object], arguments: str) -> list[Outgoing]:
        # Realtime shows a call in progress once its arguments are complete and it runs
        # (Responses opens it with the item, before the arguments stream).
        return [
            self._event("response.mcp_call_arguments.done", {**fields, "arguments": arguments}),
            self._event(
                "response.mcp_call.in_progress",
                {key: value for key, value in fields.items() if key != "response_id"},
            ),
        ]

    def _added(self, item: Mapping[str, object], source: int | None) -> list[Outgoing]:
        shown = realtime_item(item, "in_progress", spoken=self.voice is not None)
        if shown is None or source is None:
            if source is not None:
                self._hidden.add(source)
            return []
        opened = OpenItem(
            str(shown.id),
            len(self.output),
            str(item.get("type")),
            str(item.get("call_id") or ""),
            str(item.get("name") or ""),
        )
        self._open[source] = opened
        self.output.append(shown)
        events: list[Outgoing] = [
            self._event(
                "response.output_item.added",
                {
                    "response_id": self.response_id,
                    "output_index": opened.index,
                    "item": dump(shown),
                },
            )
        ]
        if self.in_conversation:
            previous = self.items.insert(shown, origin=item)
            events.append(
                self._event(
                    "conversation.item.added",
                    {"item": dump(shown), "previous_item_id": previous},
                )
            )
        return events

    def _done(self, opened: OpenItem, item: Mapping[str, object]) -> list[Outgoing]:
        del self._open[next(k for k, v in self._open.items() if v is opened)]
        status: Status = "incomplete" if item.get("status") == "incomplete" else "completed"
        done = realtime_item(item, status, spoken=self.voice is not None)
        assert done is not None  # it was shown when it opened
        self.output[opened.index] = done
        events: list[Outgoing] = []
        fields = {"response_id": self.response_id, "item_id": opened.item_id}
        if opened.kind == "code_interpreter_call":
            ended = "failed" if item.get("status") == "failed" else "completed"
            events.append(
                self._event(f"response.mcp_call.{ended}", {**fields, "output_index": opened.index})
            )
        if self.in_conversation:
            self.items.replace(done, origin=item)
            events.append(self._event("conversation.item.done", {"item": dump(done)}))
        events.append(
            self._event(
                "response.output_item.done",
                {"response_id": self.response_id, "output_index": opened.index, "item": dump(done)},
            )
        )
        return events

    def close_open(self) -> list[Outgoing]:
        """End the items still open as ``incomplete`` (the response was cut short)."""
        events: list[Outgoing] = []
        for opened in list(self._open.values()):
            if opened.kind in ("message", "function_call"):
                events += self._done(opened, opened.partial())
        self._open.clear()
        return events

    def _end(self, response: Response) -> None:
        status = response.status
        details = response.incomplete_details
        reason = details.reason if details is not None else None
        self.ending = Ending(
            status if status == "incomplete" or status == "failed" else "completed",
            reason if reason == "max_output_tokens" or reason == "content_filter" else None,
            response.error.message if response.error is not None else None,
            response.usage,
        )

    def _text_delta(self, opened: OpenItem, delta: str) -> list[Outgoing]:
        opened.text.append(delta)
        if self.voice is None:
            return [
                ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    event_id=self.ids("event"),
                    response_id=self.response_id,
                    item_id=opened.item_id,
                    output_index=opened.index,
                    content_index=0,
                    delta=delta,
                )
            ]
        spoken: list[Outgoing] = [
            ResponseAudioTranscriptDeltaEvent(
                type="response.output_audio_transcript.delta",
                event_id=self.ids("event"),
                response_id=self.response_id,
                item_id=opened.item_id,
                output_index=opened.index,
                content_index=0,
                delta=delta,
            )
        ]
        spoken += [self._speak(opened, text) for text in opened.sentences.feed(delta)]
        return spoken

    def _arguments_delta(self, opened: OpenItem, delta: str) -> RealtimeServerEvent:
        opened.text.append(delta)
        return ResponseFunctionCallArgumentsDeltaEvent(
            type="response.function_call_arguments.delta",
            event_id=self.ids("event"),
            response_id=self.response_id,
            item_id=opened.item_id,
            output_index=opened.index,
            call_id=opened.call_id,
            delta=delta,
        )

    def _event(self, kind: str, fields: Mapping[str, object]) -> RealtimeServerEvent:
        return server_event(kind, self.ids("event"), fields)
