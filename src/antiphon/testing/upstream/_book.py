"""The stand-in upstream's state and wire encoding, shared by its app and its in-process form.

Role: :class:`ScriptBook` holds the turns queued per model and the requests received, and decides
how one request is answered (an error body or a turn to play) exactly as both servers must:
the Starlette app of :mod:`~antiphon.testing.upstream._app` (a real socket) and the
``httpx.MockTransport`` of :mod:`~antiphon.testing.upstream._memory` (in-process).
:func:`encode_frames` turns a turn's frames into the SSE bytes both send. No I/O.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from antiphon.engines._http import JSONObject, as_int, as_list, as_object, as_str

__all__ = ["DONE_FRAME", "Answer", "Record", "ScriptBook", "encode_frames", "error_body"]

#: The last frame of a complete stream.
DONE_FRAME: Final = b"data: [DONE]\n\n"
_MAX_RECORDS: Final = 1000  # per model: a stand-in serves one test module, not a fleet


@dataclass(slots=True)
class Record:
    """One request received: its path, JSON body, the client's address and how it ended."""

    path: str
    body: object
    peer: str = ""  # the client's address: one per connection, so reuse is visible
    outcome: str = "streaming"
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def end(self, outcome: str) -> None:
        """Settle the outcome (``completed``, ``cut``, ``disconnected`` or ``status``) once."""
        if not self.ended.is_set():
            self.outcome = outcome
            self.ended.set()

    def as_json(self) -> JSONObject:
        """The record as the control API reports it."""
        return {"path": self.path, "body": self.body, "peer": self.peer, "outcome": self.outcome}


@dataclass(frozen=True, slots=True)
class Answer:
    """How to answer one request: ``turn`` to play, or ``status`` with the ``error`` body."""

    record: Record
    model: str = ""
    turn: JSONObject | None = None
    status: int = 200
    error: JSONObject | None = None


@dataclass(slots=True)
class _Model:
    turns: deque[JSONObject] = field(default_factory=deque[JSONObject])
    records: list[Record] = field(default_factory=list[Record])
    release: asyncio.Event = field(default_factory=asyncio.Event)


class ScriptBook:
    """Turns queued per model name, and the requests each model received."""

    def __init__(self) -> None:
        self._models: dict[str, _Model] = {}

    def _model(self, name: str) -> _Model:
        return self._models.setdefault(name, _Model())

    @property
    def model_names(self) -> list[str]:
        """Every model scripted or asked for so far."""
        return list(self._models)

    def add(self, model: str, turns: Sequence[JSONObject]) -> int:
        """Queue ``turns`` for ``model`` (stalls wait for a new release); the queue's length."""
        state = self._model(model)
        state.turns.extend(turns)
        state.release = asyncio.Event()
        return len(state.turns)

    def records(self, model: str) -> list[Record]:
        """The requests ``model`` received, in order."""
        return self._model(model).records

    def release(self, model: str) -> asyncio.Event:
        """The event that lets ``model``'s stalled streams go on."""
        return self._model(model).release

    def answer(self, path: str, raw_body: bytes, peer: str = "") -> Answer:
        """Record one ``POST`` to a chat or completions ``path`` and say how to answer it.

        A body that is not a JSON object with ``model`` and ``messages`` (or ``prompt``) is a
        400, so is an unstreamed request; a model with no turn left is a 404 (vLLM's answer to
        an unknown model); a turn with ``status`` answers that error before any byte.
        """
        try:
            body = as_object(json.loads(raw_body))
        except ValueError:
            body = None
        required = "messages" if path.endswith("chat/completions") else "prompt"
        if body is None or not as_str(body.get("model")) or required not in body:
            message = f"the body must be a JSON object with model and {required}"
            return _refused(Record(path, body, peer), 400, message)
        record = Record(path, body, peer)
        if body.get("stream") is not True:
            return _refused(record, 400, "the stand-in only streams: send stream=true")
        model = as_str(body["model"]) or ""
        state = self._model(model)
        if len(state.records) < _MAX_RECORDS:
            state.records.append(record)
        if not state.turns:
            message = f"The model `{body['model']}` does not exist."
            return _refused(record, 404, message, "NotFoundError")
        turn = state.turns.popleft()
        if (status := as_int(turn.get("status"))) is not None:
            error = as_str(turn.get("error")) or "scripted failure"
            return _refused(record, status, error, "ServerError")
        return Answer(record, model, turn)


def _refused(record: Record, status: int, message: str, kind: str = "BadRequestError") -> Answer:
    record.end("status")
    return Answer(record, status=status, error=error_body(message, status, kind))


def error_body(message: str, status: int, kind: str = "BadRequestError") -> JSONObject:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "code": status}}


def encode_frames(turn: JSONObject) -> list[bytes]:
    """The SSE bytes of a turn's frames, one entry per frame (``[DONE]`` not included).

    JSON-object frames go out as ``data:`` lines; string frames verbatim (malformed input).
    """
    return [_frame(frame) for frame in as_list(turn.get("frames"))]


def _frame(frame: object) -> bytes:
    if isinstance(frame, str):
        return frame.encode()
    return f"data: {json.dumps(frame, separators=(',', ':'))}\n\n".encode()
