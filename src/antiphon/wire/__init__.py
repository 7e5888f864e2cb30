"""Sans-I/O protocol cores: the Responses event ledger and SSE. No I/O, no await."""

from __future__ import annotations

from antiphon.wire._base import ItemHandle
from antiphon.wire._builtin import CodeInterpreterHandle, WebSearchHandle
from antiphon.wire._content import MessageHandle, ReasoningHandle
from antiphon.wire._response import ResponseParams
from antiphon.wire._tools import FunctionCallHandle, McpCallHandle, McpListToolsHandle
from antiphon.wire.ids import IdFactory, SequentialIds, random_id
from antiphon.wire.ledger import ResponseLedger
from antiphon.wire.sse import DONE, SSEDecoder, SSEEncoder, SSEMessage

__all__ = [
    "DONE",
    "CodeInterpreterHandle",
    "FunctionCallHandle",
    "IdFactory",
    "ItemHandle",
    "McpCallHandle",
    "McpListToolsHandle",
    "MessageHandle",
    "ReasoningHandle",
    "ResponseLedger",
    "ResponseParams",
    "SSEDecoder",
    "SSEEncoder",
    "SSEMessage",
    "SequentialIds",
    "WebSearchHandle",
    "random_id",
]
