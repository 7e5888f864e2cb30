from __future__ import annotations

from dataclasses import replace

import pytest
from openai.types.responses import ResponseInputItemParam

from antiphon.engines import (
    EngineRequest,
    ForcedTool,
    FunctionTool,
    HarmonyOptions,
    HistorySegment,
    McpServerTools,
    TextFormat,
)
from antiphon.engines._harmony_request import build_harmony_request
from antiphon.exceptions import ConfigurationError
from antiphon.harmony.messages import HarmonyHeader, HarmonyMessage
from antiphon.harmony.renderer import ForcedFunction, RawHarmony


def _request(*items: ResponseInputItemParam, **changes: object) -> EngineRequest:
    return replace(EngineRequest("m", history=(HistorySegment(items),)), **changes)


def test_server_tool_calls_render_as_calls_and_tool_results() -> None:
    harmony = build_harmony_request(
        _request(
            {"role": "system", "content": "Extra rules."},
            {
                "type": "mcp_call",
                "id": "m",
                "server_label": "Docs",
                "name": "find",
                "arguments": "{}",
                "output": "found",
            },
            {
                "type": "code_interpreter_call",
                "id": "ci",
                "code": "1+1",
                "container_id": "c",
                "status": "completed",
                "outputs": [{"type": "logs", "logs": "2"}],
            },
            {
                "type": "message",
                "id": "msg",
                "status": "completed",
                "role": "assistant",
                "phase": "commentary",
                "content": [{"type": "output_text", "text": "Working.", "annotations": []}],
            },
            {"type": "mcp_list_tools", "id": "l", "server_label": "Docs", "tools": []},
        ),
        HarmonyOptions(),
    )
    assert harmony.messages == (
        HarmonyMessage(HarmonyHeader("developer"), "Extra rules."),
        HarmonyMessage(
            HarmonyHeader("assistant", "commentary", "docs.find", "<|constrain|>json"), "{}"
        ),
        HarmonyMessage(HarmonyHeader("docs.find"), "found"),
        HarmonyMessage(HarmonyHeader("assistant", "analysis", "python", "code"), "1+1"),
        HarmonyMessage(HarmonyHeader("python"), "2"),
        HarmonyMessage(HarmonyHeader("assistant", "commentary"), "Working."),
    )


def test_raw_text_replaces_generated_items_and_keeps_results_after_it() -> None:
    segment = HistorySegment(
        (
            {"role": "user", "content": "Go"},
            {
                "type": "mcp_call",
                "id": "m",
                "server_label": "s",
                "name": "t",
                "arguments": "{}",
                "output": "ok",
            },
        ),
        raw_text="RAW",
    )
    harmony = build_harmony_request(EngineRequest("m", history=(segment,)), HarmonyOptions())
    assert harmony.messages == (
        HarmonyMessage(HarmonyHeader("user"), "Go"),
        RawHarmony("RAW"),
        HarmonyMessage(HarmonyHeader("s.t"), "ok"),
    )


def test_settings_map_onto_the_system_and_developer_messages() -> None:
    request = _request(
        instructions="Be brief.",
        tools=(FunctionTool("f"),),
        mcp_servers=(McpServerTools("s", (FunctionTool("t"),)),),
        code_interpreter=True,
        reasoning_effort="minimal",
        tool_choice=ForcedTool("function", "f"),
        text_format=TextFormat("json_schema", "out", {"type": "object"}),
    )
    harmony = build_harmony_request(request, HarmonyOptions(python_text="PY"))
    assert harmony.system.reasoning_effort == "low"
    assert (harmony.system.python.enabled, harmony.system.python.text) == (True, "PY")
    assert harmony.system.browser.enabled is False
    assert harmony.developer.instructions == "Be brief."
    assert [server.namespace for server in harmony.developer.mcp] == ["s"]
    assert harmony.developer.response_format is not None
    assert harmony.developer.response_format.name == "out"
    assert harmony.tool_choice == ForcedFunction("f")


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("none", "none"), ("required", "required"), (ForcedTool("code_interpreter"), "required")],
)
def test_tool_choice_forms(choice: object, expected: object) -> None:
    harmony = build_harmony_request(_request(tool_choice=choice), HarmonyOptions())
    assert harmony.tool_choice == expected


def test_output_for_an_unknown_call_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown call_id"):
        build_harmony_request(
            _request({"type": "function_call_output", "call_id": "nope", "output": "x"}),
            HarmonyOptions(),
        )


def test_unrenderable_item_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot be rendered"):
        build_harmony_request(_request({"type": "item_reference", "id": "x"}), HarmonyOptions())
