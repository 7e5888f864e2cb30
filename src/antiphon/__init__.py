"""antiphon: an open agent runtime for the OpenAI Responses and Realtime protocols.

The top level re-exports the small, stable surface; the protocol cores live in
:mod:`antiphon.wire` and :mod:`antiphon.harmony`, the realtime agents SDK in
:mod:`antiphon.realtime`.
"""

from __future__ import annotations

from antiphon._version import __version__
from antiphon.exceptions import (
    AntiphonError,
    ConfigurationError,
    EngineError,
    GuardrailError,
    InvalidRequestError,
    ItemNotFound,
    LedgerStateError,
    ProtocolError,
    RealtimeError,
    ResponseNotFound,
    ResponseRequestRejected,
    SandboxCapacityError,
    SandboxError,
    ScriptExhausted,
    ServerError,
    StoreError,
    StoreLimitError,
    StoreStateError,
    StreamError,
    StreamLimitError,
    ToolExecutionError,
    ToolTimeoutError,
    TransportClosed,
    TransportError,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antiphon.realtime.tools import function_tool

__all__ = [
    "AntiphonError",
    "ConfigurationError",
    "EngineError",
    "GuardrailError",
    "InvalidRequestError",
    "ItemNotFound",
    "LedgerStateError",
    "ProtocolError",
    "RealtimeError",
    "ResponseNotFound",
    "ResponseRequestRejected",
    "SandboxCapacityError",
    "SandboxError",
    "ScriptExhausted",
    "ServerError",
    "StoreError",
    "StoreLimitError",
    "StoreStateError",
    "StreamError",
    "StreamLimitError",
    "ToolExecutionError",
    "ToolTimeoutError",
    "TransportClosed",
    "TransportError",
    "UpstreamConnectError",
    "UpstreamHTTPError",
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "function_tool",
    "__version__",
]
