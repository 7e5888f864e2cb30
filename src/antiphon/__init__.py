"""antiphon: an open agent runtime for the OpenAI Responses and Realtime protocols.

The top level re-exports the small, stable surface; the protocol cores live in
:mod:`antiphon.wire` and :mod:`antiphon.harmony`, the realtime agents SDK in
:mod:`antiphon.realtime`.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

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
    "__version__",
]
