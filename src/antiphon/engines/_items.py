"""Reading Responses input items leniently: the text pieces both request builders need.

Items arrive as JSON-shaped dicts (``ResponseInputItemParam``); these helpers pull text out of
them without trusting their shape, so a malformed item yields empty text rather than a crash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from antiphon.engines._http import as_list, as_object, as_str

__all__ = ["code_logs", "mcp_result", "output_text", "texts"]


def texts(value: object, *, refusals: bool = False) -> list[str]:
    """The ``text`` of each content part (and ``refusal`` text when asked), empty ones skipped."""
    found: list[str] = []
    for part in as_list(value):
        obj = as_object(part) or {}
        text = as_str(obj.get("text")) or (as_str(obj.get("refusal")) if refusals else None)
        if text:
            found.append(text)
    return found


def output_text(value: object) -> str:
    """A ``function_call_output.output``: a string, or text parts joined."""
    return value if isinstance(value, str) else "".join(texts(value))


def mcp_result(item: Mapping[str, object]) -> str:
    """What an ``mcp_call`` returned: its output, else its error (a string or a typed error)."""
    if output := as_str(item.get("output")):
        return output
    error = item.get("error")
    if isinstance(error, str) or error is None:
        return error or ""
    obj = as_object(error) or {}
    message = as_str(obj.get("message"))
    return message or json.dumps(obj.get("content", obj), ensure_ascii=False, default=str)


def code_logs(item: Mapping[str, object]) -> str:
    """The logs a ``code_interpreter_call`` printed, joined (images are not text)."""
    return "".join(
        as_str((as_object(o) or {}).get("logs")) or "" for o in as_list(item.get("outputs"))
    )
