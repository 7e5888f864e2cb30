"""Built-in server tools: ``code_interpreter_call`` and ``web_search_call``.

Both report execution as it happens: ``interpreting`` / ``searching`` before the tool runs,
``completed`` after it returns. The spec has no ``failed`` event for either, so a failure is the
item's ``failed`` status in ``output_item.done``.
"""

from __future__ import annotations

from collections.abc import Sequence

from openai.types.responses import (
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCodeInterpreterToolCall,
    ResponseFunctionWebSearch,
    ResponseWebSearchCallCompletedEvent,
    ResponseWebSearchCallInProgressEvent,
    ResponseWebSearchCallSearchingEvent,
)
from openai.types.responses.response_code_interpreter_tool_call import Output
from openai.types.responses.response_function_web_search import Action

from antiphon.wire._base import ItemHandle, LedgerCore
from antiphon.wire._response import construct

__all__ = ["CodeInterpreterHandle", "WebSearchHandle"]


class CodeInterpreterHandle(ItemHandle):
    """A ``code_interpreter_call``: code ``delta``..., ``code_done``, run, ``complete``/``fail``.

    Stages: ``code``, ``interpreting`` (the code runs), ``done``.
    """

    __slots__ = ("_outputs", "_pieces", "container_id")
    kind = "code_interpreter_call"

    def __init__(self, core: LedgerCore, output_index: int, item_id: str, container_id: str):
        super().__init__(core, output_index, item_id, "code")
        self.container_id = container_id
        self._pieces: list[str] = []
        self._outputs: list[Output] | None = None
        self._emit_added()
        self._item_event(
            ResponseCodeInterpreterCallInProgressEvent,
            type="response.code_interpreter_call.in_progress",
        )

    def delta(self, code: str) -> None:
        """Append code text; an empty string emits nothing."""
        self._expect("add a code delta", "code")
        if code:
            self._pieces.append(code)
            self._item_event(
                ResponseCodeInterpreterCallCodeDeltaEvent,
                type="response.code_interpreter_call_code.delta",
                delta=code,
            )

    def code_done(self) -> None:
        """The code is final and starts running: ``code.done``, then ``interpreting``."""
        self._expect("finish the code", "code")
        self._code_done()
        self._stage = "interpreting"
        self._item_event(
            ResponseCodeInterpreterCallInterpretingEvent,
            type="response.code_interpreter_call.interpreting",
        )

    def complete(self, outputs: Sequence[Output] | None = None) -> None:
        """The run ended: ``completed``, then the item with ``outputs`` (logs, images)."""
        self._expect("complete the code run", "interpreting")
        self._outputs = None if outputs is None else list(outputs)
        self._item_event(
            ResponseCodeInterpreterCallCompletedEvent,
            type="response.code_interpreter_call.completed",
        )
        self._finish("completed")

    def fail(self, outputs: Sequence[Output] | None = None) -> None:
        """The run failed: the item ends with status ``failed`` (the spec has no event)."""
        self._expect("fail the code run", "interpreting")
        self._outputs = None if outputs is None else list(outputs)
        self._finish("failed")

    def _code_done(self) -> None:
        code = "".join(self._pieces)
        self._pieces = [code]
        self._item_event(
            ResponseCodeInterpreterCallCodeDoneEvent,
            type="response.code_interpreter_call_code.done",
            code=code,
        )

    def _open_stages(self) -> tuple[str, ...]:
        return ("code", "interpreting")

    def _snapshot(self, status: str) -> ResponseCodeInterpreterToolCall:
        if status == "in_progress" and self._stage == "interpreting":
            status = "interpreting"
        return construct(
            ResponseCodeInterpreterToolCall,
            type="code_interpreter_call",
            id=self.id,
            container_id=self.container_id,
            code="".join(self._pieces),
            outputs=self._outputs,
            status=status,
        )

    def _abandon(self, failed: bool) -> None:
        if self._stage == "code":
            self._code_done()
        self._finish("failed" if failed else "incomplete")


class WebSearchHandle(ItemHandle):
    """A ``web_search_call``: ``searching`` (the search runs), then ``complete``/``fail``.

    Stages: ``pending``, ``searching``, ``done``. The action is known when the item is added:
    the spec has no argument deltas for web search.
    """

    __slots__ = ("action",)
    kind = "web_search_call"

    def __init__(self, core: LedgerCore, output_index: int, item_id: str, action: Action):
        super().__init__(core, output_index, item_id, "pending")
        self.action = action
        self._emit_added()
        self._item_event(
            ResponseWebSearchCallInProgressEvent, type="response.web_search_call.in_progress"
        )

    def searching(self) -> None:
        """The search starts (``web_search_call.searching``)."""
        self._expect("start searching", "pending")
        self._stage = "searching"
        self._item_event(
            ResponseWebSearchCallSearchingEvent, type="response.web_search_call.searching"
        )

    def complete(self, action: Action | None = None) -> None:
        """The search ended; ``action`` replaces the first one (e.g. with its ``sources``)."""
        self._expect("complete the search", "searching")
        if action is not None:
            self.action = action
        self._item_event(
            ResponseWebSearchCallCompletedEvent, type="response.web_search_call.completed"
        )
        self._finish("completed")

    def fail(self) -> None:
        """The search failed: the item ends with status ``failed`` (the spec has no event)."""
        self._expect("fail the search", "pending", "searching")
        self._finish("failed")

    def _open_stages(self) -> tuple[str, ...]:
        return ("pending", "searching")

    def _snapshot(self, status: str) -> ResponseFunctionWebSearch:
        if status == "in_progress" and self._stage == "searching":
            status = "searching"
        return construct(
            ResponseFunctionWebSearch,
            type="web_search_call",
            id=self.id,
            action=self.action,
            status=status,
        )

    def _abandon(self, failed: bool) -> None:
        self._finish("failed" if failed else "incomplete")
