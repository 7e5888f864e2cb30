"""Items with content parts: the assistant ``message`` and the ``reasoning`` item.

A message holds one or more parts, each ``output_text`` or ``refusal``, opened and closed in
turn (content_index 0, 1, ... within the item). A reasoning item holds one ``reasoning_text``
part, opened with the item. Deltas are joined once, when a part closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import openai
from openai.types.responses import (
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseReasoningItem,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)
from openai.types.responses import response_output_text_annotation_added_event as added_event
from openai.types.responses.response_content_part_added_event import (
    PartReasoningText as AddedReasoningPart,
)
from openai.types.responses.response_content_part_done_event import (
    PartReasoningText as DoneReasoningPart,
)
from openai.types.responses.response_output_text import Annotation, Logprob
from openai.types.responses.response_reasoning_item import Content

from antiphon.exceptions import LedgerStateError
from antiphon.wire._base import ItemHandle, LedgerCore
from antiphon.wire._response import construct

__all__ = ["MessageHandle", "ReasoningHandle"]

# The annotation.added event has its own copy of each annotation class; a part's instance put in
# the event would serialise with warnings, so it is rebuilt as the event's class.
_EVENT_ANNOTATIONS: dict[str, type[openai.BaseModel]] = {
    "file_citation": added_event.AnnotationFileCitation,
    "url_citation": added_event.AnnotationURLCitation,
    "container_file_citation": added_event.AnnotationContainerFileCitation,
    "file_path": added_event.AnnotationFilePath,
}

_Part = ResponseOutputText | ResponseOutputRefusal


class MessageHandle(ItemHandle):
    """An assistant ``message``: ``open_text``, ``delta``..., ``close_part``, ..., ``done``.

    Parts are ``output_text`` (``open_text``) or ``refusal`` (``open_refusal``). Stages:
    ``idle`` (no part open), ``text`` or ``refusal`` (a part is open), ``done``.
    """

    __slots__ = ("_annotations", "_logprobs", "_parts", "_pieces", "phase")
    kind = "message"

    def __init__(
        self,
        core: LedgerCore,
        output_index: int,
        item_id: str,
        phase: Literal["commentary", "final_answer"] | None,
    ) -> None:
        super().__init__(core, output_index, item_id, "idle")
        self.phase = phase
        self._parts: list[_Part] = []
        self._pieces: list[str] = []
        self._annotations: list[Annotation] = []
        self._logprobs: list[Logprob] = []
        self._emit_added()

    def open_text(self) -> None:
        """Open an ``output_text`` part (``response.content_part.added``)."""
        self._open("open a text part", "text")

    def open_refusal(self) -> None:
        """Open a ``refusal`` part (``response.content_part.added``)."""
        self._open("open a refusal part", "refusal")

    def delta(self, text: str, logprobs: Sequence[Logprob] = ()) -> None:
        """Append to the open part; an empty ``text`` emits nothing (never an empty delta)."""
        self._expect("add a delta", "text", "refusal")
        if not text:
            return
        self._pieces.append(text)
        index = len(self._parts)
        if self._stage == "text":
            self._logprobs.extend(logprobs)
            self._item_event(
                ResponseTextDeltaEvent,
                type="response.output_text.delta",
                content_index=index,
                delta=text,
                logprobs=list(logprobs),
            )
        else:
            self._item_event(
                ResponseRefusalDeltaEvent,
                type="response.refusal.delta",
                content_index=index,
                delta=text,
            )

    def annotate(self, annotation: Annotation) -> None:
        """Attach an annotation (a citation) to the open text part."""
        self._expect("add an annotation", "text")
        self._item_event(
            ResponseOutputTextAnnotationAddedEvent,
            type="response.output_text.annotation.added",
            content_index=len(self._parts),
            annotation_index=len(self._annotations),
            annotation=construct(
                _EVENT_ANNOTATIONS[annotation.type],
                **annotation.model_dump(by_alias=True, exclude_unset=True),
            ),
        )
        self._annotations.append(annotation)

    def close_part(self) -> None:
        """Close the open part: its ``.done`` event, then ``response.content_part.done``."""
        self._expect("close a part", "text", "refusal")
        part = self._open_part()
        index = len(self._parts)
        if isinstance(part, ResponseOutputText):
            self._item_event(
                ResponseTextDoneEvent,
                type="response.output_text.done",
                content_index=index,
                text=part.text,
                logprobs=part.logprobs,
            )
        else:
            self._item_event(
                ResponseRefusalDoneEvent,
                type="response.refusal.done",
                content_index=index,
                refusal=part.refusal,
            )
        self._item_event(
            ResponseContentPartDoneEvent,
            type="response.content_part.done",
            content_index=index,
            part=part,
        )
        self._parts.append(part)
        self._pieces, self._annotations, self._logprobs = [], [], []
        self._stage = "idle"

    def done(self) -> None:
        """Close the open part if any, then the item (status ``completed``)."""
        self._expect("finish the message", "idle", "text", "refusal")
        if self._stage == "idle" and not self._parts:
            raise LedgerStateError(
                f"finish the message ({self.id})",
                expected="at least one content part",
                actual="none",
            )
        if self._stage != "idle":
            self.close_part()
        self._finish("completed")

    def _open(self, what: str, stage: Literal["text", "refusal"]) -> None:
        self._expect(what, "idle")
        self._stage = stage
        self._item_event(
            ResponseContentPartAddedEvent,
            type="response.content_part.added",
            content_index=len(self._parts),
            part=self._open_part(),
        )

    def _open_part(self) -> _Part:
        text = "".join(self._pieces)
        if self._stage == "refusal":
            return construct(ResponseOutputRefusal, type="refusal", refusal=text)
        return construct(
            ResponseOutputText,
            type="output_text",
            text=text,
            annotations=list(self._annotations),
            logprobs=list(self._logprobs),
        )

    def _open_stages(self) -> tuple[str, ...]:
        return ("idle", "text", "refusal")

    def _snapshot(self, status: str) -> ResponseOutputMessage:
        content: list[_Part] = list(self._parts)
        if self._stage in ("text", "refusal"):
            content.append(self._open_part())
        fields: dict[str, object] = {"phase": self.phase} if self.phase is not None else {}
        return construct(
            ResponseOutputMessage,
            type="message",
            id=self.id,
            role="assistant",
            status=status,
            content=content,
            **fields,
        )

    def _abandon(self, failed: bool) -> None:
        del failed  # a message has no "failed" status
        if self._stage != "idle":
            self.close_part()
        self._finish("incomplete")


class ReasoningHandle(ItemHandle):
    """A ``reasoning`` item with one ``reasoning_text`` part: ``delta``..., then ``done``.

    Stages: ``text`` (the part is open from the start), ``done``.
    """

    __slots__ = ("_pieces",)
    kind = "reasoning"

    def __init__(self, core: LedgerCore, output_index: int, item_id: str) -> None:
        super().__init__(core, output_index, item_id, "text")
        self._pieces: list[str] | None = None  # None until the part is added: content is []
        self._emit_added()
        self._pieces = []
        self._item_event(
            ResponseContentPartAddedEvent,
            type="response.content_part.added",
            content_index=0,
            part=construct(AddedReasoningPart, type="reasoning_text", text=""),
        )

    def delta(self, text: str) -> None:
        """Append reasoning text; an empty ``text`` emits nothing."""
        self._expect("add a delta", "text")
        if text:
            self._text().append(text)
            self._item_event(
                ResponseReasoningTextDeltaEvent,
                type="response.reasoning_text.delta",
                content_index=0,
                delta=text,
            )

    def done(self) -> None:
        """Close the part and the item (status ``completed``)."""
        self._expect("finish the reasoning", "text")
        self._close("completed")

    def _text(self) -> list[str]:
        assert self._pieces is not None  # set once the part is added, in __init__
        return self._pieces

    def _close(self, status: str) -> None:
        text = "".join(self._text())
        self._item_event(
            ResponseReasoningTextDoneEvent,
            type="response.reasoning_text.done",
            content_index=0,
            text=text,
        )
        self._item_event(
            ResponseContentPartDoneEvent,
            type="response.content_part.done",
            content_index=0,
            # each event module has its own class for the part: use the done event's one
            part=construct(DoneReasoningPart, type="reasoning_text", text=text),
        )
        self._pieces = [text]
        self._finish(status)

    def _open_stages(self) -> tuple[str, ...]:
        return ("text",)

    def _snapshot(self, status: str) -> ResponseReasoningItem:
        return construct(
            ResponseReasoningItem,
            type="reasoning",
            id=self.id,
            summary=[],
            content=[]
            if self._pieces is None
            else [construct(Content, type="reasoning_text", text="".join(self._pieces))],
            status=status,
        )

    def _abandon(self, failed: bool) -> None:
        del failed  # a reasoning item has no "failed" status
        self._close("incomplete")
