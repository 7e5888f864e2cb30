"""The public surface is curated: these lists change only on purpose."""

from __future__ import annotations

import importlib

import pytest

import antiphon
from antiphon import exceptions

PUBLIC: dict[str, list[str]] = {
    "antiphon": [
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
        "__version__",
        "function_tool",
    ],
    "antiphon.wire": [
        "CodeInterpreterHandle",
        "DONE",
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
    ],
    "antiphon.harmony": [
        "BuiltinTool",
        "Classification",
        "ContentDelta",
        "DeclaredTools",
        "DeveloperConfig",
        "ForcedFunction",
        "FunctionTool",
        "HarmonyEvent",
        "HarmonyHeader",
        "HarmonyMessage",
        "HarmonyRequest",
        "HarmonyStreamParser",
        "McpServerTools",
        "MessageEnd",
        "MessageKind",
        "MessagePhase",
        "MessageStart",
        "ParsedMessage",
        "RawHarmony",
        "RenderedPrompt",
        "ResponseFormat",
        "SkippedText",
        "SystemConfig",
        "WebSearchAction",
        "assemble_messages",
        "classify",
        "function_signature",
        "mcp_namespace",
        "parse_text",
        "render_message",
        "render_prompt",
        "schema_to_typescript",
    ],
    "antiphon.check": [
        "RealtimeEventChecker",
        "ResponseStreamChecker",
        "StreamReport",
        "Violation",
        "check_response_stream",
        "final_response",
    ],
    "antiphon.record": [
        "CassetteWriter",
        "ReplayBook",
        "ReplayMismatch",
        "create_record_app",
        "create_replay_app",
        "read_cassette",
    ],
    "antiphon.testing.replay": ["recording", "replaying"],
    "antiphon.testing.serving": ["serving"],
    "antiphon.store": [
        "ConversationSegment",
        "EventReplay",
        "ItemPage",
        "ItemQuery",
        "MemoryStore",
        "NewResponse",
        "ResponseOutcome",
        "ResponsePage",
        "ResponseQuery",
        "ResponseStore",
        "ResponseSummary",
        "SqliteStore",
        "StoreLimits",
        "StoredEvent",
        "StoredItem",
        "StoredResponse",
        "default_store_path",
        "open_store",
    ],
    "antiphon.realtime": [
        "AgentEndEvent",
        "AgentStartEvent",
        "AudioEndEvent",
        "AudioEvent",
        "AudioInterruptedEvent",
        "ErrorEvent",
        "FunctionTool",
        "GuardrailResult",
        "GuardrailTrippedEvent",
        "Handoff",
        "HandoffEvent",
        "HistoryAddedEvent",
        "HistoryUpdatedEvent",
        "OutputGuardrail",
        "PlaybackTracker",
        "RawModelEvent",
        "RealtimeAgent",
        "RealtimeModel",
        "RealtimeModelConfig",
        "RealtimeRunConfig",
        "RealtimeRunner",
        "RealtimeSession",
        "RealtimeSessionEvent",
        "ResponseHandle",
        "ToolContext",
        "ToolEndEvent",
        "ToolStartEvent",
        "WebSocketRealtimeModel",
        "function_tool",
        "output_guardrail",
        "realtime_handoff",
    ],
    "antiphon.speech": [
        "EnergyVad",
        "Fail",
        "ScriptedTranscriber",
        "SpeechPipeline",
        "SpeechRequest",
        "Stall",
        "Synthesizer",
        "ToneSynthesizer",
        "Transcriber",
        "Transcript",
        "TranscriptionRequest",
        "VadRequest",
        "VoiceActivityDetector",
        "build_pipeline",
        "local_available",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names_are_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC[module_name])


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_public_name_resolves_and_is_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        value = getattr(module, name)
        if callable(value):
            assert (value.__doc__ or "").strip(), f"{module_name}.{name} has no docstring"


def test_every_exception_derives_from_the_one_root() -> None:
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert issubclass(error, antiphon.AntiphonError)


def test_ledger_state_error_names_expected_and_actual_state() -> None:
    error = antiphon.LedgerStateError("add a delta", expected="open part", actual="closed")
    assert (error.expected, error.actual) == ("open part", "closed")
    assert "expected open part, found closed" in str(error)


def test_transport_closed_carries_code_and_reason() -> None:
    error = antiphon.TransportClosed(code=1011, reason="boom")
    assert (error.code, error.reason) == (1011, "boom")
    assert isinstance(error, antiphon.TransportError)
    assert "1011" in str(error)
