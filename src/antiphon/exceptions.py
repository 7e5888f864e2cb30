"""The one exception root of antiphon and its tree.

Every error antiphon raises on purpose derives from :class:`AntiphonError`. Foreign exceptions
(``websockets``, ``httpx``, ``pydantic``, ``json``) are translated where they enter, with
``raise ... from exc``, so callers catch antiphon types only and the cause stays attached.
Internal exception text never goes on the wire: servers map these to OpenAI-style error bodies.

::

    AntiphonError
    ├── ConfigurationError          bad settings or misuse of an API by the application
    │   └── ArgumentTypeError       an argument of the wrong type (also a ``TypeError``)
    ├── InvalidRequestError         a client request antiphon will not run (``param``, ``code``)
    ├── ProtocolError               a protocol core was driven wrongly (a programming error)
    │   └── LedgerStateError        an illegal transition in the Responses event ledger
    ├── StreamError                 a byte stream could not be decoded
    │   └── StreamLimitError        a line or event is larger than the configured limit
    ├── StoreError                  the response store failed (a database error, translated)
    │   ├── ResponseNotFound        no stored response has that id (never stored, deleted, expired)
    │   ├── ItemNotFound            a pagination cursor names no item of the response
    │   ├── StoreLimitError         a size, event or chain-depth limit would be exceeded
    │   └── StoreStateError         an illegal status transition of a stored response
    ├── SandboxError                the code interpreter's sandbox could not start or serve a call
    │   └── SandboxCapacityError    every container slot is busy running a call
    ├── EngineError                 a model engine failed to produce a turn
    │   ├── UpstreamConnectError    the upstream could not be reached (no response at all)
    │   │   └── UpstreamBusy        every pooled upstream connection stayed busy too long
    │   ├── UpstreamHTTPError       the upstream answered an error status (``status``)
    │   ├── UpstreamProtocolError   the upstream stream was malformed or cut mid-way
    │   ├── UpstreamTimeout         the upstream stalled, or a call passed its deadline
    │   └── ScriptExhausted         the scripted engine has no turn left for a request
    └── RealtimeError               the realtime agents SDK
        ├── TransportError          malformed frame, invalid event, failed send (has ``context``)
        │   └── TransportClosed     the connection closed unexpectedly (``code``, ``reason``)
        ├── ServerError             the server sent an ``error`` event (``code``, ``event_id``)
        │   └── ResponseRequestRejected   a ``response.create`` was rejected and not retried
        ├── ToolExecutionError      a tool or handoff failed (``call_id``, ``tool_name``)
        │   └── ToolTimeoutError    a tool ran past its timeout
        └── GuardrailError          an output guardrail raised; reported, it did not trip
"""

from __future__ import annotations

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
    "SpeechError",
    "SpeechUnavailable",
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
]


class AntiphonError(Exception):
    """Root of every exception antiphon raises on purpose."""


class ConfigurationError(AntiphonError):
    """Invalid settings, or an API used in a way it does not support."""


class ArgumentTypeError(ConfigurationError, TypeError):
    """An antiphon API was given an argument of the wrong type.

    It is also a :class:`TypeError`, so ``except TypeError`` keeps working as it does for any
    Python function called with the wrong type.
    """


class InvalidRequestError(AntiphonError):
    """A client request that is malformed or asks for something antiphon cannot honour.

    The server answers it with a 4xx and an OpenAI-style error body naming ``param``.
    """

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str = "invalid_request",
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status


class ProtocolError(AntiphonError):
    """A sans-I/O protocol core was driven in a way its state machine forbids."""


class LedgerStateError(ProtocolError):
    """An illegal transition of the Responses event ledger; names what was expected and found."""

    def __init__(self, what: str, *, expected: str, actual: str) -> None:
        super().__init__(f"{what}: expected {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class StreamError(AntiphonError):
    """A byte stream (SSE, upstream body) could not be decoded."""


class StreamLimitError(StreamError):
    """A line or event exceeded its configured maximum size."""

    def __init__(self, what: str, *, limit: int, size: int) -> None:
        super().__init__(f"{what} of {size} bytes exceeds the limit of {limit} bytes")
        self.limit = limit
        self.size = size


class StoreError(AntiphonError):
    """The response store failed; a database error is attached as the cause."""


class ResponseNotFound(StoreError):
    """No stored response has this id: it was never stored, was deleted, or has expired."""

    def __init__(self, response_id: str, *, context: str = "") -> None:
        where = f" ({context})" if context else ""
        super().__init__(f"response {response_id!r} not found{where}")
        self.response_id = response_id


class ItemNotFound(StoreError):
    """A pagination cursor names no item of the response."""

    def __init__(self, item_id: str, *, response_id: str) -> None:
        super().__init__(f"item {item_id!r} not found in response {response_id!r}")
        self.item_id = item_id
        self.response_id = response_id


class StoreLimitError(StoreError):
    """Storing this would exceed a configured limit; nothing was written."""

    def __init__(self, what: str, *, limit: int, size: int) -> None:
        super().__init__(f"{what} of {size} exceeds the limit of {limit}")
        self.limit = limit
        self.size = size


class StoreStateError(StoreError):
    """An illegal status transition of a stored response; names what was expected and found."""

    def __init__(self, what: str, *, expected: str, actual: str) -> None:
        super().__init__(f"{what}: expected {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class SandboxError(AntiphonError):
    """The code interpreter could not run a call: a worker failed to start.

    Limits a cell runs into (time, memory, output, a crash) are not errors: they are reported in
    the call's result so the model can read them.
    """


class SandboxCapacityError(SandboxError):
    """A new container is needed but every slot holds a container that is running a call."""

    def __init__(self, *, max_containers: int) -> None:
        super().__init__(f"all {max_containers} code interpreter containers are busy")
        self.max_containers = max_containers


class EngineError(AntiphonError):
    """A model engine could not produce a turn; the server reports it as an upstream failure."""


class UpstreamConnectError(EngineError):
    """The upstream could not be reached, or closed the connection before any response."""


class UpstreamBusy(UpstreamConnectError):
    """Every connection of the upstream's pool stayed busy for longer than the pool timeout."""


class UpstreamHTTPError(EngineError):
    """The upstream answered with an error status before streaming anything."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(f"upstream status {status}: {message}")
        self.status = status


class UpstreamProtocolError(EngineError):
    """The upstream stream was malformed (bad JSON, unexpected shape) or ended mid-turn."""


class UpstreamTimeout(EngineError):
    """The upstream sent nothing for longer than the stall timeout, or a call its deadline."""


class ScriptExhausted(EngineError):
    """The scripted engine has no turn left that matches the request."""


class SpeechError(AntiphonError):
    """A speech engine (detection, transcription, synthesis) failed or timed out.

    ``engine`` names it (``"pocketsphinx"``, ``"espeak-ng"``, ``"remote"``); the realtime server
    reports the failure as an event and the session goes on.
    """

    def __init__(self, message: str, *, engine: str) -> None:
        super().__init__(f"{engine}: {message}")
        self.engine = engine


class SpeechUnavailable(SpeechError):
    """A local speech engine's package is not installed (``pip install 'antiphon[speech]'``)."""


class RealtimeError(AntiphonError):
    """Root of the realtime agents SDK's errors."""


class TransportError(RealtimeError):
    """The realtime transport failed: malformed JSON, an invalid event, a failed send."""

    def __init__(self, message: str, *, context: str = "") -> None:
        super().__init__(f"{context}: {message}" if context else message)
        self.context = context


class TransportClosed(TransportError):
    """The connection closed when the session did not ask it to."""

    def __init__(
        self, *, code: int | None, reason: str, context: str = "connection closed"
    ) -> None:
        super().__init__(f"code={code} reason={reason!r}", context=context)
        self.code = code
        self.reason = reason


class ServerError(RealtimeError):
    """The server answered with an ``error`` event."""

    def __init__(self, message: str, *, code: str | None = None, event_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.event_id = event_id


class ResponseRequestRejected(ServerError):
    """A ``response.create`` was rejected by the server and could not be retried."""


class ToolExecutionError(RealtimeError):
    """A function tool or a handoff failed; the model has been answered with an error output."""

    def __init__(self, message: str, *, call_id: str, tool_name: str) -> None:
        super().__init__(message)
        self.call_id = call_id
        self.tool_name = tool_name


class ToolTimeoutError(ToolExecutionError):
    """A function tool ran past its timeout."""


class GuardrailError(RealtimeError):
    """An output guardrail raised instead of returning a result; it is reported, never a trip."""

    def __init__(self, message: str, *, guardrail_name: str) -> None:
        super().__init__(message)
        self.guardrail_name = guardrail_name
