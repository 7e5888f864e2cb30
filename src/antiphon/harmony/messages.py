"""The data shapes shared by the harmony renderer, parser and classifier.

Harmony (the gpt-oss chat format) is handled at the text level: special tokens travel as their
literal text (``<|start|>``), which an upstream tokenizer splits out again. These types carry no
behaviour; the renderer turns them into prompt text and the parser produces them from model text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CALL",
    "CHANNEL",
    "CONSTRAIN",
    "END",
    "MESSAGE",
    "RETURN",
    "SPECIAL_TOKENS",
    "START",
    "HarmonyHeader",
    "HarmonyMessage",
    "RESERVED_NAMESPACES",
    "mcp_namespace",
]

START: Final = "<|start|>"
END: Final = "<|end|>"
MESSAGE: Final = "<|message|>"
CHANNEL: Final = "<|channel|>"
CONSTRAIN: Final = "<|constrain|>"
RETURN: Final = "<|return|>"
CALL: Final = "<|call|>"

#: Every special token the codec knows, as text.
SPECIAL_TOKENS: Final = (START, END, MESSAGE, CHANNEL, CONSTRAIN, RETURN, CALL)


@dataclass(frozen=True, slots=True)
class HarmonyHeader:
    """What stands between ``<|start|>`` and ``<|message|>``.

    ``role`` is ``system``, ``developer``, ``user`` or ``assistant``, or for tool results the
    tool's name (``functions.get_weather``, ``python``). ``recipient`` is the ``to=`` target,
    ``content_type`` the trailing type (``json``, ``<|constrain|>json``, ``code``).
    """

    role: str
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class HarmonyMessage:
    """One complete harmony message: a header and its content text."""

    header: HarmonyHeader
    content: str


#: Namespaces the format itself uses; an MCP server label never renders as one of these.
RESERVED_NAMESPACES: Final = frozenset({"functions", "python", "browser", "container", "assistant"})

_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def mcp_namespace(server_label: str) -> str:
    """The harmony namespace under which an MCP server's tools are rendered and recognised.

    Lower-case ``[a-z0-9_]`` only (the model copies namespaces token by token, and odd characters
    invite spelling drift); a label that would collide with a reserved namespace or start with a
    digit gets an ``mcp_`` prefix. The renderer and the classifier both call this, so a rendered
    namespace always maps back to its label.
    """
    name = _NOT_NAME.sub("_", server_label.lower()).strip("_") or "server"
    if name in RESERVED_NAMESPACES or name[0].isdigit():
        name = f"mcp_{name}"
    return name
