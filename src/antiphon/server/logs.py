"""Structured logs: ``--log-format json`` writes one JSON object per line on stderr.

Every line carries ``request_id``, ``response_id`` and ``session_id`` (``null`` where they do not
apply), so an operator can follow one request, one response or one realtime session through the
logs. They come from a :class:`LogContext` that the HTTP middleware
(:mod:`antiphon.server.instrument`) puts in a context variable for each request: tasks started
while handling it inherit it. A response's run is a task named ``response resp_...`` by the
Responses service, so its lines name the response even when no request is around any more (a
``background`` run). The context holds no secrets: no header, body or key is ever logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

__all__ = ["LOG_FORMATS", "JsonFormatter", "LogContext", "current_log_context", "log_context"]

#: The values ``--log-format`` takes.
LOG_FORMATS: Final = ("text", "json")
_RUN_TASK_PREFIX: Final = "response "


@dataclass(slots=True)
class LogContext:
    """The ids of what a line is about; mutable, so a connection can name its session late."""

    request_id: str
    response_id: str | None = None
    session_id: str | None = None


log_context: ContextVar[LogContext | None] = ContextVar("antiphon_log_context", default=None)


def current_log_context() -> LogContext | None:
    """The context of the request being handled, if any."""
    return log_context.get()


def _run_response_id() -> str | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a thread, or start-up
        return None
    if task is None:
        return None
    name = task.get_name()
    return name[len(_RUN_TASK_PREFIX) :] if name.startswith(_RUN_TASK_PREFIX) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the three ids, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        context = log_context.get()
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if context is None else context.request_id,
            "response_id": _run_response_id() or (None if context is None else context.response_id),
            "session_id": None if context is None else context.session_id,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
