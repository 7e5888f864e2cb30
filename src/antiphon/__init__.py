"""antiphon: an open agent runtime for the OpenAI Responses and Realtime protocols.

The top level re-exports the small, stable surface; the protocol cores live in
:mod:`antiphon.wire` and :mod:`antiphon.harmony`, the realtime agents SDK in
:mod:`antiphon.realtime`.

Importing ``antiphon`` (or any subpackage) loads only the version and the exception tree, which
depend on nothing: :func:`function_tool` is resolved on first access (PEP 562), so
``import antiphon.wire`` does not load the realtime SDK and ``websockets``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from antiphon._version import __version__
from antiphon.exceptions import (
    AntiphonError,
    ArgumentTypeError,
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
    UpstreamBusy,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)

if TYPE_CHECKING:
    from antiphon.realtime.tools import function_tool

__all__ = [
    "AntiphonError",
    "ArgumentTypeError",
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
    "UpstreamBusy",
    "UpstreamConnectError",
    "UpstreamHTTPError",
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "function_tool",
    "__version__",
]

# Names loaded on first access: name -> module that defines it.
_LAZY = {"function_tool": "antiphon.realtime.tools"}


def __getattr__(name: str) -> object:
    """Load a lazily exported name (PEP 562) and cache it in the module."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value: object = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy ones included."""
    return sorted({*globals(), *_LAZY})
